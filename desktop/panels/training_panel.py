"""The training panel: choose a dataset and look at it, set the hyperparameters, start,
pause and stop a run, and follow its progress.

The GUI process never imports Keras. Datasets that need no Keras (digits, faces, shapes,
folder:PATH, npz:PATH) are loaded here for the preview, on a worker thread (digits needs
scikit-learn, ~0.7 s to import); keras.datasets names (mnist, ...) are previewed only by
their known class names and image size. The augmentation preview imitates the engine's
random shifts, rotations, zooms and flips with scipy.ndimage.

The panel only asks: Train emits `train_requested(TrainingConfig)`, Pause/Continue emit
`pause_requested()`/`continue_requested()`, Stop emits `stop_requested()`. Its owner runs
the engine and reports back with `set_state(...)` and `show_progress(event)`.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from PySide6.QtCore import QEvent, QLocale, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QDoubleValidator, QFontMetrics, QImage, QPainter, QPalette
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout,
                               QFrame, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QProgressBar,
                               QPushButton, QScrollArea, QSizePolicy, QSpinBox, QToolTip,
                               QVBoxLayout, QWidget)

from engine.dataset_preview import PREVIEW_COUNT, DatasetPreview, make_preview, sample_indices  # noqa: F401
from engine.datasets import BUILTIN_TITLES, FOLDER_PREFIX, KERAS_DATASETS, NPZ_PREFIX, list_datasets
from engine.errors import ProjectError
from engine.graph.edits import SetParams
from engine.graph.validate import ERROR, WARNING, output_node_id
from engine.training.config import (LOSSES, OPTIMIZERS, SCHEDULES, STRATEGIES, Augmentation,
                                    TrainingConfig)
from engine.training.progress import format_duration
from desktop.document import ProjectDocument
from desktop.panels.inspector import severity_color
from desktop.workers import Job, shared_engine

AUGMENTED_COUNT = 12       # the first preview images, randomly changed
TILE_SIDE = 48             # preview images are scaled to this many pixels
RELOAD_DELAY_MS = 350      # after a seed / fraction / max-samples edit, before reloading
STATES = ("idle", "starting", "training", "paused", "stopping")
FOLDER_ITEM, NPZ_ITEM = "\0folder", "\0npz"  # combo data of the two "choose a file" items
KERAS_PREVIEW_HINT = "Preview appears after the first download"

# keras.datasets image sizes (the preview never loads them: that would import Keras).
KERAS_IMAGE_SHAPES = {"mnist": (28, 28, 1), "fashion_mnist": (28, 28, 1), "cifar10": (32, 32, 3)}

OPTIMIZER_TITLES = {"adam": "Adam", "sgd": "SGD", "sgd_momentum": "SGD with momentum",
                    "rmsprop": "RMSprop"}
SCHEDULE_TITLES = {"constant": "Constant", "cosine": "Cosine decay to 0",
                   "step": "Halve every few epochs"}
LOSS_TITLES = {"crossentropy": "Cross-entropy", "mean_squared_error": "Mean squared error"}
STRATEGY_TITLES = {"default": "One device", "mirrored": "Mirrored (all GPUs)"}
MOMENTUM_OPTIMIZERS = ("sgd_momentum", "rmsprop")


def is_previewable(name: str) -> bool:
    """Whether the GUI may load this dataset itself: only when that needs no Keras."""
    return name in BUILTIN_TITLES or name.startswith((FOLDER_PREFIX, NPZ_PREFIX))


def shape_text(shape) -> str:
    return "x".join("?" if side is None else str(side) for side in shape)


def _warning_css(severity: str = WARNING) -> str:
    return f"color: {severity_color(severity).name()};"


# -- background loading ------------------------------------------------------------------------

# -- augmentation preview ------------------------------------------------------------------------

def augment_images(images: np.ndarray, augmentation: Augmentation,
                   rng: np.random.Generator) -> np.ndarray:
    """Random shifts, rotations, zooms and horizontal flips like the engine's Keras layers
    (RandomTranslation/Rotation/Zoom with fill_mode="constant", RandomFlip("horizontal")),
    done with scipy.ndimage for the preview. float32 (N, H, W, C) in, same shape out."""
    from scipy import ndimage

    out = np.empty_like(images)
    for index, image in enumerate(images):
        height, width = image.shape[:2]
        angle = rng.uniform(-augmentation.rotation, augmentation.rotation) * 2 * math.pi
        scale = 1.0 + rng.uniform(-augmentation.zoom, augmentation.zoom)  # > 1 zooms out
        shift = np.array([rng.uniform(-augmentation.translation, augmentation.translation) * height,
                          rng.uniform(-augmentation.translation, augmentation.translation) * width])
        cos, sin = math.cos(angle), math.sin(angle)
        matrix = scale * np.array([[cos, -sin], [sin, cos]])  # output -> input coordinates
        centre = np.array([(height - 1) / 2, (width - 1) / 2])
        offset = centre - matrix @ centre - shift
        for channel in range(image.shape[2]):
            out[index, :, :, channel] = ndimage.affine_transform(
                image[:, :, channel], matrix, offset=offset, order=1, mode="constant", cval=0.0)
        if augmentation.flip and rng.random() < 0.5:
            out[index] = out[index, :, ::-1, :]
    return np.clip(out, 0.0, 1.0, out=out)


def tile_image(image: np.ndarray, side: int = TILE_SIDE) -> QImage:
    """A float (H, W, 1 or 3) image in [0, 1] as a QImage scaled to `side` pixels: nearest
    neighbour when enlarging (pixels stay crisp), smooth when shrinking. QImage, not QPixmap:
    it may be freed on any thread (Python's garbage collector runs wherever it likes)."""
    pixels = np.ascontiguousarray(np.round(np.clip(image, 0, 1) * 255).astype(np.uint8))
    height, width, channels = pixels.shape
    if channels == 1:
        qimage = QImage(pixels.data, width, height, width, QImage.Format.Format_Grayscale8)
    else:
        pixels = np.ascontiguousarray(pixels[..., :3])
        qimage = QImage(pixels.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    mode = (Qt.TransformationMode.FastTransformation if max(height, width) <= side
            else Qt.TransformationMode.SmoothTransformation)
    # copy() first: the QImage above borrows the NumPy buffer, and scaled() returns the image
    # itself (still borrowing) when it already has the size.
    return qimage.copy().scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio, mode)


class ImageGrid(QWidget):
    """Small images with captions, as many per row as fit; the height follows the width."""

    CAPTION_GAP = 2
    SPACING = 6

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._tiles: list[tuple[QImage, str, str]] = []  # image, caption, tooltip
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(self._cell_size().width())
        self._fit_height()

    def set_tiles(self, tiles: list[tuple[QImage, str, str]]) -> None:
        self._tiles = list(tiles)
        self._fit_height()
        self.update()

    def count(self) -> int:
        return len(self._tiles)

    def captions(self) -> list[str]:
        return [caption for _, caption, _ in self._tiles]

    def _caption_height(self) -> int:
        return QFontMetrics(self._caption_font()).height()

    def _caption_font(self):
        font = self.font()
        font.setPointSizeF(max(6.0, font.pointSizeF() * 0.85))
        return font

    def _cell_size(self) -> QSize:
        return QSize(TILE_SIDE + 4, TILE_SIDE + self.CAPTION_GAP + self._caption_height())

    def _columns(self, width: int) -> int:
        cell = self._cell_size().width() + self.SPACING
        return max(1, (width + self.SPACING) // cell)

    def heightForWidth(self, width: int) -> int:
        if not self._tiles:
            return 0
        rows = math.ceil(len(self._tiles) / self._columns(width))
        return rows * (self._cell_size().height() + self.SPACING) - self.SPACING

    def hasHeightForWidth(self) -> bool:
        return True

    def sizeHint(self) -> QSize:
        width = 6 * (self._cell_size().width() + self.SPACING)
        return QSize(width, self.heightForWidth(width))

    def _fit_height(self) -> None:
        self.setFixedHeight(self.heightForWidth(max(self.width(), self.minimumWidth())))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if event.oldSize().width() != event.size().width():
            self._fit_height()

    def _cell_rect(self, index: int) -> QRect:
        columns = self._columns(self.width())
        cell = self._cell_size()
        row, column = divmod(index, columns)
        # Spread the columns over the whole width (at most half a cell of extra gap).
        spare = self.width() - columns * cell.width()
        gap = min(spare / max(1, columns - 1) if columns > 1 else 0,
                  self.SPACING + cell.width() // 2)
        left = max(0, (self.width() - columns * cell.width() - gap * (columns - 1)) / 2)
        return QRect(int(left + column * (cell.width() + gap)),
                     row * (cell.height() + self.SPACING), cell.width(), cell.height())

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        font = self._caption_font()
        painter.setFont(font)
        metrics = QFontMetrics(font)
        painter.setPen(self.palette().color(QPalette.ColorRole.WindowText))
        for index, (image, caption, _) in enumerate(self._tiles):
            rect = self._cell_rect(index)
            image_x = rect.x() + (rect.width() - image.width()) // 2
            image_y = rect.y() + (TILE_SIDE - image.height()) // 2
            painter.drawImage(image_x, image_y, image)
            text_rect = QRect(rect.x(), rect.y() + TILE_SIDE + self.CAPTION_GAP, rect.width(),
                              self._caption_height())
            text = metrics.elidedText(caption, Qt.TextElideMode.ElideRight, rect.width())
            painter.drawText(text_rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                             text)
        painter.end()

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            for index, (_, _, tooltip) in enumerate(self._tiles):
                if self._cell_rect(index).contains(event.pos()):
                    QToolTip.showText(event.globalPos(), tooltip, self)
                    return True
            QToolTip.hideText()
            event.ignore()
            return True
        return super().event(event)


# -- small helpers ----------------------------------------------------------------------------

class _NoWheelUnlessFocused:
    """Scrolling the form with the mouse wheel must not change a spin box or combo under the
    pointer (a subclass override, not an event filter: Python event filters on widgets that
    are being destroyed can crash PySide)."""

    def wheelEvent(self, event) -> None:
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()


class SpinBox(_NoWheelUnlessFocused, QSpinBox):
    pass


class DoubleSpinBox(_NoWheelUnlessFocused, QDoubleSpinBox):
    pass


class ComboBox(_NoWheelUnlessFocused, QComboBox):
    pass


def _wrapping_label(text: str = "", css: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    if css:
        label.setStyleSheet(css)
    return label


def _titled_combo(keys, titles: dict) -> QComboBox:
    combo = ComboBox()
    for key in keys:
        combo.addItem(titles.get(key, key), key)
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(8)
    return combo


def _select_data(combo: QComboBox, value) -> None:
    index = combo.findData(value)
    if index >= 0:
        combo.setCurrentIndex(index)


# -- the panel ----------------------------------------------------------------------------------

class TrainingPanel(QWidget):
    train_requested = Signal(object)   # the TrainingConfig
    pause_requested = Signal()
    continue_requested = Signal()
    stop_requested = Signal()
    dataset_changed = Signal(str)      # the dataset name, after the user (or set_dataset) picks one

    def __init__(self, document: ProjectDocument, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self._state = "idle"
        self._base_config = TrainingConfig()  # keeps the settings this form has no field for
        self._preview: DatasetPreview | None = None
        self._preview_key: tuple | None = None
        self._load_error = ""
        self._job: Job | None = None          # the preview being loaded (a thread job)
        self._job_key: tuple | None = None
        self._last_dataset_index = 0
        self._augment_seed = 0
        self._epochs = 0

        self._reload_timer = QTimer(self)
        self._reload_timer.setSingleShot(True)
        self._reload_timer.setInterval(RELOAD_DELAY_MS)
        self._reload_timer.timeout.connect(self._load_preview)

        content = QWidget()
        content_layout = QVBoxLayout(content)
        content_layout.setContentsMargins(8, 8, 8, 8)
        content_layout.addWidget(self._build_dataset_box())
        content_layout.addWidget(self._build_augmentation_box())
        content_layout.addWidget(self._build_settings_box())
        content_layout.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(content)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.scroll, 1)
        layout.addWidget(self._build_run_box())

        for widget in content.findChildren(QWidget):
            if isinstance(widget, _NoWheelUnlessFocused):
                widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        document.spec_changed.connect(self._document_changed)
        self._dataset_selected(self.dataset_combo.currentIndex(), load_now=False)
        # The first preview waits for the event loop: importing scikit-learn on the preview
        # thread holds the GIL and would delay the window's first paint by ~0.5 s.
        self._schedule_reload()
        self._form_changed()
        self.set_state("idle")

    # -- building ---------------------------------------------------------------------------------
    def _build_dataset_box(self) -> QGroupBox:
        box = QGroupBox("Dataset")
        layout = QVBoxLayout(box)
        self.dataset_combo = ComboBox()
        self.dataset_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.dataset_combo.setMinimumContentsLength(12)
        for entry in list_datasets():
            text = entry.title if entry.offline else f"{entry.title} (download needed)"
            self.dataset_combo.addItem(text, entry.name)
            self.dataset_combo.setItemData(self.dataset_combo.count() - 1, entry.description,
                                           Qt.ItemDataRole.ToolTipRole)
        self._named_count = self.dataset_combo.count()
        self.dataset_combo.insertSeparator(self.dataset_combo.count())
        self.dataset_combo.addItem("Image folder...", FOLDER_ITEM)
        self.dataset_combo.setItemData(self.dataset_combo.count() - 1,
                                       "A folder with one subfolder of images per class",
                                       Qt.ItemDataRole.ToolTipRole)
        self.dataset_combo.addItem(".npz file...", NPZ_ITEM)
        self.dataset_combo.setItemData(self.dataset_combo.count() - 1,
                                       "A NumPy .npz file with arrays x (images) and y (labels)",
                                       Qt.ItemDataRole.ToolTipRole)
        self.dataset_combo.currentIndexChanged.connect(self._dataset_selected)
        layout.addWidget(self.dataset_combo)

        self.description_label = _wrapping_label()
        self.description_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        layout.addWidget(self.description_label)
        self.load_label = _wrapping_label()  # "Loading...", the keras hint, or a red error
        layout.addWidget(self.load_label)
        self.summary_label = _wrapping_label()
        font = self.summary_label.font()
        font.setBold(True)
        self.summary_label.setFont(font)
        layout.addWidget(self.summary_label)

        # Does the network fit the data?
        self.mismatch_label = _wrapping_label(css=_warning_css())
        self.fix_button = QPushButton("Fix")
        self.fix_button.clicked.connect(self.fix_output_units)
        self.mismatch_row = QWidget()
        row = QHBoxLayout(self.mismatch_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.mismatch_label, 1)
        row.addWidget(self.fix_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.mismatch_row)
        self.shape_label = _wrapping_label()
        layout.addWidget(self.shape_label)

        self.preview_grid = ImageGrid()
        layout.addWidget(self.preview_grid)
        self.counts_label = _wrapping_label()
        self.counts_label.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.counts_label)
        return box

    def _build_augmentation_box(self) -> QGroupBox:
        box = QGroupBox("Augmentation")
        layout = QVBoxLayout(box)
        self.augment_check = QCheckBox("Random shifts, rotations and zooms")
        self.augment_check.setToolTip("Each epoch sees slightly moved, turned and scaled copies "
                                      "of the training images: less overfitting.")
        self.flip_check = QCheckBox("Random horizontal flips")
        self.flip_check.setToolTip("Not for digits or letters: mirrored, they change meaning.")
        layout.addWidget(self.augment_check)
        layout.addWidget(self.flip_check)
        self.augment_hint = _wrapping_label()
        self.augment_hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        layout.addWidget(self.augment_hint)
        self.augmented_grid = ImageGrid()
        layout.addWidget(self.augmented_grid)
        self.reroll_button = QPushButton("Show other random changes")
        self.reroll_button.clicked.connect(self._reroll_augmentation)
        layout.addWidget(self.reroll_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.augment_check.toggled.connect(self._augmentation_changed)
        self.flip_check.toggled.connect(self._augmentation_changed)
        return box

    def _build_settings_box(self) -> QGroupBox:
        box = self.settings_box = QGroupBox("Training settings")
        form = QFormLayout(box)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form = form

        self.epochs_spin = SpinBox()
        self.epochs_spin.setRange(1, 100_000)
        self.batch_spin = SpinBox()
        self.batch_spin.setRange(1, 65_536)
        self.optimizer_combo = _titled_combo(OPTIMIZERS, OPTIMIZER_TITLES)
        self.learning_rate_edit = QLineEdit()
        validator = QDoubleValidator(0.0, 10.0, 10, self.learning_rate_edit)
        validator.setNotation(QDoubleValidator.Notation.ScientificNotation)
        validator.setLocale(QLocale.c())  # "0.001" everywhere, parsed with float()
        self.learning_rate_edit.setValidator(validator)
        self.learning_rate_edit.setToolTip("Typical: 0.001 for Adam and RMSprop, 0.01 to 0.1 "
                                           "for SGD. 1e-3 works too.")
        self.momentum_spin = DoubleSpinBox()
        self.momentum_spin.setRange(0.0, 0.999)
        self.momentum_spin.setDecimals(3)
        self.momentum_spin.setSingleStep(0.05)
        self.schedule_combo = _titled_combo(SCHEDULES, SCHEDULE_TITLES)
        self.step_spin = SpinBox()
        self.step_spin.setRange(1, 100_000)
        self.step_spin.setPrefix("every ")
        self.step_spin.setSuffix(" epochs")
        self.loss_combo = _titled_combo(LOSSES, LOSS_TITLES)
        self.early_check = QCheckBox("Stop early when validation stalls")
        self.early_check.setToolTip("Stop when the validation loss has not improved for "
                                    "Patience epochs (early stopping).")
        self.patience_spin = SpinBox()
        self.patience_spin.setRange(1, 10_000)
        self.patience_spin.setSuffix(" epochs")
        self.patience_spin.setToolTip("Stop after this many epochs without a better "
                                      "validation loss.")
        self.validation_spin = DoubleSpinBox()
        self.validation_spin.setRange(0.01, 0.8)
        self.validation_spin.setDecimals(3)
        self.validation_spin.setSingleStep(0.05)
        self.validation_spin.setToolTip("The share of all images kept aside to check the "
                                        "network after each epoch.")
        self.seed_spin = SpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        self.seed_spin.setToolTip("The same seed gives the same split, shuffles and "
                                  "initial weights.")
        self.max_samples_spin = SpinBox()
        self.max_samples_spin.setRange(0, 100_000_000)
        self.max_samples_spin.setSingleStep(100)
        self.max_samples_spin.setSpecialValueText("All")
        self.max_samples_spin.setToolTip("Use only this many images (all splits together) for "
                                         "a quick experiment; All uses every image.")
        self.mixed_check = QCheckBox("Mixed precision (float16 on GPUs)")
        self.strategy_combo = _titled_combo(STRATEGIES, STRATEGY_TITLES)

        form.addRow("Epochs", self.epochs_spin)
        form.addRow("Batch size", self.batch_spin)
        form.addRow("Optimizer", self.optimizer_combo)
        form.addRow("Learning rate", self.learning_rate_edit)
        form.addRow("Momentum", self.momentum_spin)
        form.addRow("Schedule", self.schedule_combo)
        form.addRow("Halve", self.step_spin)
        form.addRow("Loss", self.loss_combo)
        form.addRow(self.early_check)
        form.addRow("Patience", self.patience_spin)
        form.addRow("Validation", self.validation_spin)
        form.addRow("Max images", self.max_samples_spin)
        form.addRow("Seed", self.seed_spin)
        form.addRow("Strategy", self.strategy_combo)
        form.addRow(self.mixed_check)

        self.set_config(self._base_config)
        for spin in (self.epochs_spin, self.batch_spin, self.patience_spin, self.step_spin,
                     self.momentum_spin):
            spin.valueChanged.connect(self._form_changed)
        for combo in (self.optimizer_combo, self.schedule_combo, self.loss_combo,
                      self.strategy_combo):
            combo.currentIndexChanged.connect(self._form_changed)
        for check in (self.early_check, self.mixed_check):
            check.toggled.connect(self._form_changed)
        self.learning_rate_edit.textChanged.connect(self._form_changed)
        for spin in (self.validation_spin, self.seed_spin, self.max_samples_spin):
            spin.valueChanged.connect(self._form_changed)
            spin.valueChanged.connect(self._schedule_reload)
        return box

    def _build_run_box(self) -> QWidget:
        box = QFrame()
        box.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(box)
        layout.setContentsMargins(8, 6, 8, 8)
        buttons = QHBoxLayout()
        self.train_button = QPushButton("Train")
        self.train_button.setDefault(True)
        self.pause_button = QPushButton("Pause")
        self.stop_button = QPushButton("Stop")
        for button in (self.train_button, self.pause_button, self.stop_button):
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            buttons.addWidget(button)
        self.train_button.clicked.connect(self._train_clicked)
        self.pause_button.clicked.connect(self._pause_clicked)
        self.stop_button.clicked.connect(self.stop_requested)
        layout.addLayout(buttons)
        self.config_error_label = _wrapping_label(css=_warning_css(ERROR))
        layout.addWidget(self.config_error_label)
        self.epoch_bar = QProgressBar()
        self.batch_bar = QProgressBar()
        for bar in (self.epoch_bar, self.batch_bar):
            bar.setRange(0, 1)
            bar.setValue(0)
            bar.setTextVisible(True)
            layout.addWidget(bar)
        self.epoch_bar.setFormat("Epochs")
        self.batch_bar.setFormat("Batches")
        self.progress_label = _wrapping_label("Not training")
        layout.addWidget(self.progress_label)
        return box

    # -- dataset choice ---------------------------------------------------------------------------
    def dataset_name(self) -> str:
        data = self.dataset_combo.currentData()
        return data if isinstance(data, str) and not data.startswith("\0") else ""

    def set_dataset(self, name: str) -> None:
        """Select a dataset by name; folder:/npz: paths and unknown names get their own item."""
        name = str(name).strip()
        index = self.dataset_combo.findData(name)
        if index < 0:
            index = self._add_custom_item(name)
        self.dataset_combo.setCurrentIndex(index)

    def _add_custom_item(self, name: str) -> int:
        if name.startswith(FOLDER_PREFIX):
            text = f"Folder: {name[len(FOLDER_PREFIX):]}"
        elif name.startswith(NPZ_PREFIX):
            text = f"File: {name[len(NPZ_PREFIX):]}"
        else:
            text = name
        index = self._named_count
        self.dataset_combo.insertItem(index, text, name)
        self.dataset_combo.setItemData(index, name, Qt.ItemDataRole.ToolTipRole)
        return index

    def choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(
            self, "Image folder: one subfolder of images per class")
        self._chosen(FOLDER_PREFIX, path)

    def choose_npz(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Dataset file (.npz with arrays x and y)",
                                              "", "NumPy archives (*.npz);;All files (*)")
        self._chosen(NPZ_PREFIX, path)

    def _chosen(self, prefix: str, path: str) -> None:
        if path:
            self.set_dataset(prefix + path)
        else:  # cancelled: back to what was chosen before
            self.dataset_combo.setCurrentIndex(self._last_dataset_index)

    def _dataset_selected(self, index: int, load_now: bool = True) -> None:
        data = self.dataset_combo.itemData(index)
        if data in (FOLDER_ITEM, NPZ_ITEM):
            # Answer the pick after the popup has closed, then open the file dialog.
            QTimer.singleShot(0, self.choose_folder if data == FOLDER_ITEM else self.choose_npz)
            return
        self._last_dataset_index = index
        name = self.dataset_name()
        self.dataset_combo.setToolTip(self.dataset_combo.itemData(index, Qt.ItemDataRole.ToolTipRole)
                                      or name)
        description = next((entry.description for entry in list_datasets()
                            if entry.name == name), "")
        self.description_label.setText(description)
        self.description_label.setVisible(bool(description))
        self._reload_timer.stop()
        if load_now:
            self._load_preview()
        self._form_changed()
        self.dataset_changed.emit(name)

    # -- preview loading --------------------------------------------------------------------------
    def _load_options(self) -> dict:
        max_samples = self.max_samples_spin.value() or None
        return {"seed": self.seed_spin.value(),
                "validation_fraction": round(self.validation_spin.value(), 6),
                "test_fraction": self._base_config.test_fraction, "max_samples": max_samples}

    def _schedule_reload(self) -> None:
        if is_previewable(self.dataset_name()):
            self._reload_timer.start()

    def _load_preview(self) -> None:
        name = self.dataset_name()
        options = self._load_options()
        key = (name, tuple(sorted(options.items())))
        if not is_previewable(name):
            self._forget_load()
            self._preview, self._preview_key, self._load_error = None, None, ""
            self._show_preview()
            return
        if key == self._preview_key or key == self._job_key:
            return
        self._forget_load()
        self._job_key = key
        self._job = shared_engine().start(
            "dataset_preview", {"name": name, "options": options},
            on_done=lambda preview: self._loaded(key, preview, ""),
            on_error=lambda failure: self._loaded(key, None, failure.message), owner=self)
        self._show_preview()

    def _forget_load(self) -> None:
        if self._job is not None:
            self._job.cancel()  # if it has not started; otherwise its answer is dropped
        self._job, self._job_key = None, None

    def is_loading(self) -> bool:
        return self._job is not None

    def _loaded(self, key: tuple, preview: DatasetPreview | None, error: str) -> None:
        self._job, self._job_key = None, None
        self._preview, self._preview_key, self._load_error = preview, key, error
        self._show_preview()

    def wait_for_preview(self, timeout: float = 30.0) -> None:
        """Block until the background load (if any) has finished and is shown (for tests and
        screenshots); a load still waiting for its timer starts now."""
        if self._reload_timer.isActive():
            self._reload_timer.stop()
            self._load_preview()
        if self._job is not None:
            self._job.wait(timeout)

    @property
    def preview(self) -> DatasetPreview | None:
        return self._preview

    def _show_preview(self) -> None:
        name = self.dataset_name()
        preview = self._preview
        self.load_label.setStyleSheet("")
        if self._job is not None:
            self.load_label.setText("Loading a preview...")
        elif self._load_error:
            self.load_label.setText(self._load_error)
            self.load_label.setStyleSheet(_warning_css(ERROR))
        elif name in KERAS_DATASETS:
            cached = any(entry.name == name and entry.offline for entry in list_datasets())
            self.load_label.setText(
                "Downloaded. No preview here: reading Keras datasets needs Keras, which only "
                "the training process loads." if cached else
                f"{KERAS_PREVIEW_HINT}: the first training run downloads it.")
            self.load_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        else:
            self.load_label.setText("")
        self.load_label.setVisible(bool(self.load_label.text()))

        if preview is not None:
            sizes = preview.sizes
            classes = preview.num_classes
            self.summary_label.setText(
                f"{classes} classes · {sizes['train']:,} train / {sizes['validation']:,} val / "
                f"{sizes['test']:,} test")
            names = preview.class_names
            tiles = [(tile_image(image), names[label], f"{names[label]} (class {label})")
                     for image, label in zip(preview.images, preview.labels)]
            self.preview_grid.set_tiles(tiles)
            counts = " · ".join(f"{_escape(name)}&nbsp;<b>{count:,}</b>"
                                for name, count in preview.class_counts.items())
            self.counts_label.setText(f"Images per class: {counts}")
        elif name in KERAS_DATASETS:
            spec = KERAS_DATASETS[name]
            self.summary_label.setText(f"{len(spec.class_names)} classes")
            self.preview_grid.set_tiles([])
            self.counts_label.setText("Classes: " + ", ".join(_escape(c) for c in spec.class_names))
        else:
            self.summary_label.setText("")
            self.preview_grid.set_tiles([])
            self.counts_label.setText("")
        for label in (self.summary_label, self.counts_label):
            label.setVisible(bool(label.text()))
        self.preview_grid.setVisible(self.preview_grid.count() > 0)
        self._update_compatibility()
        self._update_augmented()

    # -- does the network fit the data? ---------------------------------------------------------
    def dataset_classes(self) -> int | None:
        """How many classes the chosen dataset has, when known without Keras."""
        if self._preview is not None:
            return self._preview.num_classes
        name = self.dataset_name()
        return len(KERAS_DATASETS[name].class_names) if name in KERAS_DATASETS else None

    def dataset_image_shape(self) -> tuple | None:
        if self._preview is not None:
            return self._preview.input_shape
        return KERAS_IMAGE_SHAPES.get(self.dataset_name())

    def _output(self):
        """(output node, its output shape) or (None, None)."""
        spec = self.document.spec
        try:
            output_id = output_node_id(spec, self.document.info)
        except Exception:  # noqa: BLE001 - a half-built graph: nothing to compare yet
            return None, None
        if output_id is None:
            return None, None
        info = self.document.info.nodes.get(output_id)
        return spec.node(output_id), (info.output_shape if info else None)

    def mismatch_text(self) -> str:
        return self.mismatch_label.text() if self.mismatch_row.isVisibleTo(self) else ""

    def _update_compatibility(self) -> None:
        classes = self.dataset_classes()
        node, shape = self._output()
        message, fixable = "", False
        dataset = self.dataset_name()
        if classes is not None and node is not None and shape is not None:
            if len(shape) != 1:
                message = (f"Output {node.name} gives {shape_text(shape)}, not one score per class: "
                           f"end the network with a Dense layer of {classes} units (after "
                           "Flatten or global pooling).")
            elif shape[-1] != classes:
                fixable = node.type == "Dense"
                message = f"Output {node.name} has {shape[-1]} units but {dataset} has {classes} classes"
                if fixable:
                    message += f"; Fix sets its units to {classes}."
                else:
                    message += (f". {node.name} is a {node.type} block: change the layers before it "
                                f"so it gives {classes} values.")
        self.mismatch_label.setText(message)
        self.fix_button.setVisible(fixable)
        self.fix_button.setToolTip(f"Set units of {node.name} to {classes}" if fixable else "")
        self.mismatch_row.setVisible(bool(message))
        self.shape_label.setText(self._shape_note())
        self.shape_label.setVisible(bool(self.shape_label.text()))

    def _shape_note(self) -> str:
        data_shape = self.dataset_image_shape()
        inputs = [node for node in self.document.spec.nodes if node.type == "InputLayer"]
        if data_shape is None or len(inputs) != 1:
            return ""
        want = tuple(inputs[0].params.get("shape") or ())
        if len(want) != 3:
            return ""
        height, width, channels = data_shape
        target = (want[0] or height, want[1] or width, want[2] or channels)
        resize = target[:2] != (height, width)
        if target[2] != channels and {target[2], channels} != {1, 3}:
            self.shape_label.setStyleSheet(_warning_css(ERROR))
            return (f"Images have {channels} channel{'s' if channels != 1 else ''} but the input "
                    f"takes {target[2]}: set the Input block's channels to {channels}.")
        self.shape_label.setStyleSheet("")
        have = shape_text(data_shape)
        if target[2] != channels:
            convert = "converted to RGB" if target[2] == 3 else "converted to grayscale"
            if resize:
                return f"Images are {have}; they will be resized and {convert}: {shape_text(target)}."
            return f"Images are {have}; they will be {convert} ({shape_text(target)})."
        if resize:
            return f"Images are {have}; they will be resized to {shape_text(target)}."
        return f"Images are {have}, the size the input takes."

    def fix_output_units(self) -> bool:
        """Set the Dense output's units to the dataset's class count (one undo step)."""
        classes = self.dataset_classes()
        node, shape = self._output()
        if classes is None or node is None or node.type != "Dense":
            return False
        return self.document.apply(SetParams(node.id, {"units": classes}),
                                   f"Set {node.name} units to {classes}")

    # -- augmentation -----------------------------------------------------------------------------
    def augmentation(self) -> Augmentation:
        if self.augment_check.isChecked():
            base = self._base_config.augmentation
            moves = base if (base.translation or base.rotation or base.zoom) else \
                Augmentation.default_on()
            return Augmentation(moves.translation, moves.rotation, moves.zoom,
                                self.flip_check.isChecked())
        return Augmentation(flip=self.flip_check.isChecked())

    def _augmentation_changed(self) -> None:
        self._form_changed()
        self._update_augmented()

    def _reroll_augmentation(self) -> None:
        self._augment_seed += 1
        self._update_augmented()

    def _update_augmented(self) -> None:
        augmentation = self.augmentation()
        preview = self._preview
        hint = ""
        tiles = []
        if not augmentation.enabled:
            hint = "Off: the network sees the images exactly as they are."
        elif preview is None:
            hint = ("The augmented images appear here once the dataset is loaded."
                    if is_previewable(self.dataset_name()) else
                    "No preview of the changes for this dataset.")
        else:
            hint = "The first images as the network may see them in one epoch:"
            rng = np.random.default_rng(self._augment_seed)
            augmented = augment_images(preview.images[:AUGMENTED_COUNT], augmentation, rng)
            names = preview.class_names
            tiles = [(tile_image(image), names[label], f"{names[label]}, randomly changed")
                     for image, label in zip(augmented, preview.labels)]
        self.augment_hint.setText(hint)
        self.augmented_grid.set_tiles(tiles)
        self.augmented_grid.setVisible(bool(tiles))
        self.reroll_button.setVisible(bool(tiles))

    # -- hyperparameters ---------------------------------------------------------------------------
    def set_config(self, config: TrainingConfig) -> None:
        """Show a config in the form (its dataset too); settings without a field are kept."""
        self._base_config = config
        self.epochs_spin.setValue(config.epochs)
        self.batch_spin.setValue(config.batch_size)
        _select_data(self.optimizer_combo, config.optimizer)
        self.learning_rate_edit.setText(f"{config.learning_rate:g}")
        self.momentum_spin.setValue(config.momentum)
        _select_data(self.schedule_combo, config.schedule)
        self.step_spin.setValue(config.step_epochs)
        _select_data(self.loss_combo, config.loss)
        self.early_check.setChecked(config.early_stopping)
        self.patience_spin.setValue(config.patience)
        self.validation_spin.setValue(config.validation_fraction)
        self.seed_spin.setValue(config.seed)
        self.max_samples_spin.setValue(config.max_samples or 0)
        self.mixed_check.setChecked(config.mixed_precision)
        _select_data(self.strategy_combo, config.strategy)
        augmentation = config.augmentation
        self.augment_check.setChecked(bool(augmentation.translation or augmentation.rotation
                                           or augmentation.zoom))
        self.flip_check.setChecked(augmentation.flip)
        if hasattr(self, "dataset_combo") and config.dataset != self.dataset_name():
            self.set_dataset(config.dataset)

    def _form_values(self) -> dict:
        try:
            learning_rate = float(self.learning_rate_edit.text().strip())
        except ValueError:
            raise ProjectError("Training settings: the learning rate must be a number such as "
                               "0.001 (or 1e-3).") from None
        if not math.isfinite(learning_rate):
            raise ProjectError("Training settings: the learning rate must be a finite number.")
        if not self.dataset_name():
            raise ProjectError("Choose a dataset.")
        return {
            "dataset": self.dataset_name(), "epochs": self.epochs_spin.value(),
            "batch_size": self.batch_spin.value(), "optimizer": self.optimizer_combo.currentData(),
            "learning_rate": learning_rate, "momentum": round(self.momentum_spin.value(), 6),
            "schedule": self.schedule_combo.currentData(), "step_epochs": self.step_spin.value(),
            "loss": self.loss_combo.currentData(), "early_stopping": self.early_check.isChecked(),
            "patience": self.patience_spin.value(),
            "validation_fraction": round(self.validation_spin.value(), 6),
            "max_samples": self.max_samples_spin.value() or None, "seed": self.seed_spin.value(),
            "mixed_precision": self.mixed_check.isChecked(),
            "strategy": self.strategy_combo.currentData(), "augmentation": self.augmentation(),
        }

    def config_problem(self) -> str:
        """Why the form is not a valid TrainingConfig ("" when it is)."""
        try:
            replace(self._base_config, **self._form_values())
        except ProjectError as error:
            return str(error)
        return ""

    def config(self) -> TrainingConfig | None:
        """The form as a TrainingConfig; None (with the reason shown in red) when invalid."""
        try:
            config = replace(self._base_config, **self._form_values())
        except ProjectError as error:
            self._show_config_problem(str(error))
            return None
        self._show_config_problem("")
        return config

    def _show_config_problem(self, text: str) -> None:
        self.config_error_label.setText(text)
        self.config_error_label.setVisible(bool(text))

    def _form_changed(self) -> None:
        if not hasattr(self, "train_button"):
            return  # still building
        optimizer = self.optimizer_combo.currentData()
        self.form.setRowVisible(self.momentum_spin, optimizer in MOMENTUM_OPTIMIZERS)
        self.form.setRowVisible(self.step_spin, self.schedule_combo.currentData() == "step")
        self.form.setRowVisible(self.patience_spin, self.early_check.isChecked())
        self._show_config_problem(self.config_problem())
        self._update_buttons()

    # -- run control -------------------------------------------------------------------------------
    @property
    def state(self) -> str:
        return self._state

    def set_state(self, state: str) -> None:
        """idle | starting | training | paused | stopping: what the buttons allow."""
        if state not in STATES:
            raise ValueError(f"Unknown training state {state!r}; expected one of {', '.join(STATES)}.")
        self._state = state
        idle = state == "idle"
        self.settings_box.setEnabled(idle)
        self.dataset_combo.setEnabled(idle)
        self.augment_check.setEnabled(idle)
        self.flip_check.setEnabled(idle)
        self.fix_button.setEnabled(idle)
        self.pause_button.setText("Continue" if state == "paused" else "Pause")
        self.pause_button.setEnabled(state in ("training", "paused"))
        self.stop_button.setEnabled(state in ("starting", "training", "paused"))
        self.pause_button.setToolTip("Continue training" if state == "paused" else
                                     "Pause after the current batch")
        self.stop_button.setToolTip("Stop after the current batch; the completed epochs are "
                                    "kept and the run can be resumed")
        self._update_buttons()

    def train_blocker(self) -> str:
        """Why Train is disabled ("" when it is not)."""
        if self._state != "idle":
            return "A run is in progress."
        errors = [d for d in self.document.diagnostics if d.severity == ERROR]
        if errors:
            count = len(errors)  # the messages name their block already
            return (f"Fix the {count} problem{'s' if count != 1 else ''} first: "
                    f"{errors[0].message}")
        problem = self.config_problem()
        if problem:
            return problem
        return ""

    def _update_buttons(self) -> None:
        if not hasattr(self, "train_button"):
            return
        blocker = self.train_blocker()
        self.train_button.setEnabled(not blocker)
        self.train_button.setToolTip(blocker or f"Train {self.document.title} on "
                                     f"{self.dataset_name()}")

    def _document_changed(self) -> None:
        self._update_compatibility()
        self._update_buttons()

    def _train_clicked(self) -> None:
        config = self.config()
        if config is not None and not self.train_blocker():
            self.train_requested.emit(config)

    def _pause_clicked(self) -> None:
        if self._state == "paused":
            self.continue_requested.emit()
        elif self._state == "training":
            self.pause_requested.emit()

    # -- progress ---------------------------------------------------------------------------------
    def show_progress(self, event: dict) -> None:
        """Follow a training event: started, batch_ended, epoch_ended (others: the outcome)."""
        kind = event.get("type")
        if kind == "started":
            self._epochs = int(event.get("epochs") or 0)
            self._devices = ", ".join(event.get("devices") or []) or "?"
            self._samples_per_second = None
            self._eta = None
            self.epoch_bar.setRange(0, max(1, self._epochs))
            self.epoch_bar.setValue(int(event.get("initial_epoch") or 0))
            self.epoch_bar.setFormat("Epoch %v of %m")
            self.batch_bar.setRange(0, max(1, int(event.get("steps_per_epoch") or 1)))
            self.batch_bar.setValue(0)
            self.batch_bar.setFormat("Batch %v of %m")
        elif kind == "batch_ended":
            self.batch_bar.setRange(0, max(1, int(event.get("batches") or 1)))
            self.batch_bar.setValue(int(event.get("batch") or 0))
            self.epoch_bar.setValue(max(0, int(event.get("epoch") or 1) - 1))
            self._samples_per_second = event.get("samples_per_second")
        elif kind == "epoch_ended":
            self._epochs = int(event.get("epochs") or self._epochs)
            self.epoch_bar.setRange(0, max(1, self._epochs))
            self.epoch_bar.setValue(int(event.get("epoch") or 0))
            self.batch_bar.setValue(self.batch_bar.maximum())
            self._eta = event.get("eta")
            if event.get("samples_per_second"):
                self._samples_per_second = event["samples_per_second"]
        elif kind == "finished":
            self.epoch_bar.setValue(self.epoch_bar.maximum())
            accuracy = event.get("test_accuracy")
            self.progress_label.setText("Finished" + (f": test accuracy {100 * accuracy:.2f}%"
                                                      if accuracy is not None else "."))
            return
        elif kind in ("stopped", "failed"):
            self.progress_label.setText(str(event.get("message") or kind.capitalize()))
            return
        else:
            return
        parts = [f"ETA {format_duration(self._eta)}" if self._eta is not None else "ETA ...",
                 f"{self._samples_per_second:,.0f} samples/s" if self._samples_per_second
                 else "... samples/s",
                 getattr(self, "_devices", "?")]
        self.progress_label.setText(" · ".join(parts))

    def reset_progress(self) -> None:
        for bar, text in ((self.epoch_bar, "Epochs"), (self.batch_bar, "Batches")):
            bar.setRange(0, 1)
            bar.setValue(0)
            bar.setFormat(text)
        self.progress_label.setText("Not training")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
