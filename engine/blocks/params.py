"""Parameter kinds of the block catalogue: parse from JSON, check bounds, convert for Keras.

Values in a spec are plain JSON. The only translation to Keras is for regularizers,
stored as their L2 factor (a number, or null for none).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.errors import ProjectError

MAX_SIZE = 100_000  # no real image side, kernel or layer width is larger


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value \
        and abs(value) != float("inf")


@dataclass(frozen=True)
class ParamSpec:
    """One constructor keyword argument of a block.

    kind: int | float | optional_float (number or null) | bool | choice | pair (int or [h, w])
          | optional_pair (pair or null) | shape ([H, W, C], H and W may be null)
          | padding2d ([[top, bottom], [left, right]]) | l2 (L2 factor or null)
          | dims (a target shape: whole numbers, one of them may be -1 = "whatever is left")
          | noise_shape (null, or one entry per axis with the batch: a size, 1, or null)
          | floats (null, or a list of numbers: one per channel)
    `aliases` maps other spellings Keras writes to a choice (e.g. "swish" -> "silu").
    """

    name: str
    kind: str
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple = ()
    label: str = ""
    aliases: tuple[tuple[Any, Any], ...] = ()
    # A setting most networks leave alone (dilation, groups): the Python script writes it
    # only when it differs from the default.
    advanced: bool = False

    @property
    def display_label(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()

    # -- JSON -> canonical value ----------------------------------------------------
    def parse(self, raw: Any, where: str) -> Any:
        """Canonical form of a JSON value, or ProjectError naming `where`."""
        problem = f"{where}: {self.name} = {_short(raw)} is not valid; expected {self.expected()}."
        value = self._coerce(raw)
        if value is _INVALID:
            raise ProjectError(problem)
        out_of_range = self.range_problem(value)
        if out_of_range:
            raise ProjectError(f"{where}: {out_of_range}")
        return value

    def canonical(self, raw: Any) -> Any:
        """The canonical form of a type-correct value (bounds not checked); ValueError if wrong type."""
        value = self._coerce(raw)
        if value is _INVALID:
            raise ValueError(f"{self.name} = {_short(raw)}: expected {self.expected()}")
        return value

    def _coerce(self, raw: Any) -> Any:
        kind = self.kind
        if kind == "int":
            return raw if _is_int(raw) else _INVALID
        if kind == "float":
            return float(raw) if _is_number(raw) else _INVALID
        if kind == "bool":
            return raw if isinstance(raw, bool) else _INVALID
        if kind == "optional_float":
            return None if raw is None else (float(raw) if _is_number(raw) else _INVALID)
        if kind == "choice":
            raw = dict(self.aliases).get(raw, raw) if isinstance(raw, str) else raw
            return raw if any(raw == c and type(raw) is type(c) for c in self.choices) else _INVALID
        if kind == "pair":
            return _as_pair(raw)
        if kind == "optional_pair":
            return None if raw is None else _as_pair(raw)
        if kind == "l2":
            return None if raw is None else (float(raw) if _is_number(raw) else _INVALID)
        if kind == "shape":
            if (isinstance(raw, list) and len(raw) == 3
                    and all(v is None or _is_int(v) for v in raw[:2]) and _is_int(raw[2])):
                return list(raw)
            return _INVALID
        if kind == "padding2d":
            if _is_int(raw):
                return [[raw, raw], [raw, raw]]
            if isinstance(raw, list) and len(raw) == 2:
                if all(_is_int(v) for v in raw):
                    return [[raw[0], raw[0]], [raw[1], raw[1]]]
                if all(isinstance(v, list) and len(v) == 2 and all(_is_int(x) for x in v) for v in raw):
                    return [list(raw[0]), list(raw[1])]
            return _INVALID
        if kind == "dims":
            if (isinstance(raw, list) and 1 <= len(raw) <= 4 and all(_is_int(v) for v in raw)
                    and raw.count(-1) <= 1):
                return list(raw)
            return _INVALID
        if kind == "floats":
            if raw is None:
                return None
            if isinstance(raw, list) and raw and all(_is_number(v) for v in raw):
                return [float(v) for v in raw]
            return _INVALID
        if kind == "noise_shape":
            if raw is None:
                return None
            if isinstance(raw, list) and 2 <= len(raw) <= 5 and all(v is None or _is_int(v) for v in raw):
                return list(raw)
            return _INVALID
        raise AssertionError(f"unknown parameter kind {kind}")

    def range_problem(self, value: Any) -> str | None:
        """A message when `value` (already canonical) is outside the bounds, else None."""
        numbers = _numbers_in(value)
        if self.kind == "dims":  # -1 is "the rest", not a size
            numbers = [n for n in numbers if n != -1]
        low = self.minimum
        high = self.maximum if self.maximum is not None else _default_maximum(self.kind)
        for number in numbers:
            if low is not None and number < low:
                return f"{self.name} = {_short(value)} is below the minimum {_fmt(low)}."
            if high is not None and number > high:
                return f"{self.name} = {_short(value)} is above the maximum {_fmt(high)}."
        return None

    def clamp(self, value: Any) -> Any:
        """The nearest in-range value (used as the suggested fix)."""
        def one(number):
            if self.minimum is not None and number < self.minimum:
                number = type(number)(self.minimum)
            high = self.maximum if self.maximum is not None else _default_maximum(self.kind)
            if high is not None and number > high:
                number = type(number)(high)
            return number
        if isinstance(value, list):
            return [self.clamp(v) if isinstance(v, list) else (None if v is None else one(v)) for v in value]
        return None if value is None else one(value)

    def expected(self) -> str:
        return {
            "int": "a whole number",
            "float": "a number",
            "optional_float": "null (none) or a number",
            "dims": "a list of 1 to 4 whole numbers, at most one of them -1",
            "noise_shape": "null or a list such as [null, 1, 1, null] (batch axis first)",
            "floats": "null or a list of numbers (one per channel)",
            "bool": "true or false",
            "choice": "one of " + ", ".join(_short(c) for c in self.choices),
            "pair": "a whole number or [height, width]",
            "optional_pair": "null or [height, width]",
            "l2": "null (none) or an L2 factor such as 0.0005",
            "shape": "[height, width, channels] (height and width may be null)",
            "padding2d": "[[top, bottom], [left, right]]",
        }[self.kind]

    # -- Keras ---------------------------------------------------------------------
    def to_keras(self, value: Any) -> Any:
        if self.kind in ("pair", "optional_pair", "dims", "noise_shape"):
            return None if value is None else tuple(value)
        if self.kind == "floats":
            return None if value is None else list(value)
        if self.kind == "shape":
            return tuple(value)
        if self.kind == "padding2d":
            return (tuple(value[0]), tuple(value[1]))
        if self.kind == "l2":
            if not value:
                return None
            import keras  # lazy: the catalogue itself is Keras-free
            return keras.regularizers.L2(value)
        return value

    def from_keras(self, value: Any) -> Any:
        """Canonical value from a Keras get_config() entry (import)."""
        if self.kind == "l2":
            if value is None:
                return None
            config = value.get("config", {}) if isinstance(value, dict) else {}
            if isinstance(value, dict) and value.get("class_name") in ("L2", "L1L2") \
                    and not config.get("l1"):
                return float(config.get("l2", 0.0)) or None
            raise ProjectError(f"regularizer {value!r} is not an L2 regularizer")
        if isinstance(value, tuple):
            value = [list(v) if isinstance(v, tuple) else v for v in value]
        return self.parse(value, "imported layer")


def _default_maximum(kind: str) -> float | None:
    """Sizes are bounded by MAX_SIZE; real-valued settings have no natural upper bound."""
    return None if kind in ("float", "optional_float", "floats") else MAX_SIZE


class _Invalid:
    pass


_INVALID = _Invalid()


def _as_pair(raw: Any) -> Any:
    if _is_int(raw):
        return [raw, raw]
    if isinstance(raw, list) and len(raw) == 2 and all(_is_int(v) for v in raw):
        return list(raw)
    return _INVALID


def _numbers_in(value: Any) -> list:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return []
    if isinstance(value, list):
        return [n for v in value for n in _numbers_in(v)]
    return [value]


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def _short(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else f"'{value}'"
    if value is None:
        text = "null"
    return text if len(text) <= 40 else text[:37] + "..."
