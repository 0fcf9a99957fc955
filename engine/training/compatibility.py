"""Does the network fit the data? One check of a dataset (its class count and image shape)
against a network (its output and Input block), shared by the Train panel, which shows the
result as the user edits, and the Trainer, which refuses to start a run that cannot work.

Pure Python: no Keras, no Qt."""

from __future__ import annotations

from dataclasses import dataclass

from engine.blocks.catalog import BLOCKS_BY_TYPE
from engine.graph.shapes import NetworkInfo, infer
from engine.graph.spec import NetworkSpec
from engine.graph.validate import ERROR, output_node_id

INFO = "info"
CONVERTIBLE_CHANNELS = frozenset({1, 3})  # grayscale and RGB convert into each other


def shape_text(shape) -> str:
    """(32, 32, 1) -> "32x32x1"; an unknown side is "?"."""
    return "x".join("?" if side is None else str(side) for side in shape)


@dataclass(frozen=True)
class OutputMismatch:
    """The network's output does not give one score per class of the dataset."""
    node_id: str
    node_name: str
    node_type: str
    classes: int
    message: str
    wrong_units: bool  # one score per something, but not per class (else: not a vector at all)

    @property
    def fixable(self) -> bool:
        """Whether setting the output's units fixes it (a Dense output of the wrong width)."""
        return self.wrong_units and bool(BLOCKS_BY_TYPE[self.node_type].width_param)


@dataclass(frozen=True)
class InputNote:
    """How the dataset's images reach the Input block: resized, converted, or refused (ERROR)."""
    severity: str  # INFO or ERROR
    message: str
    target_shape: tuple | None = None


def output_mismatch(spec: NetworkSpec, classes: int, dataset_label: str,
                    info: NetworkInfo | None = None) -> OutputMismatch | None:
    """None when the output fits `classes` (or cannot be judged yet: a half-built graph).
    `dataset_label` names the dataset in the message ("digits", or "dataset 'digits'")."""
    try:
        info = info or infer(spec)
        node_id = output_node_id(spec, info)
    except Exception:  # noqa: BLE001 - a half-built graph: nothing to compare yet
        return None
    node_info = info.nodes.get(node_id) if node_id is not None else None
    if node_info is None or node_info.output_shape is None:
        return None
    node, shape = spec.node(node_id), tuple(node_info.output_shape)
    if len(shape) != 1:
        message = (f"Output {node.name} gives {shape_text(shape)}, not one score per class: end "
                   f"the network with a Dense layer of {classes} units (after Flatten or global "
                   "pooling).")
    elif shape[0] != classes:
        units = "?" if shape[0] is None else shape[0]
        message = f"Output {node.name} has {units} units but {dataset_label} has {classes} classes"
        width = BLOCKS_BY_TYPE[node.type].width_param
        if width:
            message += f"; set {width} of {node.name} to {classes}."
        else:
            message += (f". {node.name} is a {node.type} block: change the layers before it so it "
                        f"gives {classes} values.")
    else:
        return None
    return OutputMismatch(node.id, node.name, node.type, classes, message,
                          wrong_units=len(shape) == 1)


def input_note(spec: NetworkSpec, image_shape: tuple | None) -> InputNote | None:
    """What happens to (height, width, channels) images on the way into the single Input
    block; None when there is nothing to say (no shape known, no single image input)."""
    inputs = [node for node in spec.nodes if node.type == "InputLayer"]
    if image_shape is None or len(inputs) != 1:
        return None
    want = tuple(inputs[0].params.get("shape") or ())
    if len(want) != 3:
        return None
    height, width, channels = image_shape
    target = (want[0] or height, want[1] or width, want[2] or channels)
    have = shape_text(image_shape)
    if target[2] != channels and {target[2], channels} != CONVERTIBLE_CHANNELS:
        return InputNote(ERROR, f"Images have {channels} channel{'s' if channels != 1 else ''} but "
                         f"the input takes {target[2]}: set the Input block's channels to "
                         f"{channels}.", target)
    resize = target[:2] != (height, width)
    if target[2] != channels:
        convert = "converted to RGB" if target[2] == 3 else "converted to grayscale"
        if resize:
            text = f"Images are {have}; they will be resized and {convert}: {shape_text(target)}."
        else:
            text = f"Images are {have}; they will be {convert} ({shape_text(target)})."
    elif resize:
        text = f"Images are {have}; they will be resized to {shape_text(target)}."
    else:
        text = f"Images are {have}, the size the input takes."
    return InputNote(INFO, text, target)


def compatibility_problem(spec: NetworkSpec, classes: int | None, image_shape: tuple | None,
                          dataset_label: str, info: NetworkInfo | None = None) -> str:
    """The reason this network cannot train on this data ("" when it can, as far as known)."""
    if classes is not None:
        mismatch = output_mismatch(spec, classes, dataset_label, info)
        if mismatch is not None:
            return mismatch.message
    note = input_note(spec, image_shape)
    return note.message if note is not None and note.severity == ERROR else ""
