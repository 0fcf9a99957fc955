"""The inspector: the selected block's settings, generated from its catalogue ParamSpecs,
and what the engine's live analysis says about it (shape, weights, MACs, receptive field).

Every committed change is one `SetParams` edit (one undo step). When the document changes
(an edit here, undo, a fix elsewhere) the shown values are refreshed in place, with the
editors' signals blocked, so refreshing never produces another edit.
"""

from __future__ import annotations

import html
from abc import ABC, abstractmethod

from typing import Any, Callable

from PySide6.QtCore import QLocale, Qt, QTimer
from PySide6.QtGui import QColor, QDoubleValidator, QPalette
from PySide6.QtWidgets import (QCheckBox, QFormLayout, QFrame, QGridLayout,
                               QHBoxLayout, QLabel, QLineEdit, QPushButton, QScrollArea,
                               QSizePolicy, QSpinBox, QVBoxLayout, QWidget)

from engine.blocks.catalog import BLOCKS_BY_TYPE, BlockType, format_shape
from engine.blocks.params import MAX_SIZE, ParamSpec
from engine.graph.edits import CompositeEdit, RenameNode, SetParams
from engine.graph.shapes import NodeInfo
from engine.graph.spec import NodeSpec
from engine.graph.validate import ERROR, Diagnostic
from desktop.document import ProjectDocument
from desktop.formatting import MISSING, compact, count, plural
from desktop.widgets import ComboBox, SpinBox
from desktop.panels.palette import block_icon
from desktop.style import ERROR_COLOR, WARNING_COLOR, is_dark_theme

Commit = Callable[[Any], None]  # called with the new canonical value of one parameter

EMPTY_HINT = ("Select a block to see and change its settings. Right-click a block, a "
              "connection or the canvas for more.")


# -- small widget helpers ------------------------------------------------------------------------

def _spin(minimum: float | None, maximum: float | None) -> QSpinBox:
    spin = SpinBox()
    spin.setRange(int(minimum) if minimum is not None else 0,
                  int(maximum) if maximum is not None else MAX_SIZE)
    # valueChanged only on Enter / focus loss / arrows: typing "128" is one edit, not three.
    spin.setKeyboardTracking(False)
    spin.setAccelerated(True)
    spin.setMinimumWidth(64)
    spin.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    return spin


def _show_int(spin: QSpinBox, value: int) -> None:
    """Show a value even if it is out of the editor's bounds (validate() reports it)."""
    if value < spin.minimum():
        spin.setMinimum(value)
    if value > spin.maximum():
        spin.setMaximum(value)
    spin.setValue(value)


def _float_edit() -> QLineEdit:
    edit = QLineEdit()
    validator = QDoubleValidator(edit)
    validator.setNotation(QDoubleValidator.Notation.ScientificNotation)
    validator.setLocale(QLocale.c())  # "0.001" everywhere, matching Python's float()
    edit.setValidator(validator)
    return edit


def _float_text(value: float) -> str:
    # The shortest text that reads back as the same number: a rounded one (1/255 as
    # 0.00392157) would be committed as a change when the editor loses focus.
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _parse_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _muted(label: QLabel, smaller: bool = True) -> QLabel:
    """Secondary text in the palette's muted colour: a role, not a fixed colour, so it follows
    a switch between light and dark."""
    label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
    if smaller:
        font = label.font()
        font.setPointSizeF(font.pointSizeF() * 0.9)
        label.setFont(font)
    return label


def _wrapped(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _heading(text: str) -> QLabel:
    label = QLabel(text)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    return label


def severity_color(severity: str) -> QColor:
    if severity == ERROR:
        return QColor(ERROR_COLOR)
    amber = QColor(WARNING_COLOR)
    return amber if is_dark_theme() else amber.darker(140)  # plain amber is faint on white


def _row(*widgets: QWidget) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(4)
    for widget in widgets:
        layout.addWidget(widget)
    return row


def _small_label(text: str) -> QLabel:
    label = QLabel(text)
    label.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
    return label


# -- one editor per parameter kind --------------------------------------------------------------

class ParamField(ABC):
    """The editor of one parameter. Subclasses build `widget` and call `self.commit(value)`
    with a canonical value when the user commits a change."""

    def __init__(self, spec: ParamSpec, commit: Commit):
        self.spec = spec
        self.commit = commit
        self.widget = self._build()
        self.widget.setToolTip(spec.help)

    @abstractmethod
    def _build(self) -> QWidget:
        """The editor widget for this kind of parameter."""

    @abstractmethod
    def set_value(self, value: Any, params: dict) -> None:
        """Show `value` (signals blocked by the caller); `params` gives context (pool size)."""

    def editors(self) -> list[QWidget]:
        """The focusable editors, for blocking signals while refreshing."""
        return [self.widget]


class IntField(ParamField):
    def _build(self) -> QWidget:
        self.spin = _spin(self.spec.minimum, self.spec.maximum)
        self.spin.valueChanged.connect(self.commit)
        return self.spin

    def set_value(self, value, params):
        _show_int(self.spin, value)


class FloatField(ParamField):
    def _build(self) -> QWidget:
        self.edit = _float_edit()
        self.edit.editingFinished.connect(self._finished)
        self.shown: float | None = None
        return self.edit

    def _finished(self) -> None:
        value = _parse_float(self.edit.text())
        if value is None:
            self.edit.setText(_float_text(self.shown) if self.shown is not None else "")
        elif value != self.shown:
            self.commit(value)

    def set_value(self, value, params):
        self.shown = value
        if _parse_float(self.edit.text()) != value:  # keep the user's spelling ("1e-3")
            self.edit.setText(_float_text(value))


class BoolField(ParamField):
    def _build(self) -> QWidget:
        self.check = QCheckBox(self.spec.display_label)
        self.check.toggled.connect(self.commit)
        return self.check

    def set_value(self, value, params):
        self.check.setChecked(bool(value))


class ChoiceField(ParamField):
    def _build(self) -> QWidget:
        self.combo = ComboBox()
        for choice in self.spec.choices:
            self.combo.addItem("none" if choice is None else str(choice))
        self.combo.activated.connect(lambda index: self.commit(self.spec.choices[index]))
        return self.combo

    def set_value(self, value, params):
        index = next((i for i, c in enumerate(self.spec.choices)
                      if c == value and type(c) is type(value)), -1)
        self.combo.setCurrentIndex(index)


class PairField(ParamField):
    """Height × width."""

    def _build(self) -> QWidget:
        self.height = _spin(self.spec.minimum, self.spec.maximum)
        self.width = _spin(self.spec.minimum, self.spec.maximum)
        self.height.setToolTip("height")
        self.width.setToolTip("width")
        for spin in (self.height, self.width):
            spin.valueChanged.connect(self._changed)
        return _row(self.height, _small_label("×"), self.width)

    def _changed(self) -> None:
        self.commit([self.height.value(), self.width.value()])

    def set_value(self, value, params):
        _show_int(self.height, value[0])
        _show_int(self.width, value[1])

    def editors(self):
        return [self.height, self.width]


class OptionalPairField(PairField):
    """A pair, or None meaning "the same as the pool size" (pooling strides)."""

    def _build(self) -> QWidget:
        pair = super()._build()
        self.same = QCheckBox("same as pool size")
        self.same.toggled.connect(self._changed)
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.same)
        layout.addWidget(pair)
        return box

    def _changed(self) -> None:
        same = self.same.isChecked()
        self.height.setEnabled(not same)
        self.width.setEnabled(not same)
        self.commit(None if same else [self.height.value(), self.width.value()])

    def set_value(self, value, params):
        shown = value if value is not None else params.get("pool_size") or [1, 1]
        super().set_value(shown, params)
        self.same.setChecked(value is None)
        self.height.setEnabled(value is not None)
        self.width.setEnabled(value is not None)

    def editors(self):
        return [self.same, self.height, self.width]


class ShapeField(ParamField):
    """Height, width (0 shows "any": a variable size), channels."""

    def _build(self) -> QWidget:
        self.spins = []
        for axis in ("height", "width", "channels"):
            spin = _spin(self.spec.minimum, self.spec.maximum)
            if axis != "channels":
                spin.setMinimum(0)
                spin.setSpecialValueText("any")  # 0 = None, any size
            spin.setToolTip(axis + (" (any: variable-size input)" if axis != "channels" else ""))
            spin.valueChanged.connect(self._changed)
            self.spins.append(spin)
        grid = QWidget()
        layout = QGridLayout(grid)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setHorizontalSpacing(4)
        layout.setVerticalSpacing(0)
        for column, (spin, name) in enumerate(zip(self.spins, ("H", "W", "C"))):
            layout.addWidget(spin, 0, column)
            caption = _muted(QLabel({"H": "height", "W": "width", "C": "channels"}[name]))
            layout.addWidget(caption, 1, column, Qt.AlignmentFlag.AlignHCenter)
        return grid

    def _changed(self) -> None:
        height, width, channels = (spin.value() for spin in self.spins)
        self.commit([height or None, width or None, channels])

    def set_value(self, value, params):
        for spin, size in zip(self.spins, value):
            _show_int(spin, 0 if size is None else size)

    def editors(self):
        return list(self.spins)


class Padding2dField(ParamField):
    """[[top, bottom], [left, right]] as four spin boxes."""

    SIDES = ("top", "bottom", "left", "right")

    def _build(self) -> QWidget:
        self.spins = {side: _spin(self.spec.minimum, self.spec.maximum) for side in self.SIDES}
        grid = QWidget()
        layout = QGridLayout(grid)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        for index, side in enumerate(self.SIDES):
            spin = self.spins[side]
            spin.setToolTip(f"zero rows/columns added at the {side}")
            spin.valueChanged.connect(self._changed)
            row, column = divmod(index, 2)
            layout.addWidget(_small_label(side), row, 2 * column)
            layout.addWidget(spin, row, 2 * column + 1)
        return grid

    def _changed(self) -> None:
        top, bottom, left, right = (self.spins[side].value() for side in self.SIDES)
        self.commit([[top, bottom], [left, right]])

    def set_value(self, value, params):
        (top, bottom), (left, right) = value
        for side, size in zip(self.SIDES, (top, bottom, left, right)):
            _show_int(self.spins[side], size)

    def editors(self):
        return list(self.spins.values())


class OptionalFloatField(ParamField):
    """None or a number: a checkbox and a number (ReLU's cap)."""

    CHECKBOX = "on, value"
    SUGGESTED = 6.0  # ReLU6, the cap real networks use

    def _build(self) -> QWidget:
        self.enabled = QCheckBox(self.CHECKBOX)
        self.factor = _float_edit()
        self.factor.setPlaceholderText(_float_text(self.SUGGESTED))
        self.enabled.toggled.connect(self._toggled)
        self.factor.editingFinished.connect(self._factor_finished)
        self.shown: float | None = None
        return _row(self.enabled, self.factor)

    def _current_factor(self) -> float:
        value = _parse_float(self.factor.text())
        return self.SUGGESTED if value is None else value

    def _toggled(self, on: bool) -> None:
        self.factor.setEnabled(on)
        self.commit(self._current_factor() if on else None)

    def _factor_finished(self) -> None:
        value = _parse_float(self.factor.text())
        if value is None:
            self.factor.setText("" if self.shown is None else _float_text(self.shown))
        elif self.enabled.isChecked() and value != self.shown:
            self.commit(value)

    def set_value(self, value, params):
        self.shown = value
        self.enabled.setChecked(value is not None)
        self.factor.setEnabled(value is not None)
        if value is not None and _parse_float(self.factor.text()) != value:
            self.factor.setText(_float_text(value))

    def editors(self):
        return [self.enabled, self.factor]


class L2Field(OptionalFloatField):
    """None (no penalty) or an L2 factor."""

    CHECKBOX = "on, factor"
    SUGGESTED = 0.0005


class ListField(ParamField):
    """A short list typed as text ("1, 1, -1"; "null" for an open entry; empty = none where
    the parameter allows none). A typo is put back to the last valid value."""

    def _build(self) -> QWidget:
        self.edit = QLineEdit()
        self.edit.setPlaceholderText("none" if self.spec.default is None else "")
        self.edit.editingFinished.connect(self._finished)
        self.shown: Any = None
        return self.edit

    def _finished(self) -> None:
        value = self._parsed(self.edit.text())
        try:
            value = self.spec.canonical(value)
        except ValueError:
            self.edit.setText(self._text(self.shown))
            return
        if value != self.shown:
            self.commit(value)

    @staticmethod
    def _parsed(text: str) -> Any:
        text = text.strip().strip("[]()")
        if not text or text.lower() == "none":
            return None
        values = []
        for item in text.replace(";", ",").split(","):
            item = item.strip().lower()
            if item in ("null", "none", "?"):
                values.append(None)
                continue
            try:
                number = float(item)
            except ValueError:
                return text  # not a list: canonical() refuses it
            values.append(int(number) if number.is_integer() and "." not in item else number)
        return values

    @staticmethod
    def _text(value: Any) -> str:
        if value is None:
            return ""
        return ", ".join("null" if v is None else f"{v:g}" if isinstance(v, float) else str(v)
                         for v in value)

    def set_value(self, value, params):
        self.shown = value
        self.edit.setText(self._text(value))


FIELD_KINDS: dict[str, type[ParamField]] = {
    "int": IntField, "float": FloatField, "bool": BoolField, "choice": ChoiceField,
    "pair": PairField, "optional_pair": OptionalPairField, "shape": ShapeField,
    "padding2d": Padding2dField, "l2": L2Field, "optional_float": OptionalFloatField,
    "dims": ListField, "noise_shape": ListField, "floats": ListField,
}


def make_field(spec: ParamSpec, commit: Commit) -> ParamField:
    return FIELD_KINDS[spec.kind](spec, commit)


# -- the form of one node ------------------------------------------------------------------------

def analysis_rows(node: NodeSpec, info: NodeInfo | None) -> list[tuple[str, str]]:
    """(label, text) lines of the Analysis section."""
    if info is not None and info.problem is not None:
        return [("Output shape", "none: see Problems below")]
    if info is None or info.output_shape is None:
        return [("Output shape", "unknown until its inputs are connected and valid")]
    rows = [("Output shape", format_shape(info.output_shape)),
            ("Parameters", f"{count(info.trainable_params)} trainable, "
                           f"{count(info.non_trainable_params)} non-trainable")]
    rows.append(("MACs", "unknown (variable input size)" if info.macs is None else count(info.macs)))
    field = info.receptive_field
    if field is not None and node.type != "InputLayer":  # an input pixel sees itself: no news
        if field.whole_input:
            text = "whole input"
        else:
            height, width = field.size
            text = f"{height}x{width} input pixels, step {field.stride[0]}x{field.stride[1]}"
        rows.append(("Receptive field", text))
    return rows


def weight_sharing_text(node: NodeSpec, info: NodeInfo | None) -> str:
    """Conv2D only: its shared weights against a dense layer doing the same mapping."""
    if not BLOCKS_BY_TYPE[node.type].shares_weights or info is None or info.output_shape is None:
        return ""
    shared = count(info.trainable_params)
    if info.dense_equivalent_params is None:
        return f"Weights: {shared} shared by every position of the map."
    return (f"Weights: {shared} shared; a dense layer for the same mapping would need "
            f"{count(info.dense_equivalent_params)}.")


class NodeForm(QWidget):
    """Header, name, generated parameter fields, analysis and diagnostics of one node."""

    def __init__(self, inspector: InspectorPanel, node: NodeSpec):
        super().__init__()
        self.inspector = inspector
        self.node_id = node.id
        self.block: BlockType = BLOCKS_BY_TYPE[node.type]
        self.fields: dict[str, ParamField] = {}

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        layout.addWidget(self._header())
        layout.addWidget(_muted(_wrapped(self.block.help)))

        layout.addWidget(_heading("Name"))
        self.name_edit = QLineEdit()
        self.name_edit.setToolTip("The Keras layer name (letters, digits, '_', '-', '.')")
        self.name_edit.editingFinished.connect(self._rename)
        layout.addWidget(self.name_edit)

        if self.block.params:
            layout.addWidget(self._separator())
            layout.addWidget(_heading("Settings"))
        for spec in self.block.params:
            layout.addWidget(self._field_box(spec))

        layout.addWidget(self._separator())
        layout.addWidget(_heading("Analysis"))
        self.analysis = QFormLayout()
        self.analysis.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.analysis.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.analysis.setHorizontalSpacing(8)
        self.analysis.setVerticalSpacing(2)
        self.analysis.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        layout.addLayout(self.analysis)
        self.sharing = _wrapped()
        layout.addWidget(self.sharing)

        self.problems = QVBoxLayout()
        self.problems.setSpacing(4)
        layout.addLayout(self.problems)
        layout.addStretch(1)

    def _header(self) -> QWidget:
        """Icon, then the block's name over its Keras class: both wrap in a narrow panel."""
        icon = QLabel()
        icon.setPixmap(block_icon(self.block.glyph, self.block.category).pixmap(20, 20))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        title = _heading(self.block.label)
        title.setWordWrap(True)
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        title.setFont(font)
        kind = _muted(_wrapped(self.block.type))
        kind.setToolTip(self.block.keras_path)
        names = QWidget()
        column = QVBoxLayout(names)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(title)
        column.addWidget(kind)
        header = _row(icon, names)
        header.layout().setSpacing(6)
        header.layout().setStretch(1, 1)
        return header

    @staticmethod
    def _separator() -> QFrame:
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        return line

    def _field_box(self, spec: ParamSpec) -> QWidget:
        field = make_field(spec, lambda value, name=spec.name: self.inspector._commit(name, value))
        self.fields[spec.name] = field
        box = QWidget()
        box.setToolTip(spec.help)
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 2, 0, 2)
        layout.setSpacing(2)
        if spec.kind != "bool":  # a checkbox carries its own label
            label = QLabel(spec.display_label)
            label.setWordWrap(True)  # a long label wraps in a narrow panel instead of clipping
            label.setBuddy(field.editors()[0])
            layout.addWidget(label)
        layout.addWidget(field.widget)
        layout.addWidget(_muted(_wrapped(spec.help)))
        return box

    # -- showing the document's state --------------------------------------------------------
    def refresh(self, node: NodeSpec, info: NodeInfo | None, diagnostics: list[Diagnostic]) -> None:
        if not (self.name_edit.hasFocus() and self.name_edit.isModified()):
            self.name_edit.setText(node.name)
            self.name_edit.setModified(False)
        for name, field in self.fields.items():
            editors = field.editors()
            blocked = [editor.blockSignals(True) for editor in editors]
            try:
                field.set_value(node.params.get(name), dict(node.params))
            finally:
                for editor, was in zip(editors, blocked):
                    editor.blockSignals(was)
        self._show_analysis(node, info)
        self._show_problems(diagnostics)

    def _show_analysis(self, node: NodeSpec, info: NodeInfo | None) -> None:
        while self.analysis.rowCount():
            self.analysis.removeRow(0)
        for label, text in analysis_rows(node, info):
            caption = _muted(QLabel(label + ":"), smaller=False)
            caption.setWordWrap(True)
            self.analysis.addRow(caption, _wrapped(text))
        sharing = weight_sharing_text(node, info)
        self.sharing.setText(sharing)
        self.sharing.setVisible(bool(sharing))

    def _show_problems(self, diagnostics: list[Diagnostic]) -> None:
        while self.problems.count():
            widget = self.problems.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()  # may be the Fix button whose click got us here
        if diagnostics:
            self.problems.addWidget(_heading("Problems"))
        for diagnostic in diagnostics:
            message = _wrapped(diagnostic.message)
            palette = message.palette()
            palette.setColor(QPalette.ColorRole.WindowText, severity_color(diagnostic.severity))
            message.setPalette(palette)
            self.problems.addWidget(message)
            if diagnostic.fix:
                button = QPushButton(f"Fix: {diagnostic.fix_label}" if diagnostic.fix_label else "Fix")
                button.setToolTip(diagnostic.fix_label)
                button.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
                button.clicked.connect(lambda _=False, d=diagnostic: self.inspector._apply_fix(d))
                self.problems.addWidget(button)

    def _rename(self) -> None:
        text = self.name_edit.text().strip()
        self.name_edit.setModified(False)
        self.inspector._rename(text)


class InspectorPanel(QWidget):
    """Settings and analysis of the selected block; `show_node(None)` shows a hint."""

    def __init__(self, document: ProjectDocument, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.node_id: str | None = None
        self.form: NodeForm | None = None

        self.summary = QLabel()  # with no block selected: the network at a glance
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.summary.setContentsMargins(10, 10, 10, 10)
        self.hint = _muted(QLabel(EMPTY_HINT), smaller=False)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.hint.setWordWrap(True)

        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        # No horizontal scrolling: help texts wrap to the panel's width instead.
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.hint, 1)
        layout.addWidget(self.scroll)
        self.scroll.hide()
        # The scroll area sizes the form when it is set, but labels added or re-worded later
        # (analysis, problems) change the height their wrapped text needs without telling it:
        # refit once the event loop has laid them out, or their text is cut off.
        self._refit = QTimer(self, singleShot=True, interval=0)
        self._refit.timeout.connect(self._fit_form)
        document.spec_changed.connect(self._on_spec_changed)

    def show_node(self, node_id: str | None) -> None:
        node = self._node(node_id)
        if node is None:
            self._clear()
            return
        self.summary.hide()
        if self.form is None or self.form.node_id != node.id or self.form.block.type != node.type:
            self._build(node)
        self.node_id = node.id
        self.form.refresh(node, self.document.info.nodes.get(node.id),
                          self.document.diagnostics_for(node.id))
        self._refit.start()

    def _fit_form(self) -> None:
        self.scroll.setWidgetResizable(True)  # re-measures the form at the viewport's width

    def _node(self, node_id: str | None) -> NodeSpec | None:
        if node_id is None or not self.document.spec.has_node(node_id):
            return None
        return self.document.spec.node(node_id)

    def _build(self, node: NodeSpec) -> None:
        old = self.scroll.takeWidget()
        if old is not None:
            old.deleteLater()  # deferred: one of its editors may be mid-signal
        self.form = NodeForm(self, node)
        self.scroll.setWidget(self.form)
        self.hint.hide()
        self.scroll.show()

    def _clear(self) -> None:
        self.node_id = None
        self.form = None
        old = self.scroll.takeWidget()
        if old is not None:
            old.deleteLater()
        self.scroll.hide()
        self.summary.setText(network_summary(self.document))
        self.summary.show()
        self.hint.show()

    def _on_spec_changed(self) -> None:
        self.show_node(self.node_id)

    # -- edits ------------------------------------------------------------------------------------
    def _commit(self, param: str, value: Any) -> None:
        node = self._node(self.node_id)
        if node is None or node.params.get(param) == value:
            return
        text = f"Change {param.replace('_', ' ')} of {node.name}"
        if not self.document.apply(SetParams(node.id, {param: value}), text):
            self.show_node(node.id)  # refused: show the value the spec really holds

    def _rename(self, name: str) -> None:
        node = self._node(self.node_id)
        if node is None:
            return
        if not name or name == node.name or not self.document.apply(
                RenameNode(node.id, name), f"Rename {node.name} to {name}"):
            self.show_node(node.id)  # empty, unchanged or refused: restore the current name

    def _apply_fix(self, diagnostic: Diagnostic) -> None:
        self.document.apply(CompositeEdit(diagnostic.fix), diagnostic.fix_label or "Fix")


def network_summary(document: ProjectDocument) -> str:
    """The network at a glance, for the Properties panel when no block is selected."""
    spec, info = document.spec, document.info
    fed = {edge.target[0] for edge in spec.edges}
    read = {edge.source[0] for edge in spec.edges}
    inputs = [format_shape(info.nodes[n.id].output_shape) for n in spec.nodes
              if n.id not in fed and n.id in info.nodes]
    outputs = [format_shape(info.nodes[n.id].output_shape) for n in spec.nodes
               if n.id not in read and n.id in info.nodes]
    errors = sum(d.severity == ERROR for d in document.diagnostics)
    warnings = len(document.diagnostics) - errors
    problems = ("no problems" if not document.diagnostics else
                f"{plural(errors, 'error')}, {plural(warnings, 'warning')} (see Problems)")
    macs = "unknown" if info.total_macs is None else compact(info.total_macs)
    rows = [("Blocks", count(len(spec.nodes))), ("Parameters", count(info.total_params)),
            ("MACs per sample", macs), ("Weights", f"{info.weight_bytes / 1024:,.1f} KiB"),
            ("Input", ", ".join(inputs) or MISSING), ("Output", ", ".join(outputs) or MISSING),
            ("Problems", problems)]
    table = "".join(f"<tr><td>{name}&nbsp;&nbsp;</td><td><b>{value}</b></td></tr>" for name, value in rows)
    return f"<p style='font-size:large'><b>{html.escape(spec.name or 'Untitled')}</b></p><table>{table}</table>"
