"""The Features Lab: eight tabs on one trained run, a run chooser and the image the tabs
share. set_run() picks the run, handle_event() follows training, show_layer() opens a
layer's feature maps."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QLabel, QPushButton,
                               QTabWidget, QVBoxLayout, QWidget)

from desktop.engine_tasks import EngineTask
from desktop.panels.lab.base import EMPTY_HINT, WorkerTab
from desktop.panels.lab.baselines import BaselinesTab
from desktop.panels.lab.compare import CompareFiltersTab
from desktop.panels.lab.embedding import EmbeddingTab
from desktop.panels.lab.excite import ExciteTab
from desktop.panels.lab.images import display_image, to_pixmap
from desktop.panels.lab.kernels import KernelsTab
from desktop.panels.lab.maps import FeatureMapsTab
from desktop.panels.lab.shift import ShiftTab
from desktop.panels.lab.weights import WeightsTab
from desktop.widgets import ComboBox
from engine.errors import ProjectError

TAB_NAMES = ("Kernels", "Hand-crafted vs learned", "Feature maps", "What excites a filter",
             "Weights", "Baselines && probes", "Shift", "Embedding")
PREVIEW_SIDE = 40  # px of the chosen image beside its combo


class FeaturesLab(QWidget):
    """Eight tabs on one run; set_run() picks the run, handle_event() follows training."""

    run_chosen = Signal(str)  # a run folder the user picked in the Lab's own run chooser

    def __init__(self, parent=None):
        super().__init__(parent)
        self.run_dir: str | None = None
        self.live = False
        self._live_kernels: dict[int, dict[str, np.ndarray]] = {}
        self.images: list[np.ndarray] = []
        self.image_names: list[str] = []
        self.class_names: list[str] = []
        self.layers: list[dict] = []
        self.image_index = 0
        self.images_status = EMPTY_HINT
        self._spec = None

        self.run_combo = ComboBox()
        self.run_combo.setPlaceholderText("Choose a trained run…")
        self.run_combo.setMinimumWidth(220)
        self.run_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.run_combo.setToolTip("The run the Lab inspects (runs that saved a trained model)")
        self.run_combo.setEnabled(False)
        self.title = QLabel(EMPTY_HINT)
        self.title.setWordWrap(True)
        self.image_combo = ComboBox()
        self.image_combo.setMinimumWidth(180)
        self.image_combo.setToolTip("The image the feature maps, Grad-CAM and shift tabs use")
        self.image_preview = QLabel()
        self.image_preview.setFixedSize(PREVIEW_SIDE, PREVIEW_SIDE)
        self.open_image_button = QPushButton("Open image…")
        self.open_image_button.setToolTip("Use a picture of your own (resized to the network's input)")
        self.open_image_button.clicked.connect(self._open_image_dialog)
        header = QHBoxLayout()
        header.addWidget(QLabel("Run"))
        header.addWidget(self.run_combo)
        header.addWidget(self.title, 1)
        header.addWidget(QLabel("Image"))
        header.addWidget(self.image_combo)
        header.addWidget(self.open_image_button)
        header.addWidget(self.image_preview)

        self.images_task = EngineTask(self, supersede="lab:images")
        self.images_task.finished.connect(self._images_loaded)
        self.images_task.failed.connect(self._images_failed)

        self.tabs = QTabWidget()
        self.tabs.setUsesScrollButtons(True)
        self.kernels_tab = KernelsTab(self)
        self.compare_tab = CompareFiltersTab(self)
        self.maps_tab = FeatureMapsTab(self)
        self.excite_tab = ExciteTab(self)
        self.weights_tab = WeightsTab(self)
        self.baselines_tab = BaselinesTab(self)
        self.shift_tab = ShiftTab(self)
        self.embedding_tab = EmbeddingTab(self)
        self.pages = [self.kernels_tab, self.compare_tab, self.maps_tab, self.excite_tab,
                      self.weights_tab, self.baselines_tab, self.shift_tab, self.embedding_tab]
        for page, name in zip(self.pages, TAB_NAMES):
            self.tabs.addTab(page, name)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.tabs, 1)
        self.tabs.currentChanged.connect(self._tab_shown)
        self.image_combo.currentIndexChanged.connect(self._image_chosen)
        self.run_combo.activated.connect(self._run_activated)  # the user's choices only
        self._set_images_enabled(False)

    # -- public ------------------------------------------------------------------------------
    def set_runs(self, runs: list[tuple[str, str]]) -> None:
        """Fill the run chooser with (label, run folder) of the runs that have a trained model,
        keeping the current run selected."""
        self.run_combo.clear()
        for label, folder in runs:
            if (Path(folder) / "model.keras").is_file():
                self.run_combo.addItem(label, str(Path(folder)))
                self.run_combo.setItemData(self.run_combo.count() - 1, str(folder),
                                           Qt.ItemDataRole.ToolTipRole)
        self.run_combo.setEnabled(self.run_combo.count() > 0)
        self.run_combo.setPlaceholderText("Choose a trained run…" if self.run_combo.count()
                                          else "No trained runs yet")
        self._select_run_in_combo()

    def set_run(self, run_dir: str | None) -> None:
        run_dir = str(Path(run_dir)) if run_dir else None
        if run_dir == self.run_dir and not self.live:
            return
        self.run_dir, self.live, self._spec = run_dir, False, None
        self._select_run_in_combo()
        self._live_kernels = {}
        for page in self.pages[1:]:
            page.reset()
        self.images, self.image_names, self.class_names, self.layers = [], [], [], []
        self.image_combo.blockSignals(True)
        self.image_combo.clear()
        self.image_combo.blockSignals(False)
        self.image_preview.clear()
        self._set_images_enabled(False)
        if self.images_task.is_running():
            self.images_task.cancel()
        self.kernels_tab.load_run(run_dir)
        if run_dir is None:
            self.title.setText(EMPTY_HINT)
            self.images_status = EMPTY_HINT
        else:
            self.title.setText(_run_title(run_dir))
            self.images_status = "Loading the run's test images…"
            self.images_task.start("lab_run_images", run_dir=run_dir, split="test", count=16)
        self._tab_shown(self.tabs.currentIndex())

    def show_layer(self, layer_name: str) -> bool:
        """Open the Feature maps tab on this layer. False when there is no run to inspect (the
        tab shows the hint) or the layer has no feature maps (the tab says so)."""
        page = self.maps_tab
        if self.run_dir is None:
            self._show_page(page)
            return False
        if not self.layers:  # the run's layers are still loading: choose it when they come
            page.wanted_layer = layer_name
            self._show_page(page)
            return True
        if not page.choose_layer(layer_name):
            self._show_page(page)
            page.status.setText(f"“{layer_name}” has no feature maps to show (only layers "
                                "with a spatial output do).")
            return False
        self._show_page(page)
        return True

    def training_ended(self, run_dir: str | None) -> None:
        """After finished / stopped / failed: show the run's trained model when it has one,
        else keep the kernels seen live and say the run ended."""
        if run_dir and (Path(run_dir) / "model.keras").is_file():
            self.set_run(run_dir)
        elif self.live:
            self.live = False
            self.title.setText("<b>Training ended</b> without a trained model: the kernels "
                               "below are from its completed epochs.")

    def handle_event(self, event: dict) -> None:
        if event.get("type") != "filters_snapshot":
            return
        kernels = {name: np.asarray(k) for name, k in (event.get("kernels") or {}).items()}
        if not kernels:
            return
        if not self.live:
            self.live = True
            self._live_kernels = {}
            self.title.setText("<b>Training in progress</b>: the kernels update after each epoch.")
        self._live_kernels[int(event.get("epoch", len(self._live_kernels) + 1))] = kernels
        self.kernels_tab.set_epochs(list(self._live_kernels), cache=self._live_kernels,
                                    follow=True)

    def current_image(self) -> np.ndarray | None:
        if not self.images or not 0 <= self.image_index < len(self.images):
            return None
        return self.images[self.image_index]

    def add_image_file(self, path: str | Path) -> bool:
        """Add a picture file to the image choices and select it; False (message shown) if it
        cannot be read."""
        from engine.inspection import image_from_file

        spec = self.spec()
        if spec is None:
            return False
        shape = next(n.params["shape"] for n in spec.nodes if n.type == "InputLayer")
        try:
            image = image_from_file(path, shape)
        except ProjectError as error:
            self.title.setText(f"⚠ {error}")
            return False
        self.images.append(image)
        self.image_names.append(f"File: {Path(path).name}")
        self.image_combo.addItem(self.image_names[-1])
        self.image_combo.setCurrentIndex(len(self.images) - 1)  # shows it in every tab
        return True

    def spec(self):
        if self._spec is None and self.run_dir:
            from engine.training.runs import RunFolder
            self._spec = RunFolder(Path(self.run_dir)).spec()
        return self._spec

    # -- internals ---------------------------------------------------------------------------
    def _open_image_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open image", "",
                                              "Images (*.png *.jpg *.jpeg *.bmp *.gif)")
        if path:
            self.add_image_file(path)

    def _select_run_in_combo(self) -> None:
        """Show the current run in the chooser (its hint text when the run is not listed)."""
        self.run_combo.blockSignals(True)
        self.run_combo.setCurrentIndex(self.run_combo.findData(self.run_dir)
                                       if self.run_dir else -1)
        self.run_combo.blockSignals(False)

    def _run_activated(self, index: int) -> None:
        folder = self.run_combo.itemData(index)
        if folder and folder != self.run_dir:
            self.set_run(folder)
            self.run_chosen.emit(folder)

    def _show_page(self, page: QWidget) -> None:
        if self.tabs.currentWidget() is page:
            self._tab_shown(self.tabs.currentIndex())  # no currentChanged: load it here
        else:
            self.tabs.setCurrentWidget(page)

    def _set_images_enabled(self, enabled: bool) -> None:
        self.image_combo.setEnabled(enabled)
        self.open_image_button.setEnabled(enabled)

    def _images_loaded(self, result) -> None:
        images = np.asarray(result["images"])
        labels = np.asarray(result.get("labels", []))
        self.class_names = [str(n) for n in result.get("class_names", [])]
        self.layers = list(result.get("layers", []))
        self.images, self.image_names = [], []
        for i, image in enumerate(images):
            label = int(labels[i]) if i < len(labels) else -1
            name = self.class_names[label] if 0 <= label < len(self.class_names) else "?"
            self.images.append(np.asarray(image, dtype=np.float32))
            self.image_names.append(f"Test #{i}: {name}")
        for name, photo in (result.get("photos") or {}).items():
            self.images.append(np.asarray(photo, dtype=np.float32))
            self.image_names.append(f"Photo: {name}")
        self.image_combo.blockSignals(True)
        self.image_combo.clear()
        self.image_combo.addItems(self.image_names)
        self.image_combo.blockSignals(False)
        self.image_index = 0
        self._set_images_enabled(bool(self.images))
        self.images_status = "" if self.images else "This run has no test images to show."
        if result.get("note") and self.run_dir:  # an imported model's dataset did not fit
            self.title.setText(f"{_run_title(self.run_dir)}<br>Its dataset's images cannot be "
                               f"shown ({html.escape(str(result['note']))}); photos can.")
        self.maps_tab.set_layers(self.layers)
        self.excite_tab.set_layers(self.layers, self.class_names)
        self._show_preview()
        self._tab_shown(self.tabs.currentIndex())

    def _images_failed(self, message: str) -> None:
        self.images_status = f"⚠ Cannot load the run's images: {message}"
        self._tab_shown(self.tabs.currentIndex())

    def _image_chosen(self, index: int) -> None:
        self.image_index = index
        self._show_preview()
        self._tab_shown(self.tabs.currentIndex())

    def _show_preview(self) -> None:
        image = self.current_image()
        if image is not None:
            self.image_preview.setPixmap(to_pixmap(display_image(image), PREVIEW_SIDE))

    def _tab_shown(self, index: int) -> None:
        page = self.pages[index] if 0 <= index < len(self.pages) else None
        if isinstance(page, WorkerTab):
            page.ensure_loaded()


def _run_title(run_dir: str) -> str:
    """The run's folder name in bold, and where its weights came from (an imported model:
    not trained here; its test images come from a dataset guessed from its shape)."""
    from engine.training.runs import RunFolder, run_origin

    title = f"<b>{html.escape(Path(run_dir).name)}</b>"
    try:
        status = RunFolder(Path(run_dir)).status()
    except ProjectError:
        return title
    origin = run_origin(status)
    if origin:
        title += f" · {html.escape(origin)}"
    if status.get("dataset_guessed") and status.get("dataset"):
        title += f" (images from {html.escape(str(status['dataset']))}, a guess)"
    return title
