import os; os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # noqa: E702

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction, QKeySequence

from desktop.panels.help import (CANVAS_GESTURES, GESTURES_GROUP, GUIDE_STEPS, FirstRunGuide,
                                 ShortcutSheet, plain_text, shortcut_groups)


def actions(qtbot):
    made = []
    for menu, text, keys in (("&File", "&Save", QKeySequence.StandardKey.Save),
                             ("&File", "Save &As...", QKeySequence.StandardKey.SaveAs),
                             ("&File", "&Export diagram", None),
                             ("&Edit", "&Undo", QKeySequence.StandardKey.Undo),
                             ("&View", "Show &Analyze", "Ctrl+Shift+Y")):
        action = QAction(text)
        if keys is not None:
            action.setShortcut(QKeySequence(keys))
        made.append((menu, action))
    return made


def test_sheet_lists_actions_with_shortcuts_by_menu_then_canvas_gestures(qtbot):
    listed = actions(qtbot)
    sheet = ShortcutSheet(listed)
    qtbot.addWidget(sheet)
    entries = sheet.entries()
    assert list(entries) == ["File", "Edit", "View", GESTURES_GROUP]
    file_labels = [label for label, _ in entries["File"]]
    assert file_labels[0] == "Save"
    assert "Export diagram" not in file_labels  # no shortcut, not listed
    save_keys = QKeySequence(QKeySequence.StandardKey.Save).toString(QKeySequence.SequenceFormat.NativeText)
    assert entries["File"][0] == ("Save", save_keys)
    assert entries["View"] == [("Show Analyze", QKeySequence("Ctrl+Shift+Y").toString(
        QKeySequence.SequenceFormat.NativeText))]
    gestures = entries[GESTURES_GROUP]
    assert len(gestures) == len(CANVAS_GESTURES)
    how = {gesture for _, gesture in gestures}
    assert {"Mouse wheel", "Middle-drag", "Delete", "Drag output port to input port",
            "Drag from Blocks"} <= how
    assert not any("space" in gesture.lower() for gesture in how)  # the canvas has no space-pan


def test_each_action_once_and_mnemonics_dropped(qtbot):
    (menu, action), *_ = actions(qtbot)
    groups = shortcut_groups([(menu, action), ("&Edit", action)])
    assert groups == [("File", [("Save", groups[0][1][0][1])])]
    assert plain_text("Save &As...") == "Save As"
    assert plain_text("Fish && &Chips") == "Fish & Chips"


def test_first_run_guide_reads_the_checkbox(qtbot):
    guide = FirstRunGuide()
    qtbot.addWidget(guide)
    guide.show()
    assert guide.show_at_start()
    assert len(guide.step_labels) == len(GUIDE_STEPS)
    text = " ".join(label.text() for label in guide.step_labels)
    for words in ("LeNet-5", "Problems", "Train workspace", "dataset", "click Train", "curves",
                  "Inspect workspace", "filters", "feature maps"):
        assert words in text
    box = guide.dont_show
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))
    assert not guide.show_at_start()
    assert not FirstRunGuide(show_at_start=False).show_at_start()
