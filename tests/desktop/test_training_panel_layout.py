"""The Train panel in the window's left column: every setting visible without scrolling at
the column's smallest size (560x690, a 1280x800 window), nothing clipped, no scroll area of
its own; and the panel is composed of its four boxes."""

import os; os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # noqa: E702

import pytest
from PySide6.QtWidgets import QAbstractButton, QFormLayout, QLabel, QScrollArea, QWidget

from engine.graph.edits import SetParams
from engine.templates import load_template
from engine.training.config import Augmentation, TrainingConfig
from desktop.document import ProjectDocument
from tests.desktop.held_widgets import delete_held_widgets_on_the_gui_thread, hold  # noqa: F401
from desktop.panels.training_augmentation import AugmentationBox
from desktop.panels.training_dataset import PREVIEW_ROWS, DatasetBox
from desktop.panels.training_panel import TrainingPanel
from desktop.panels.training_run import RunControls
from desktop.panels.training_settings import SettingsForm

COLUMNS = {"1280x800": (560, 690), "1920x1080": (640, 970)}
EVERYTHING_ON = TrainingConfig(optimizer="sgd_momentum", schedule="step", early_stopping=True,
                               augmentation=Augmentation(0.1, 0.05, 0.1, flip=True))


def column(qtbot, size, config=None, units=None):
    """The panel in a scroll area like the window's Train column, with the digits preview."""
    spec = load_template("lenet5")
    if units is not None:
        spec = SetParams("n9", {"units": units}).apply(spec)
    panel = TrainingPanel(ProjectDocument(spec))
    if config is not None:
        panel.set_config(config)
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setWidget(panel)
    hold(area)
    qtbot.addWidget(area)
    area.resize(*size)
    area.show()
    panel.wait_for_preview()
    qtbot.waitUntil(lambda: not panel.is_loading() and panel.preview is not None, timeout=30_000)
    qtbot.wait(20)  # the layout settles
    return area, panel


def field_labels(panel) -> list[QLabel]:
    labels = []
    for form in panel.findChildren(QFormLayout):
        for row in range(form.rowCount()):
            item = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
            if item is not None and isinstance(item.widget(), QLabel):
                labels.append(item.widget())
    return labels


def assert_fits(area, panel) -> None:
    viewport = area.viewport()
    assert not area.verticalScrollBar().isVisible()
    assert not area.horizontalScrollBar().isVisible()
    assert panel.heightForWidth(viewport.width()) <= viewport.height()
    assert panel.minimumSizeHint().height() <= viewport.height()
    labels = [label for label in field_labels(panel) if label.isVisibleTo(panel)]
    assert len(labels) >= 10
    for label in labels:
        assert label.sizeHint().width() <= label.width(), label.text()
    for button in panel.findChildren(QAbstractButton):  # checkboxes and buttons: not cut off
        if button.isVisibleTo(panel):
            assert button.sizeHint().width() <= button.width(), button.text()
    for widget in panel.findChildren(QWidget):  # nothing lies below the visible area
        if widget.isVisibleTo(panel) and widget.height() > 0:
            bottom = widget.mapTo(panel, widget.rect().bottomLeft()).y()
            assert bottom <= viewport.height(), widget


@pytest.mark.parametrize("window", sorted(COLUMNS))
def test_every_setting_is_visible_without_scrolling(qtbot, window):
    area, panel = column(qtbot, COLUMNS[window])
    assert_fits(area, panel)
    for widget in (panel.dataset_combo, panel.preview_grid, panel.augment_check, panel.flip_check,
                   panel.epochs_spin, panel.batch_spin, panel.optimizer_combo,
                   panel.learning_rate_edit, panel.schedule_combo, panel.loss_combo,
                   panel.early_check, panel.validation_spin, panel.max_samples_spin,
                   panel.seed_spin, panel.strategy_combo, panel.mixed_check, panel.train_button,
                   panel.pause_button, panel.stop_button, panel.epoch_bar, panel.batch_bar):
        assert widget.isVisibleTo(panel) and widget.height() > 0


def test_it_still_fits_with_every_optional_field_and_the_augmented_images(qtbot):
    area, panel = column(qtbot, COLUMNS["1280x800"], EVERYTHING_ON)
    for widget in (panel.momentum_spin, panel.step_spin, panel.patience_spin,
                   panel.augmented_grid, panel.reroll_button):
        assert widget.isVisibleTo(panel)
    assert panel.augmented_grid.shown_count() == panel.augmented_grid.count() == 12
    assert_fits(area, panel)


def test_it_fits_with_a_class_mismatch_and_an_invalid_setting(qtbot):
    area, panel = column(qtbot, COLUMNS["1280x800"], units=7)
    panel.learning_rate_edit.setText("")
    qtbot.wait(20)
    assert panel.fix_button.isVisibleTo(panel) and panel.config_error_label.isVisibleTo(panel)
    assert_fits(area, panel)


def test_the_preview_draws_at_most_two_rows(qtbot):
    area, panel = column(qtbot, COLUMNS["1280x800"])
    grid = panel.preview_grid
    assert grid.count() == 24  # all kept (captions, tooltips), not all drawn
    assert grid.shown_count() < 24  # 560 px wide: two rows hold fewer
    one_row = grid.heightForWidth(10_000)  # wide enough for all 24 in one row
    assert grid.height() == PREVIEW_ROWS * one_row + (PREVIEW_ROWS - 1) * grid.SPACING


def test_the_panel_has_no_scroll_area_of_its_own(qtbot):
    panel = TrainingPanel(ProjectDocument(load_template("lenet5")))
    hold(panel)
    assert panel.findChildren(QScrollArea) == []


def test_the_panel_is_made_of_its_four_boxes(qtbot):
    panel = TrainingPanel(ProjectDocument(load_template("lenet5")))
    hold(panel)
    assert isinstance(panel.dataset_box, DatasetBox)
    assert isinstance(panel.augmentation_box, AugmentationBox)
    assert isinstance(panel.settings_box, SettingsForm)
    assert isinstance(panel.run_controls, RunControls)
    assert panel.epochs_spin is panel.settings_box.epochs_spin
    assert panel.train_button is panel.run_controls.train_button
