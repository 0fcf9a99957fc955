"""The window at a laptop's size (1280x800): it fits, the canvas leads, every template is in
view, the training settings need no scrolling, and the dark theme reaches every plot."""

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QScrollArea

from desktop.canvas.view import READABLE_ZOOM
from desktop.main_window import MainWindow
from desktop.theme import apply_theme
from engine.templates import list_templates

LAPTOP = (1280, 800)


@pytest.fixture
def laptop_window(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    window.open_template("lenet5")
    window.resize(*LAPTOP)
    window.show()
    qtbot.waitExposed(window)
    window.view.show_network()
    yield window
    apply_theme(QApplication.instance(), "light")


def visible_scene_rect(view) -> QRectF:
    return view.mapToScene(view.viewport().rect()).boundingRect()


def test_the_window_fits_a_laptop_and_the_canvas_leads(laptop_window):
    window = laptop_window
    minimum = window.minimumSizeHint()
    assert minimum.width() <= 1024 and minimum.height() <= 700, minimum
    assert window.size().toTuple() == LAPTOP
    viewport = window.view.viewport().size()
    assert viewport.width() * viewport.height() >= 0.45 * LAPTOP[0] * LAPTOP[1]


@pytest.mark.parametrize("template", [t.key for t in list_templates()])
def test_every_template_is_in_view_when_loaded(laptop_window, qtbot, template):
    """Whole, when it fits at a zoom whose cards can be read; a deeper one (resnet-mini: 38
    blocks in a column) from its input at that zoom, with the minimap for the rest."""
    window = laptop_window
    window.open_template(template)
    view, shown = window.view, visible_scene_rect(window.view)
    rects = {node.name: window.scene.block_rect(node.id) for node in window.document.spec.nodes}
    network = view.network_rect()
    fitting = min(view.viewport().width() / network.width(), view.viewport().height() / network.height())
    if template in ("lenet5", "vgg-mini", "googlenet-mini", "nin-mini", "deep-mlp"):
        assert fitting >= READABLE_ZOOM  # these must fit a laptop's canvas
    if fitting >= READABLE_ZOOM:
        for name, rect in rects.items():
            assert rect.isNull() or shown.contains(rect), f"{name} of {template} is off-screen"
    else:
        assert view.zoom == pytest.approx(READABLE_ZOOM)
        assert shown.contains(rects["input"])
        qtbot.waitUntil(view.minimap.isVisible)  # drawn once the scene is quiet


def test_workspaces_switch_with_their_shortcuts(laptop_window, qtbot):
    window = laptop_window
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert window.workspaces.current == "train"
    qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    assert window.workspaces.current == "inspect"
    window.workspaces.tabs.setCurrentIndex(0)
    assert window.workspaces.current == "design" and window.view.isVisible()


def test_every_training_setting_is_visible_without_scrolling(laptop_window, qtbot):
    window = laptop_window
    window.workspaces.show_workspace("train")
    qtbot.wait(50)
    settings = window.findChild(QScrollArea, "train_settings")
    assert settings.verticalScrollBar().maximum() == 0
    assert settings.horizontalScrollBar().maximum() == 0


def test_the_dark_theme_reaches_every_plot(laptop_window, qtbot):
    window = laptop_window
    window.set_theme("dark")
    qtbot.wait(20)
    base = QApplication.instance().palette().color(QPalette.ColorRole.Base)
    plots = window.findChildren(pg.PlotWidget)
    assert plots
    for plot in plots:
        assert plot.backgroundBrush().color() == base, plot.objectName() or plot


def node_named(window, name: str):
    return next(node for node in window.document.spec.nodes if node.name == name)


def block_menu_action(window, node_id: str, text: str):
    centre = window.scene.block_rect(node_id).center()
    menu = window.view.context_menu_at(centre)
    return next(action for action in menu.actions() if action.text() == text)


def test_analyze_opens_from_a_block_and_selects_blocks_from_its_rows(laptop_window, qtbot):
    window = laptop_window
    assert window.analyze.isHidden()  # canvas first
    c3 = node_named(window, "C3")
    block_menu_action(window, c3.id, "Show in Analyze").trigger()
    assert window.analyze.isVisible() and window.panel_actions["Analyze"].isChecked()
    assert window.analyze.selected_node_ids() == [c3.id]
    assert window.view.viewport().height() > 300  # the canvas keeps most of the height
    s2 = node_named(window, "S2")
    window.analyze.node_activated.emit(s2.id)  # a click on S2's row
    assert window.scene.selected_node_ids() == [s2.id]
    assert window.inspector.node_id == s2.id
    window.show_panel("Analyze", False)
    assert window.analyze.isHidden()


def test_feature_maps_of_a_block_open_the_inspect_workspace(laptop_window):
    window = laptop_window
    c1 = node_named(window, "C1")
    block_menu_action(window, c1.id, "Feature maps for this layer").trigger()
    assert window.workspaces.current == "inspect"
    assert window.lab.tabs.currentWidget() is window.lab.maps_tab  # it says no run is loaded yet


def test_help_lists_every_shortcut_and_the_guide_remembers_its_choice(laptop_window, qtbot, monkeypatch, tmp_path):
    from desktop.panels.help import FirstRunGuide, ShortcutSheet
    from desktop.settings import Settings

    window = laptop_window
    listed = {action.text().replace("&", ""): action.shortcut().toString()
              for _menu, action in window._menu_actions() if not action.shortcut().isEmpty()}
    assert listed["Train"] == "F5" and listed["Design"] == "Ctrl+1" and listed["Show Analyze"] == "Ctrl+Shift+A"
    shown = []
    monkeypatch.setattr(ShortcutSheet, "exec", lambda sheet: shown.append(sheet) or 0)
    window.show_shortcuts()
    assert shown
    window.settings = Settings(tmp_path / "settings.json")
    monkeypatch.setattr(FirstRunGuide, "exec", lambda guide: 0)
    monkeypatch.setattr(FirstRunGuide, "show_at_start", lambda guide: False)
    window.show_guide()
    assert Settings.load(tmp_path / "settings.json").show_guide is False


def test_the_monitor_lays_out_again_after_a_resize_while_hidden(laptop_window, qtbot):
    """Resized while another workspace showed, the curves came back at stale geometries."""
    window = laptop_window
    window.resize(1920, 1080)
    window.show_monitor()
    qtbot.wait(50)
    window.workspaces.show_workspace("inspect")
    window.resize(*LAPTOP)
    qtbot.wait(50)
    window.show_monitor()
    view = window.monitor.curves_view
    qtbot.waitUntil(lambda: view.accuracy_plot.height() == view.loss_plot.height())
    assert view.lr_plot.y() > view.loss_plot.geometry().bottom()
