"""The Train panel's dataset box: choose a dataset, look at a sample of it, and see whether
the network fits it (the check itself is engine.training.compatibility's).

Datasets that need no Keras (digits, faces, shapes, folder:PATH, npz:PATH) are loaded for the
preview by a Keras-free engine job on a thread of this process (digits needs scikit-learn,
~0.7 s to import); keras.datasets names (mnist, ...) are previewed only by their known class
names and image size."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (QComboBox, QFileDialog, QGroupBox, QHBoxLayout, QLabel, QPushButton,
                               QVBoxLayout, QWidget)

from engine.blocks.catalog import BLOCKS_BY_TYPE
from engine.dataset_preview import DatasetPreview
from engine.datasets import BUILTIN_TITLES, FOLDER_PREFIX, KERAS_DATASETS, NPZ_PREFIX, list_datasets
from engine.graph.edits import SetParams
from engine.graph.validate import ERROR
from engine.training.compatibility import input_note, output_mismatch
from desktop.document import ProjectDocument
from desktop.formatting import count
from desktop.panels.training_widgets import ImageGrid, tile_image, warning_css, wrapping_label
from desktop.widgets import ComboBox
from desktop.workers import Job, shared_engine

RELOAD_DELAY_MS = 350      # after a seed / fraction / max-samples edit, before reloading
PREVIEW_ROWS = 2           # rows of preview tiles drawn (the rest are kept, not drawn)
FOLDER_ITEM, NPZ_ITEM = "\0folder", "\0npz"  # combo data of the two "choose a file" items
KERAS_PREVIEW_HINT = "Preview appears after the first download"

# keras.datasets image sizes (the preview never loads them: that would import Keras).
KERAS_IMAGE_SHAPES = {"mnist": (28, 28, 1), "fashion_mnist": (28, 28, 1), "cifar10": (32, 32, 3)}


def is_previewable(name: str) -> bool:
    """Whether the GUI may load this dataset itself: only when that needs no Keras."""
    return name in BUILTIN_TITLES or name.startswith((FOLDER_PREFIX, NPZ_PREFIX))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class DatasetBox(QGroupBox):
    """`load_options()` gives the split settings (seed, fractions, max samples) to load with."""

    dataset_changed = Signal(str)   # the dataset name, after the user (or set_dataset) picks one
    preview_changed = Signal()      # a preview (or none) is shown; the network check is redone

    def __init__(self, document: ProjectDocument, load_options, parent: QWidget | None = None):
        super().__init__("Dataset", parent)
        self.document = document
        self._load_options = load_options
        self._preview: DatasetPreview | None = None
        self._preview_key: tuple | None = None
        self._load_error = ""
        self._job: Job | None = None          # the preview being loaded (a thread job)
        self._job_key: tuple | None = None
        self._last_dataset_index = 0
        self._reload_timer = QTimer(self)
        self._reload_timer.setSingleShot(True)
        self._reload_timer.setInterval(RELOAD_DELAY_MS)
        self._reload_timer.timeout.connect(self.load_preview)
        self._build()
        document.spec_changed.connect(self.update_compatibility)
        self._dataset_selected(self.dataset_combo.currentIndex(), load_now=False)

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 6)
        layout.setSpacing(4)
        self.dataset_combo = ComboBox()
        self.dataset_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.dataset_combo.setMinimumContentsLength(12)
        for entry in list_datasets():
            text = entry.title if entry.offline else f"{entry.title} (download needed)"
            self._add_item(text, entry.name, entry.description)
        self._named_count = self.dataset_combo.count()
        self.dataset_combo.insertSeparator(self.dataset_combo.count())
        self._add_item("Image folder...", FOLDER_ITEM, "A folder with one subfolder of images per class")
        self._add_item(".npz file...", NPZ_ITEM, "A NumPy .npz file with arrays x (images) and y (labels)")
        self.dataset_combo.currentIndexChanged.connect(self._dataset_selected)
        self.summary_label = QLabel()  # short: "10 classes · 1,257 train / 270 val / 270 test"
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.summary_label.font()
        font.setBold(True)
        self.summary_label.setFont(font)
        top = QHBoxLayout()
        top.addWidget(self.dataset_combo, 1)
        top.addWidget(self.summary_label)
        layout.addLayout(top)

        self.description_label = wrapping_label()
        self.description_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.load_label = wrapping_label()  # "Loading...", the keras hint, or a red error
        self.mismatch_label = wrapping_label(css=warning_css())
        self.fix_button = QPushButton("Fix")
        self.fix_button.clicked.connect(self.fix_output_units)
        self.mismatch_row = QWidget()
        row = QHBoxLayout(self.mismatch_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.mismatch_label, 1)
        row.addWidget(self.fix_button, 0, Qt.AlignmentFlag.AlignTop)
        self.shape_label = wrapping_label()
        self.preview_grid = ImageGrid(max_rows=PREVIEW_ROWS)
        self.counts_label = wrapping_label()
        self.counts_label.setTextFormat(Qt.TextFormat.RichText)
        self.counts_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        for widget in (self.description_label, self.load_label, self.mismatch_row,
                       self.shape_label, self.preview_grid, self.counts_label):
            layout.addWidget(widget)

    def _add_item(self, text: str, data: str, tooltip: str) -> None:
        self.dataset_combo.addItem(text, data)
        self.dataset_combo.setItemData(self.dataset_combo.count() - 1, tooltip,
                                       Qt.ItemDataRole.ToolTipRole)

    def set_editable(self, editable: bool) -> None:
        self.dataset_combo.setEnabled(editable)
        self.fix_button.setEnabled(editable)

    # -- choosing ---------------------------------------------------------------------------------
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
            self.load_preview()
        self.dataset_changed.emit(name)

    # -- loading the preview ------------------------------------------------------------------------
    def schedule_reload(self) -> None:
        if is_previewable(self.dataset_name()):
            self._reload_timer.start()

    def load_preview(self) -> None:
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
            self.load_preview()
        if self._job is not None:
            self._job.wait(timeout)

    @property
    def preview(self) -> DatasetPreview | None:
        return self._preview

    def _show_preview(self) -> None:
        self._show_load_state()
        name, preview = self.dataset_name(), self._preview
        if preview is not None:
            sizes = preview.sizes
            self.summary_label.setText(
                f"{preview.num_classes} classes · {count(sizes['train'])} train / "
                f"{count(sizes['validation'])} val / {count(sizes['test'])} test")
            names = preview.class_names
            self.preview_grid.set_tiles([(tile_image(image), names[label], f"{names[label]} (class {label})")
                                         for image, label in zip(preview.images, preview.labels)])
            counts = " · ".join(f"{_escape(name)}&nbsp;<b>{count(number)}</b>"
                                for name, number in preview.class_counts.items())
            self.counts_label.setText(f"Images per class: {counts}")
        elif name in KERAS_DATASETS:
            class_names = KERAS_DATASETS[name].class_names
            self.summary_label.setText(f"{len(class_names)} classes")
            self.preview_grid.set_tiles([])
            self.counts_label.setText("Classes: " + ", ".join(_escape(c) for c in class_names))
        else:
            self.summary_label.setText("")
            self.preview_grid.set_tiles([])
            self.counts_label.setText("")
        self.counts_label.setVisible(bool(self.counts_label.text()))
        self.preview_grid.setVisible(self.preview_grid.count() > 0)
        self.update_compatibility()
        self.preview_changed.emit()

    def _show_load_state(self) -> None:
        name = self.dataset_name()
        self.load_label.setStyleSheet("")
        self.load_label.setForegroundRole(QPalette.ColorRole.WindowText)
        if self._job is not None:
            self.load_label.setText("Loading a preview...")
        elif self._load_error:
            self.load_label.setText(self._load_error)
            self.load_label.setStyleSheet(warning_css(ERROR))
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

    def mismatch_text(self) -> str:
        return self.mismatch_label.text() if self.mismatch_row.isVisibleTo(self) else ""

    def update_compatibility(self) -> None:
        classes = self.dataset_classes()
        mismatch = (None if classes is None else
                    output_mismatch(self.document.spec, classes, self.dataset_name(),
                                    self.document.info))
        fixable = mismatch is not None and mismatch.fixable
        self.mismatch_label.setText(mismatch.message if mismatch else "")
        self.fix_button.setVisible(fixable)
        self.fix_button.setToolTip(f"Set units of {mismatch.node_name} to {classes} (one undo "
                                   "step)" if fixable else "")
        self.mismatch_row.setVisible(mismatch is not None)
        note = input_note(self.document.spec, self.dataset_image_shape())
        self.shape_label.setText(note.message if note else "")
        self.shape_label.setStyleSheet(warning_css(ERROR) if note and note.severity == ERROR else "")
        self.shape_label.setVisible(note is not None)

    def fix_output_units(self) -> bool:
        """Set the Dense output's units to the dataset's class count (one undo step)."""
        classes = self.dataset_classes()
        mismatch = (None if classes is None else
                    output_mismatch(self.document.spec, classes, self.dataset_name(),
                                    self.document.info))
        if mismatch is None or not mismatch.fixable:
            return False
        return self.document.apply(SetParams(mismatch.node_id, {BLOCKS_BY_TYPE[mismatch.node_type].width_param: classes}),
                                   f"Set {mismatch.node_name} units to {classes}")
