"""The window's menus and shortcuts, following desktop conventions; every action here is also
listed by Help > Keyboard Shortcuts."""

from __future__ import annotations

from PySide6.QtGui import QAction, QActionGroup, QKeySequence

from desktop.theme import THEME_TITLES
from engine.templates import list_templates


def add_action(window, menu, text: str, slot, shortcut=None, tip: str = "") -> QAction:
    action = QAction(text, window)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    if tip:
        action.setStatusTip(tip)
    action.triggered.connect(slot)
    menu.addAction(action)
    return action


def build_menus(window) -> None:
    bar = window.menuBar()
    _file_menu(window, bar.addMenu("&File"))
    _edit_menu(window, bar.addMenu("&Edit"))
    _view_menu(window, bar.addMenu("&View"))
    _train_menu(window, bar.addMenu("&Train"))
    help_menu = bar.addMenu("&Help")
    add_action(window, help_menu, "&Getting Started", window.show_guide, "F1",
               "A short guide to your first training run")
    add_action(window, help_menu, "&Keyboard Shortcuts", window.show_shortcuts, "Ctrl+/")
    help_menu.addSeparator()
    add_action(window, help_menu, "&About CNN Studio", window.about)


def _file_menu(window, menu) -> None:
    add_action(window, menu, "&New", window.new_network, QKeySequence.StandardKey.New)
    templates = menu.addMenu("New from &Template")
    for template in list_templates():
        add_action(window, templates, template.title,
                   lambda _=False, key=template.key: window.open_template(key), tip=template.description)
    add_action(window, menu, "&Open...", window.open_dialog, QKeySequence.StandardKey.Open)
    window.recent_menu = menu.addMenu("Open &Recent")
    menu.addSeparator()
    add_action(window, menu, "&Save", window.save, QKeySequence.StandardKey.Save)
    add_action(window, menu, "Save &As...", window.save_as, QKeySequence.StandardKey.SaveAs)
    menu.addSeparator()
    window.import_action = add_action(window, menu, "&Import .keras Model...", window.import_dialog)
    export = menu.addMenu("&Export")
    window.export_actions = [
        add_action(window, export, "Keras &Python Script...", lambda: window.export_dialog("python")),
        add_action(window, export, "&Keras Model (.keras)...", lambda: window.export_dialog("keras")),
        add_action(window, export, "&ONNX (.onnx)...", lambda: window.export_dialog("onnx"),
                   tip="For onnxruntime and other ONNX runtimes"),
        add_action(window, export, "TensorFlow Saved&Model (folder)...",
                   lambda: window.export_dialog("saved_model"), tip="For TensorFlow Serving"),
        add_action(window, export, "TF&Lite (.tflite)...", lambda: window.export_dialog("tflite"),
                   tip="For phones and small devices (TensorFlow Lite / LiteRT)"),
    ]
    export.addSeparator()
    add_action(window, export, "Diagram as &PNG...", lambda: window.export_diagram_dialog("png"))
    add_action(window, export, "Diagram as &SVG...", lambda: window.export_diagram_dialog("svg"))
    menu.addSeparator()
    add_action(window, menu, "&Quit", window.close, QKeySequence.StandardKey.Quit)


def _edit_menu(window, menu) -> None:
    undo = window.document.undo_stack.createUndoAction(window, "&Undo")
    undo.setShortcut(QKeySequence.StandardKey.Undo)
    redo = window.document.undo_stack.createRedoAction(window, "&Redo")
    redo.setShortcut(QKeySequence.StandardKey.Redo)
    menu.addActions([undo, redo])
    menu.addSeparator()
    scene = window.scene
    add_action(window, menu, "Cu&t", scene.cut_selection, QKeySequence.StandardKey.Cut)
    add_action(window, menu, "&Copy", scene.copy_selection, QKeySequence.StandardKey.Copy)
    add_action(window, menu, "&Paste", lambda: scene.paste(), QKeySequence.StandardKey.Paste)
    add_action(window, menu, "D&uplicate", scene.duplicate_selection, "Ctrl+D")
    add_action(window, menu, "&Delete", window.scene.delete_selection, QKeySequence.StandardKey.Delete)
    menu.addSeparator()
    add_action(window, menu, "Select &All", window.select_all, QKeySequence.StandardKey.SelectAll)


def _view_menu(window, menu) -> None:
    for action in window.workspaces.actions.values():
        menu.addAction(action)
    menu.addSeparator()
    add_action(window, menu, "Zoom &In", window.view.zoom_in, QKeySequence.StandardKey.ZoomIn)
    add_action(window, menu, "Zoom &Out", window.view.zoom_out, QKeySequence.StandardKey.ZoomOut)
    add_action(window, menu, "&Fit to Window", window.view.fit, "Ctrl+0")
    menu.addSeparator()
    add_action(window, menu, "Auto-layout &Left to Right", lambda: window.view.auto_layout("LR"), "Ctrl+L")
    add_action(window, menu, "Auto-layout &Top Down", lambda: window.view.auto_layout("TB"), "Ctrl+Shift+L")
    menu.addSeparator()
    window.panel_actions = {}
    for title, (panel, shortcut) in window.design_panels.items():
        action = add_action(window, menu, f"Show {title}", lambda checked, t=title: window.show_panel(t, checked),
                            shortcut)
        action.setCheckable(True)
        action.setChecked(not panel.isHidden())
        window.panel_actions[title] = action
    menu.addSeparator()
    themes = menu.addMenu("T&heme")
    group = QActionGroup(window)
    window.theme_actions = {}
    for key, title in THEME_TITLES.items():
        action = add_action(window, themes, title, lambda _=False, k=key: window.set_theme(k))
        action.setCheckable(True)
        group.addAction(action)
        window.theme_actions[key] = action


def _train_menu(window, menu) -> None:
    window.train_action = add_action(window, menu, "&Train", window.train_now, "F5",
                                     "Train the network on the chosen dataset")
    add_action(window, menu, "&Stop", window.trainer.stop, "Shift+F5")
    menu.addSeparator()
    add_action(window, menu, "Show &Monitor", window.show_monitor)
    add_action(window, menu, "Show &Runs", window.show_runs)
