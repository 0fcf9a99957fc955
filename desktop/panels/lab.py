"""The Features lab: what a trained network's filters learned, and how they compare with
hand-crafted ones.

Pure-numpy views (kernels, the filter bank, hand-crafted responses, receptive fields) run
here; anything needing the model runs in the warm inspection worker (desktop.engine_tasks,
tasks "lab_*" of engine.tasks), which keeps the run's model loaded; one job per user action,
started lazily when a tab is first shown. This module never imports
TensorFlow/Keras.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QGridLayout, QHBoxLayout, QHeaderView,
                               QLabel, QProgressBar, QPushButton, QScrollArea, QSlider,
                               QSpinBox, QSplitter, QTableWidget, QTableWidgetItem, QTabWidget,
                               QVBoxLayout, QWidget)

from desktop.engine_tasks import EngineTask
from engine.errors import ProjectError

EMPTY_HINT = "Train a network or pick a run in the Runs list to inspect it."
TAB_NAMES = ("Kernels", "Hand-crafted vs learned", "Feature maps", "What excites a filter",
             "Weights", "Baselines && probes", "Shift", "Embedding")
CLASS_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                "#7f7f7f", "#bcbd22", "#17becf"]
MAX_TILES = 256  # feature maps / kernels shown at most


# -- numpy -> pixmaps -------------------------------------------------------------------------

def to_pixmap(array: np.ndarray, size: int, lo: float | None = None, hi: float | None = None,
              ) -> QPixmap:
    """A (h, w) or (h, w, 3) array as a pixmap `size` pixels on its longer side (nearest)."""
    a = np.asarray(array, dtype=np.float32)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    lo = float(np.nanmin(a)) if lo is None else lo
    hi = float(np.nanmax(a)) if hi is None else hi
    scaled = np.clip((a - lo) / (hi - lo if hi > lo else 1.0), 0, 1)
    data = np.ascontiguousarray(np.nan_to_num(scaled * 255).astype(np.uint8))
    h, w = data.shape[:2]
    if data.ndim == 2:
        image = QImage(data.data, w, h, w, QImage.Format.Format_Grayscale8)
    else:
        data = np.ascontiguousarray(data[:, :, :3])
        image = QImage(data.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    image = image.copy()  # own the pixels: `data` dies with this call
    return QPixmap.fromImage(image).scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                                           Qt.TransformationMode.FastTransformation)


def display_image(image: np.ndarray) -> np.ndarray:
    """An input image (H, W, C) as something to_pixmap shows: gray or RGB."""
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 3 and image.shape[2] not in (1, 3):
        image = image.mean(axis=2)
    return image


def heat_overlay(image: np.ndarray, heatmap: np.ndarray) -> np.ndarray:
    """The image in gray with a red-yellow heatmap blended over it (H, W, 3) in 0..1."""
    gray = display_image(image)
    if gray.ndim == 3:
        gray = gray.mean(axis=2)
    gray = (gray - gray.min()) / (np.ptp(gray) or 1.0)
    heat = np.asarray(heatmap, dtype=np.float32)
    if heat.shape != gray.shape:  # nearest resize
        rows = (np.arange(gray.shape[0]) * heat.shape[0] // gray.shape[0])
        cols = (np.arange(gray.shape[1]) * heat.shape[1] // gray.shape[1])
        heat = heat[rows][:, cols]
    heat = (heat - heat.min()) / (np.ptp(heat) or 1.0)
    colour = np.stack([np.clip(heat * 2, 0, 1), np.clip(heat * 2 - 1, 0, 1),
                       np.zeros_like(heat)], axis=2)
    base = np.repeat(gray[:, :, None], 3, axis=2)
    alpha = 0.55 * heat[:, :, None]
    return base * (1 - alpha) + colour * alpha


def kernel_tiles(kernel: np.ndarray, channel: str) -> list[np.ndarray]:
    """Images of a (kh, kw, in, out) kernel: one per output filter.
    channel: "rgb" (in == 3), "mean" (over the inputs) or an input index as a string."""
    k = np.asarray(kernel, dtype=np.float32)
    if channel == "rgb" and k.shape[2] == 3:
        return [k[:, :, :, i] for i in range(k.shape[3])]
    if channel in ("mean", "rgb"):
        flat = k.mean(axis=2)
    else:
        flat = k[:, :, min(int(channel), k.shape[2] - 1), :]
    return [flat[:, :, i] for i in range(flat.shape[2])]


# -- widgets ----------------------------------------------------------------------------------

class Tile(QLabel):
    """One image in a grid; a click reports the image pixel (row, col)."""

    clicked = Signal(int, int, int)  # tile index, row, col

    def __init__(self, index: int, shape: tuple[int, int], parent=None):
        super().__init__(parent)
        self.index, self.shape = index, shape
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt API
        pixmap = self.pixmap()
        if pixmap is None or pixmap.isNull():
            return
        x0 = (self.width() - pixmap.width()) / 2
        y0 = (self.height() - pixmap.height()) / 2
        pos = event.position()
        col = int((pos.x() - x0) * self.shape[1] / max(pixmap.width(), 1))
        row = int((pos.y() - y0) * self.shape[0] / max(pixmap.height(), 1))
        if 0 <= row < self.shape[0] and 0 <= col < self.shape[1]:
            self.clicked.emit(self.index, row, col)


class TileGrid(QScrollArea):
    """Images with captions in a grid that reflows to the width."""

    tile_clicked = Signal(int, int, int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self._body = QWidget()
        self._grid = QGridLayout(self._body)
        self._grid.setSpacing(6)
        self._grid.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.setWidget(self._body)
        self.tiles: list[Tile] = []
        self.captions: list[str] = []

    def set_images(self, images: list[np.ndarray], captions: list[str] | None = None,
                   size: int = 64, shared: bool = False, symmetric: bool = False) -> None:
        while self._grid.count():
            item = self._grid.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        self.tiles, self.captions = [], list(captions or [""] * len(images))
        images = images[:MAX_TILES]
        lo = hi = None
        if shared and images:
            lo = min(float(np.min(i)) for i in images)
            hi = max(float(np.max(i)) for i in images)
        caption_width = max(size, 104)
        columns = max(1, (self.viewport().width() - 30) // (caption_width + 10))
        for index, image in enumerate(images):
            tile_lo, tile_hi = lo, hi
            if symmetric:  # zero is mid-gray: weights' sign shows
                bound = max(abs(lo), abs(hi)) if shared else float(np.max(np.abs(image))) or 1.0
                tile_lo, tile_hi = -bound, bound
            cell = QWidget()
            box = QVBoxLayout(cell)
            box.setContentsMargins(0, 0, 0, 0)
            box.setSpacing(1)
            tile = Tile(index, np.shape(image)[:2])
            tile.setPixmap(to_pixmap(image, size, tile_lo, tile_hi))
            tile.setFixedSize(size, size)
            tile.setStyleSheet("border: 1px solid #888;")
            tile.clicked.connect(self.tile_clicked)
            box.addWidget(tile, alignment=Qt.AlignmentFlag.AlignHCenter)
            if self.captions[index]:
                caption = QLabel(self.captions[index])
                caption.setAlignment(Qt.AlignmentFlag.AlignHCenter)
                caption.setWordWrap(True)
                caption.setFixedWidth(caption_width)
                caption.setStyleSheet("font-size: 10px;")
                box.addWidget(caption)
            self._grid.addWidget(cell, index // columns, index % columns)
            self.tiles.append(tile)

    def count(self) -> int:
        return len(self.tiles)


def _status_label() -> QLabel:
    label = QLabel(EMPTY_HINT)
    label.setWordWrap(True)
    label.setStyleSheet("color: #666; padding: 2px;")
    return label


def _plot(title: str, left: str, bottom: str) -> pg.PlotWidget:
    plot = pg.PlotWidget(background="w")
    plot.setTitle(title, color="k", size="10pt")
    plot.setLabel("left", left)
    plot.setLabel("bottom", bottom)
    plot.showGrid(x=True, y=True, alpha=0.25)
    plot.setMinimumHeight(180)
    for name in ("left", "bottom"):
        plot.getAxis(name).setPen("k")
        plot.getAxis(name).setTextPen("k")
    return plot


class _WorkerTab(QWidget):
    """A tab whose data comes from one worker task per action; errors show inline."""

    needs_image = False

    def __init__(self, lab: FeaturesLab):
        super().__init__()
        self.lab = lab
        # A newer request of this tab replaces one still waiting: no stale work queues up.
        self.task = EngineTask(self, supersede=f"lab:{type(self).__name__}")
        self.task.finished.connect(self._finished)
        self.task.failed.connect(self._failed)
        self.task.progress.connect(self._progressed)
        self.status = _status_label()
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setMaximumHeight(8)
        self.busy.setTextVisible(False)
        self.busy.hide()
        self.layout_ = QVBoxLayout(self)
        self.layout_.addWidget(self.status)
        self.layout_.addWidget(self.busy)
        self.loaded_key = None
        self.result = None

    def key(self):
        return (self.lab.run_dir, self.lab.image_index if self.needs_image else None)

    def ensure_loaded(self) -> None:
        if self.lab.run_dir is None:
            self.clear()
            self.status.setText(EMPTY_HINT)
            return
        if self.needs_image and self.lab.current_image() is None:
            self.status.setText(self.lab.images_status)
            return
        if self.loaded_key != self.key() and not self.task.is_running():
            self.load()

    def run(self, kind: str, message: str, **arguments) -> None:
        if self.task.is_running():
            self.task.cancel()
        self.loaded_key = self.key()
        self.status.setText(message)
        self.busy.setRange(0, 0)  # busy until the task says how far it is
        self.busy.show()
        try:
            self.task.start(kind, run_dir=self.lab.run_dir, **arguments)
        except Exception as error:  # noqa: BLE001 - shown, never raised into Qt
            self._failed(str(error))

    def _progressed(self, message: str, fraction) -> None:
        self.status.setText(message)
        if fraction is not None:
            self.busy.setRange(0, 100)
            self.busy.setValue(int(100 * fraction))

    def _finished(self, result) -> None:
        self.busy.hide()
        self.result = result
        try:
            self.status.setText("")
            self.show_result(result)
        except Exception as error:  # noqa: BLE001 - an unexpected result shape: say so
            self.status.setText(f"Cannot show the result: {type(error).__name__}: {error}")

    def _failed(self, message: str) -> None:
        self.busy.hide()
        self.status.setText(f"⚠ {message}")

    def reset(self) -> None:
        if self.task.is_running():
            self.task.cancel()
        self.busy.hide()
        self.loaded_key = None
        self.result = None
        self.clear()

    # subclasses
    def load(self) -> None: ...
    def show_result(self, result) -> None: ...
    def clear(self) -> None: ...


# -- tab 1: kernels ---------------------------------------------------------------------------

class KernelsTab(QWidget):
    def __init__(self, lab: FeaturesLab):
        super().__init__()
        self.lab = lab
        self.epochs: list[int] = []
        self._cache: dict[int, dict[str, np.ndarray]] = {}
        self.status = _status_label()
        self.layer = QComboBox()
        self.channel = QComboBox()
        self.channel.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.layer.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.shared = QCheckBox("Shared colour scale")
        self.shared.setToolTip("One scale for all kernels (compare strengths) or one per kernel "
                               "(see each one's pattern). Gray is zero.")
        self.zoom = QSlider(Qt.Orientation.Horizontal)
        self.zoom.setRange(24, 160)
        self.zoom.setValue(64)
        self.zoom.setMaximumWidth(140)
        self.epoch = QSlider(Qt.Orientation.Horizontal)
        self.epoch.setRange(0, 0)
        self.epoch_label = QLabel("Epoch –")
        self.epoch_label.setMinimumWidth(110)
        controls = QHBoxLayout()
        for text, widget in (("Layer", self.layer), ("Inputs", self.channel)):
            controls.addWidget(QLabel(text))
            controls.addWidget(widget)
        controls.addWidget(self.shared)
        controls.addWidget(QLabel("Zoom"))
        controls.addWidget(self.zoom)
        controls.addStretch(1)
        replay = QHBoxLayout()
        replay.addWidget(QLabel("Watch filters form:"))
        replay.addWidget(self.epoch, 1)
        replay.addWidget(self.epoch_label)
        self.grid = TileGrid()
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addLayout(controls)
        layout.addLayout(replay)
        layout.addWidget(self.grid, 1)
        self.layer.currentIndexChanged.connect(self._layer_changed)
        for signal in (self.channel.currentIndexChanged, self.shared.toggled,
                       self.zoom.valueChanged, self.epoch.valueChanged):
            signal.connect(self.refresh)

    def set_epochs(self, epochs: list[int], cache: dict | None = None, follow: bool = False):
        at_end = self.epoch.value() >= self.epoch.maximum()
        self.epochs = sorted(epochs)
        if cache is not None:
            self._cache = cache
        self.epoch.blockSignals(True)
        self.epoch.setRange(0, max(0, len(self.epochs) - 1))
        if follow or at_end:
            self.epoch.setValue(self.epoch.maximum())
        self.epoch.blockSignals(False)
        kernels = self.current_kernels()
        names = list(kernels)
        if names != [self.layer.itemText(i) for i in range(self.layer.count())]:
            previous = self.layer.currentText()
            self.layer.blockSignals(True)
            self.layer.clear()
            self.layer.addItems(names)
            if previous in names:
                self.layer.setCurrentText(previous)
            self.layer.blockSignals(False)
            self._layer_changed()
        else:
            self.refresh()

    def load_run(self, run_dir: str | None) -> None:
        self._cache = {}
        epochs = []
        if run_dir:
            folder = Path(run_dir) / "kernels"
            for path in sorted(folder.glob("epoch-*.npz")):
                try:
                    epochs.append(int(path.stem.split("-")[1]))
                except ValueError:
                    continue
        self.set_epochs(epochs, follow=True)

    def current_kernels(self) -> dict[str, np.ndarray]:
        if not self.epochs:
            return {}
        epoch = self.epochs[min(self.epoch.value(), len(self.epochs) - 1)]
        if epoch not in self._cache and self.lab.run_dir:
            from engine.training.runs import RunFolder  # Keras-free
            try:
                self._cache[epoch] = RunFolder(Path(self.lab.run_dir)).kernels(epoch)
            except Exception as error:  # noqa: BLE001 - a damaged or missing snapshot
                self.status.setText(f"⚠ Cannot read the kernels of epoch {epoch}: {error}")
                return {}
        return self._cache.get(epoch, {})

    def _layer_changed(self) -> None:
        kernel = self.current_kernels().get(self.layer.currentText())
        self.channel.blockSignals(True)
        previous = self.channel.currentData()
        self.channel.clear()
        if kernel is not None:
            inputs = kernel.shape[2]
            if inputs == 3:
                self.channel.addItem("RGB", "rgb")
            self.channel.addItem("Mean over inputs", "mean")
            for i in range(inputs):
                self.channel.addItem(f"Input {i}", str(i))
            index = self.channel.findData(previous)
            self.channel.setCurrentIndex(max(index, 0))
        self.channel.blockSignals(False)
        self.refresh()

    def refresh(self) -> None:
        if not self.epochs:
            self.grid.set_images([])
            self.epoch_label.setText("Epoch –")
            self.status.setText(EMPTY_HINT if self.lab.run_dir is None else
                                "This run saved no kernel snapshots (it has no conv layers?).")
            return
        epoch = self.epochs[min(self.epoch.value(), len(self.epochs) - 1)]
        self.epoch_label.setText(f"Epoch {epoch} of {self.epochs[-1]}")
        kernel = self.current_kernels().get(self.layer.currentText())
        if kernel is None:
            self.grid.set_images([])
            return
        kh, kw, inputs, outputs = kernel.shape
        live = " (live, training)" if self.lab.live else ""
        self.status.setText(f"{self.layer.currentText()}: {outputs} filters of {kh}×{kw}×{inputs}"
                            f"{live}. Gray is zero, light positive, dark negative.")
        tiles = kernel_tiles(kernel, self.channel.currentData() or "mean")
        self.grid.set_images(tiles, [f"#{i}" for i in range(len(tiles))], self.zoom.value(),
                             shared=self.shared.isChecked(), symmetric=True)


# -- tab 2: hand-crafted vs learned -----------------------------------------------------------

class CompareFiltersTab(_WorkerTab):
    needs_image = True

    def __init__(self, lab):
        super().__init__(lab)
        self.bank_grid = TileGrid()
        self.learned_grid = TileGrid()
        self.hand_grid = TileGrid()
        self.maps_grid = TileGrid()
        top = QSplitter()
        top.addWidget(self._titled("Hand-crafted filter bank", self.bank_grid))
        top.addWidget(self._titled("Learned first-layer kernels (best match)", self.learned_grid))
        bottom = QSplitter()
        bottom.addWidget(self._titled("Same image: hand-crafted responses", self.hand_grid))
        bottom.addWidget(self._titled("Same image: learned feature maps", self.maps_grid))
        both = QSplitter(Qt.Orientation.Vertical)
        both.addWidget(top)
        both.addWidget(bottom)
        self.layout_.addWidget(both, 1)
        self.bank = {}
        self.first_layer = None

    @property
    def features(self):
        """engine.features, imported on first use: Keras-free, but SciPy and scikit-image
        take ~0.4 s, which the window's start-up should not pay for a tab not yet opened."""
        from engine import features

        return features

    @staticmethod
    def _titled(title: str, widget: QWidget) -> QWidget:
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        label = QLabel(f"<b>{title}</b>")
        layout.addWidget(label)
        layout.addWidget(widget, 1)
        return box

    def load(self) -> None:
        kernels = self.lab.kernels_tab.current_kernels() or {}
        last = self.lab.kernels_tab
        if last.epochs:  # the final kernels, whatever epoch the replay shows
            kernels = last._cache.get(last.epochs[-1]) or kernels
        self.first_layer = next(iter(kernels), None)
        size = 5
        if self.first_layer is not None:
            kernel = kernels[self.first_layer]
            size = int(kernel.shape[0])
        self.bank = self.features.filter_bank(size=size)
        self.bank_grid.set_images(list(self.bank.values()), list(self.bank), 48, symmetric=True)
        if self.first_layer is not None:
            kernel = kernels[self.first_layer]
            matches = self.features.match_kernels(kernel, self.bank)
            captions = [f"#{m['kernel']}: {m['filter']}\nsimilarity {m['similarity']:.2f}"
                        for m in matches]
            self.learned_grid.set_images(kernel_tiles(kernel, "rgb"), captions, 48,
                                         symmetric=True)
        image = self.lab.current_image()
        responses = self.features.handcrafted_responses(image, self.bank)
        self.hand_grid.set_images(list(responses.values()), list(responses), 64)
        layer = self.first_conv_name()
        if layer is None:
            self.status.setText("This network has no conv layer to compare.")
            return
        self.run("lab_feature_maps", f"Computing {layer}'s feature maps…", layer_name=layer,
                 image=image)

    def first_conv_name(self) -> str | None:
        for layer in self.lab.layers:
            if "conv" in str(layer.get("type", "")).lower():
                return layer["name"]
        return self.first_layer

    def show_result(self, maps) -> None:
        maps = np.asarray(maps)
        self.maps_grid.set_images([maps[:, :, i] for i in range(maps.shape[2])],
                                  [f"{self.first_conv_name()} #{i}" for i in range(maps.shape[2])],
                                  64)

    def clear(self) -> None:
        for grid in (self.bank_grid, self.learned_grid, self.hand_grid, self.maps_grid):
            grid.set_images([])


# -- tab 3: feature maps ----------------------------------------------------------------------

class FeatureMapsTab(_WorkerTab):
    needs_image = True

    def __init__(self, lab):
        super().__init__(lab)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Layer"))
        self.layer = QComboBox()
        self.layer.setMinimumWidth(160)
        controls.addWidget(self.layer)
        controls.addWidget(QLabel("Click a map pixel to outline its receptive field on the input."))
        controls.addStretch(1)
        self.layout_.addLayout(controls)
        self.input_view = QLabel()
        self.input_view.setFixedSize(200, 200)
        self.input_view.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.rf_label = QLabel("")
        self.rf_label.setWordWrap(True)
        self.rf_label.setFixedWidth(200)
        left = QVBoxLayout()
        left.addWidget(QLabel("<b>Input</b>"))
        left.addWidget(self.input_view)
        left.addWidget(self.rf_label)
        left.addStretch(1)
        self.grid = TileGrid()
        self.grid.tile_clicked.connect(self.outline)
        body = QHBoxLayout()
        body.addLayout(left)
        body.addWidget(self.grid, 1)
        self.layout_.addLayout(body, 1)
        self.layer.currentIndexChanged.connect(self._layer_changed)
        self.box = None

    def key(self):
        return super().key() + (self.layer.currentText(),)

    def set_layers(self, layers: list[dict]) -> None:
        self.layer.blockSignals(True)
        self.layer.clear()
        for layer in layers:
            shape = layer.get("output_shape") or ()
            if len(shape) == 4 or len(shape) == 3 and layer.get("type") != "InputLayer":
                self.layer.addItem(f"{layer['name']}", layer["name"])
                self.layer.setItemData(self.layer.count() - 1,
                                       f"{layer.get('type')} {tuple(shape)}",
                                       Qt.ItemDataRole.ToolTipRole)
        self.layer.blockSignals(False)

    def _layer_changed(self) -> None:
        if self.isVisible():
            self.ensure_loaded()

    def load(self) -> None:
        self.box = None
        self.draw_input()
        if not self.layer.currentData():
            self.status.setText("This network has no layer with feature maps.")
            return
        self.run("lab_feature_maps", f"Computing {self.layer.currentData()}'s feature maps…",
                 layer_name=self.layer.currentData(), image=self.lab.current_image())

    def draw_input(self) -> None:
        image = self.lab.current_image()
        if image is None:
            self.input_view.clear()
            return
        pixmap = to_pixmap(display_image(image), 200)
        if self.box is not None:
            top, left, bottom, right = self.box
            sy, sx = pixmap.height() / image.shape[0], pixmap.width() / image.shape[1]
            painter = QPainter(pixmap)
            painter.setPen(QPen(QColor("#ff3030"), 2))
            painter.drawRect(QRect(int(left * sx), int(top * sy),
                                   max(1, int((right - left + 1) * sx) - 1),
                                   max(1, int((bottom - top + 1) * sy) - 1)))
            painter.end()
        self.input_view.setPixmap(pixmap)

    def outline(self, index: int, row: int, col: int) -> None:
        from engine.inspection import receptive_field_box  # pure; Keras only inside functions
        layer = self.layer.currentData()
        try:
            box = receptive_field_box(self.lab.spec(), layer, row, col)
        except Exception as error:  # noqa: BLE001
            self.rf_label.setText(f"⚠ No receptive field: {error}")
            return
        top, left, bottom, right = (int(v) for v in box)  # bottom/right exclusive
        h, w = self.lab.current_image().shape[:2]
        self.box = (max(top, 0), max(left, 0), min(bottom, h) - 1, min(right, w) - 1)
        self.rf_label.setText(f"{layer} map #{index} at (row {row}, col {col}) sees input rows "
                              f"{top}–{bottom - 1}, cols {left}–{right - 1} "
                              f"({bottom - top}×{right - left} px).")
        self.draw_input()

    def show_result(self, maps) -> None:
        maps = np.asarray(maps)
        if maps.ndim == 2:
            maps = maps[:, :, None]
        count = maps.shape[2]
        size = 96 if count <= 8 else 64 if count <= 32 else 48
        self.grid.set_images([maps[:, :, i] for i in range(count)],
                             [f"#{i}" for i in range(count)], size)
        self.status.setText(f"{self.layer.currentData()}: {count} maps of "
                            f"{maps.shape[0]}×{maps.shape[1]}"
                            + (f" (first {MAX_TILES} shown)" if count > MAX_TILES else ""))

    def clear(self) -> None:
        self.grid.set_images([])
        self.input_view.clear()
        self.rf_label.setText("")


# -- tab 4: what excites a filter -------------------------------------------------------------

class ExciteTab(_WorkerTab):
    needs_image = True

    def __init__(self, lab):
        super().__init__(lab)
        controls = QHBoxLayout()
        self.layer = QComboBox()
        self.count = QSpinBox()
        self.count.setRange(1, 32)
        self.count.setValue(8)
        self.class_combo = QComboBox()
        self.go = QPushButton("Compute")
        for text, widget in (("Conv layer", self.layer), ("First filters", self.count),
                             ("Grad-CAM class", self.class_combo)):
            controls.addWidget(QLabel(text))
            controls.addWidget(widget)
        controls.addWidget(self.go)
        controls.addStretch(1)
        self.layout_.addLayout(controls)
        self.patterns = TileGrid()
        self.cam_input = QLabel()
        self.cam_view = QLabel()
        for view in (self.cam_input, self.cam_view):
            view.setFixedSize(200, 200)
            view.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.cam_caption = QLabel("")
        self.cam_caption.setWordWrap(True)
        self.cam_caption.setFixedWidth(410)
        cam = QVBoxLayout()
        cam.addWidget(QLabel("<b>Grad-CAM: where the class evidence is</b>"))
        pair = QHBoxLayout()
        pair.addWidget(self.cam_input)
        pair.addWidget(self.cam_view)
        cam.addLayout(pair)
        cam.addWidget(self.cam_caption)
        cam.addStretch(1)
        left = QVBoxLayout()
        left.addWidget(QLabel("<b>Inputs that excite each filter most (activation "
                              "maximisation)</b>"))
        left.addWidget(self.patterns, 1)
        body = QHBoxLayout()
        body.addLayout(left, 1)
        body.addLayout(cam)
        self.layout_.addLayout(body, 1)
        self.go.clicked.connect(self.load)
        self.heatmap_shown = False

    def key(self):
        return super().key() + (self.layer.currentText(), self.count.value(),
                                self.class_combo.currentIndex())

    def set_layers(self, layers: list[dict], class_names: list[str]) -> None:
        self.layer.clear()
        for layer in layers:
            if "conv" in str(layer.get("type", "")).lower():
                self.layer.addItem(layer["name"], layer["name"])
        self.class_combo.clear()
        self.class_combo.addItem("Predicted class", None)
        for index, name in enumerate(class_names):
            self.class_combo.addItem(str(name), index)

    def load(self) -> None:
        if self.lab.run_dir is None or self.lab.current_image() is None:
            return
        if not self.layer.currentData():
            self.status.setText("This network has no conv layer.")
            return
        self.heatmap_shown = False
        self.cam_input.setPixmap(to_pixmap(display_image(self.lab.current_image()), 200))
        count = self.count.value()
        for layer in self.lab.layers:  # no more filters than the layer has
            if layer["name"] == self.layer.currentData() and layer.get("output_shape"):
                count = min(count, int(layer["output_shape"][-1] or count))
        self.run("lab_excite", "Optimising inputs and computing Grad-CAM (a few seconds)…",
                 layer_name=self.layer.currentData(), filters=list(range(count)),
                 image=self.lab.current_image(), class_index=self.class_combo.currentData())

    def show_result(self, result) -> None:
        patterns = np.asarray(result["patterns"])
        self.patterns.set_images([display_image(p) for p in patterns],
                                 [f"{self.layer.currentData()} #{i}" for i in range(len(patterns))],
                                 80)
        cam = result["gradcam"]
        image = self.lab.current_image()
        self.cam_view.setPixmap(to_pixmap(heat_overlay(image, cam["heatmap"]), 200, 0.0, 1.0))
        names = self.lab.class_names
        index = int(cam["class_index"])
        probabilities = np.asarray(cam.get("probabilities", []))
        name = names[index] if index < len(names) else str(index)
        predicted = int(np.argmax(probabilities)) if probabilities.size else index
        predicted_name = names[predicted] if predicted < len(names) else str(predicted)
        p = float(probabilities[index]) if probabilities.size > index else float("nan")
        self.cam_caption.setText(f"Class “{name}” (p = {p:.2f}); the network predicts "
                                 f"“{predicted_name}”. Heat from layer {cam.get('layer')}.")
        self.heatmap_shown = True

    def clear(self) -> None:
        self.patterns.set_images([])
        self.cam_input.clear()
        self.cam_view.clear()
        self.cam_caption.setText("")
        self.heatmap_shown = False


# -- tab 5: weights ---------------------------------------------------------------------------

class WeightsTab(_WorkerTab):
    def __init__(self, lab):
        super().__init__(lab)
        self.view = pg.GraphicsLayoutWidget()
        self.view.setBackground("w")
        self.layout_.addWidget(self.view, 1)
        self.curves: list[pg.PlotDataItem] = []

    def load(self) -> None:
        self.run("lab_histograms", "Reading the weights…")

    def show_result(self, histograms) -> None:
        self.clear()
        columns = 3 if len(histograms) > 4 else 2
        for index, entry in enumerate(histograms):
            if index and index % columns == 0:
                self.view.nextRow()
            plot = self.view.addPlot()
            plot.setTitle(f"{entry['layer']}  mean {entry['mean']:+.3f}  std {entry['std']:.3f}",
                          color="k", size="9pt")
            for name in ("left", "bottom"):
                plot.getAxis(name).setPen("k")
                plot.getAxis(name).setTextPen("k")
            curve = pg.PlotDataItem(np.asarray(entry["edges"]), np.asarray(entry["counts"]),
                                    stepMode="center", fillLevel=0, brush=(47, 111, 181, 120),
                                    pen=pg.mkPen("#2F6FB5", width=1.5))
            plot.addItem(curve)
            plot.addLine(x=0, pen=pg.mkPen((120, 120, 120), style=Qt.PenStyle.DotLine))
            self.curves.append(curve)
        self.status.setText(f"Weight distributions of {len(histograms)} layers (kernels and "
                            "dense weights, no biases).")

    def clear(self) -> None:
        self.view.clear()
        self.curves = []


# -- tab 6: baselines & probes ----------------------------------------------------------------

class BaselinesTab(_WorkerTab):
    def __init__(self, lab):
        super().__init__(lab)
        self.compare = QPushButton("Compare with hand-crafted features")
        row = QHBoxLayout()
        row.addWidget(self.compare)
        row.addWidget(QLabel("Trains classical classifiers on hand-crafted features and linear "
                             "probes on each layer (takes several seconds)."))
        row.addStretch(1)
        self.layout_.insertLayout(0, row)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Method", "Features", "Test accuracy", "Time"])
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.setMaximumHeight(190)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.bars = _plot("Test accuracy", "accuracy", "")
        self.probes = _plot("Linear probe accuracy vs depth", "accuracy", "layer")
        plots = QHBoxLayout()
        plots.addWidget(self.bars, 1)
        plots.addWidget(self.probes, 1)
        self.layout_.addWidget(self.table)
        self.layout_.addLayout(plots, 1)
        self.compare.clicked.connect(self.load)
        self.probe_curve = None

    def ensure_loaded(self) -> None:  # expensive: only on request
        if self.lab.run_dir is None:
            self.clear()
            self.status.setText(EMPTY_HINT)
        elif self.loaded_key != self.key() and not self.task.is_running():
            self.status.setText("Press Compare to train the baselines and probes for this run.")

    def load(self) -> None:
        if self.lab.run_dir is None:
            return
        self.compare.setEnabled(False)
        self.run("lab_compare", "Training baselines and linear probes… (several seconds)")

    def _finished(self, result) -> None:
        self.compare.setEnabled(True)
        super()._finished(result)

    def _failed(self, message: str) -> None:
        self.compare.setEnabled(True)
        super()._failed(message)

    def show_result(self, result) -> None:
        self.clear()
        rows = [(b["name"], str(b.get("features", "")), b.get("test_accuracy"),
                 b.get("train_time")) for b in result.get("baselines", [])]
        cnn = result.get("cnn") or {}
        rows.append(("CNN (this run)", "learned", cnn.get("test_accuracy"),
                     cnn.get("training_time")))
        self.table.setRowCount(len(rows))
        for r, (name, feats, acc, seconds) in enumerate(rows):
            values = [name, feats, "–" if acc is None else f"{acc:.1%}",
                      "–" if seconds is None else f"{seconds:.1f} s"]
            for c, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setToolTip(value)
                if c >= 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        heights = [float(acc or 0) for _, _, acc, _ in rows]
        colours = ["#7A7A7A"] * (len(rows) - 1) + ["#2F6FB5"]
        self.bars.addItem(pg.BarGraphItem(x=np.arange(len(rows)), height=heights, width=0.6,
                                          brushes=colours, pen=None))
        ticks = [_short(r[1] or r[0]) for r in rows[:-1]] + ["CNN"]  # full names in the table
        self.bars.getAxis("bottom").setTicks([list(enumerate(ticks))])
        self.bars.setYRange(0, 1.05)
        probes = result.get("probes", [])
        if probes:
            x = np.arange(len(probes))
            self.probe_curve = self.probes.plot(x, [p["accuracy"] for p in probes],
                                                pen=pg.mkPen("#C7781A", width=2), symbol="o",
                                                symbolBrush="#C7781A", symbolSize=7)
            self.probes.getAxis("bottom").setTicks([[(i, p["layer"]) for i, p in enumerate(probes)]])
            self.probes.setYRange(0, 1.05)
        self.status.setText(f"{len(rows) - 1} hand-crafted baselines vs the CNN; "
                            f"{len(probes)} linear probes.")

    def clear(self) -> None:
        self.table.setRowCount(0)
        self.bars.clear()
        self.probes.clear()
        self.probe_curve = None


def _short(text: str, limit: int = 14) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- tab 7: shift -----------------------------------------------------------------------------

class ShiftTab(_WorkerTab):
    needs_image = True
    MAX_SHIFT = 6

    def __init__(self, lab):
        super().__init__(lab)
        row = QHBoxLayout()
        row.addWidget(QLabel("Shift the input right by"))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, self.MAX_SHIFT)
        self.slider.setMaximumWidth(240)
        self.slider_label = QLabel("0 px")
        self.slider_label.setMinimumWidth(40)
        row.addWidget(self.slider)
        row.addWidget(self.slider_label)
        row.addStretch(1)
        self.layout_.addLayout(row)
        self.image_view = QLabel()
        self.image_view.setFixedSize(180, 180)
        self.image_view.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.prediction = QLabel("")
        self.prediction.setWordWrap(True)
        self.prediction.setFixedWidth(180)
        left = QVBoxLayout()
        left.addWidget(self.image_view)
        left.addWidget(self.prediction)
        left.addStretch(1)
        self.change_plot = _plot("Feature change vs shift", "relative change", "shift (px)")
        self.error_plot = _plot("Equivariance error vs shift", "error", "shift (px)")
        for plot in (self.change_plot, self.error_plot):
            plot.addLegend(offset=(5, 5), labelTextColor="k", brush=pg.mkBrush(255, 255, 255, 200))
        body = QHBoxLayout()
        body.addLayout(left)
        body.addWidget(self.change_plot, 1)
        body.addWidget(self.error_plot, 1)
        self.layout_.addLayout(body, 1)
        self.slider.valueChanged.connect(self.select)
        self.markers: list[pg.InfiniteLine] = []
        self.curves: list[pg.PlotDataItem] = []

    def load(self) -> None:
        self.run("lab_shift", "Shifting the image through the network…",
                 image=self.lab.current_image(), max_shift=self.MAX_SHIFT)

    def show_result(self, result) -> None:
        self.clear()
        shifts = np.asarray(result["shifts"])
        layers = list(result["layers"])
        change = np.asarray(result["change"], dtype=float)
        error = np.asarray(result["equivariance_error"], dtype=float)
        change = change.reshape(len(layers), len(shifts)).T  # (layers, shifts) -> (shifts, layers)
        if error.ndim == 2:
            error = error.reshape(len(layers), len(shifts)).T
        for i, layer in enumerate(layers):
            colour = CLASS_COLORS[i % len(CLASS_COLORS)]
            self.curves.append(self.change_plot.plot(shifts, change[:, i], name=layer,
                                                     pen=pg.mkPen(colour, width=2)))
            if error.ndim == 2:
                self.curves.append(self.error_plot.plot(shifts, error[:, i], name=layer,
                                                        pen=pg.mkPen(colour, width=2)))
        if error.ndim == 1:
            self.curves.append(self.error_plot.plot(shifts, error, name="network",
                                                    pen=pg.mkPen("#D32F2F", width=2)))
        for plot in (self.change_plot, self.error_plot):
            line = pg.InfiniteLine(angle=90, movable=False,
                                   pen=pg.mkPen((128, 128, 128), style=Qt.PenStyle.DashLine))
            plot.addItem(line)
            self.markers.append(line)
        self.slider.setRange(int(shifts.min()), int(shifts.max()))
        self.select(self.slider.value())

    def select(self, shift: int) -> None:
        self.slider_label.setText(f"{shift} px")
        for line in self.markers:
            line.setValue(shift)
        image = self.lab.current_image()
        if image is None:
            return
        shifted = np.zeros_like(image)
        shifted[:, shift:] = image[:, : image.shape[1] - shift] if shift else image
        self.image_view.setPixmap(to_pixmap(display_image(shifted), 180))
        if self.result is None:
            return
        shifts = list(np.asarray(self.result["shifts"]).tolist())
        if shift not in shifts:
            return
        i = shifts.index(shift)
        probabilities = np.asarray(self.result["probabilities"])[i]
        predicted = int(np.asarray(self.result["predicted"])[i])
        names = self.lab.class_names
        name = names[predicted] if predicted < len(names) else str(predicted)
        self.prediction.setText(f"Shift {shift} px → predicts “{name}” "
                                f"(p = {float(probabilities[predicted]):.2f})")

    def clear(self) -> None:
        for plot in (self.change_plot, self.error_plot):
            plot.clear()
            if plot.plotItem.legend is not None:
                plot.plotItem.legend.clear()
        self.markers, self.curves = [], []
        self.prediction.setText("")
        self.image_view.clear()


# -- tab 8: embedding -------------------------------------------------------------------------

class EmbeddingTab(_WorkerTab):
    def __init__(self, lab):
        super().__init__(lab)
        self.hand = _plot("Hand-crafted features (2-D)", "", "")
        self.learned = _plot("Learned features (2-D)", "", "")
        for plot in (self.hand, self.learned):
            plot.setMinimumSize(260, 260)
        self.legend = self.learned.addLegend(offset=(-5, 5), labelTextColor="k",
                                             brush=pg.mkBrush(255, 255, 255, 200))
        body = QHBoxLayout()
        body.addWidget(self.hand, 1)
        body.addWidget(self.learned, 1)
        self.layout_.addLayout(body, 1)
        self.scatters: list[pg.ScatterPlotItem] = []

    def load(self) -> None:
        self.run("lab_embedding", "Embedding the test images…")

    def show_result(self, result) -> None:
        self.clear()
        labels = np.asarray(result["labels"]).astype(int)
        names = list(result.get("class_names") or self.lab.class_names)
        for plot, key in ((self.hand, "handcrafted"), (self.learned, "learned")):
            points = np.asarray(result[key])
            for c in np.unique(labels):
                mask = labels == c
                colour = CLASS_COLORS[int(c) % len(CLASS_COLORS)]
                name = names[c] if c < len(names) else str(c)
                scatter = pg.ScatterPlotItem(points[mask, 0], points[mask, 1], size=6,
                                             pen=None, brush=pg.mkBrush(colour),
                                             name=name if plot is self.learned else None)
                plot.addItem(scatter)
                self.scatters.append(scatter)
        self.learned.setTitle(f"Learned features ({result.get('layer', '')}, 2-D)",
                              color="k", size="10pt")
        self.status.setText(f"{len(labels)} test images; colour is the true class. Tighter, "
                            "separated clusters mean easier classification.")

    def point_count(self) -> int:
        return sum(len(s.data) for s in self.scatters)

    def clear(self) -> None:
        for plot in (self.hand, self.learned):
            plot.clear()
        self.legend.clear()
        self.scatters = []


# -- the lab ----------------------------------------------------------------------------------

class FeaturesLab(QWidget):
    """Eight tabs on one run; set_run() picks the run, handle_event() follows training."""

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

        self.title = QLabel(EMPTY_HINT)
        self.title.setWordWrap(True)
        self.image_combo = QComboBox()
        self.image_combo.setMinimumWidth(180)
        self.image_combo.setToolTip("The image the feature maps, Grad-CAM and shift tabs use")
        self.image_preview = QLabel()
        self.image_preview.setFixedSize(40, 40)
        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        header.addWidget(QLabel("Image"))
        header.addWidget(self.image_combo)
        self.open_image_button = QPushButton("Open image...")
        self.open_image_button.setToolTip("Use a picture of your own (resized to the network's input)")
        self.open_image_button.clicked.connect(self._open_image_dialog)
        header.addWidget(self.open_image_button)
        header.addWidget(self.image_preview)

        self.images_task = EngineTask(self, supersede="lab:images")
        self.images_task.finished.connect(self._images_loaded)
        self.images_task.failed.connect(self._images_failed)

        self.tabs = QTabWidget()
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
        self._set_images_enabled(False)

    # -- public ------------------------------------------------------------------------------
    def set_run(self, run_dir: str | None) -> None:
        run_dir = str(Path(run_dir)) if run_dir else None
        if run_dir == self.run_dir and not self.live:
            return
        self.run_dir, self.live, self._spec = run_dir, False, None
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
            self.title.setText(f"<b>{Path(run_dir).name}</b>")
            self.images_status = "Loading the run's test images…"
            self.images_task.start("lab_run_images", run_dir=run_dir, split="test", count=16)
        self._tab_shown(self.tabs.currentIndex())

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

    def _open_image_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open image", "",
                                              "Images (*.png *.jpg *.jpeg *.bmp *.gif)")
        if path:
            self.add_image_file(path)

    def spec(self):
        if self._spec is None and self.run_dir:
            from engine.training.runs import RunFolder
            self._spec = RunFolder(Path(self.run_dir)).spec()
        return self._spec

    # -- internals ---------------------------------------------------------------------------
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
            self.image_preview.setPixmap(to_pixmap(display_image(image), 40))

    def _tab_shown(self, index: int) -> None:
        page = self.pages[index] if 0 <= index < len(self.pages) else None
        if isinstance(page, _WorkerTab):
            page.ensure_loaded()
