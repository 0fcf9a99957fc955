"""The one protocol between the app and its warm engine workers.

Every message is a frozen dataclass; on the pipe it travels as plain data, a
`(name, {field: value})` pair (`encode` / `decode`), so both sides agree on one schema and a
message of an unknown kind or with unknown fields is refused instead of half-understood.

    app -> worker:  Submit (a job), Control (stop / pause / continue / cancel a job), Quit
    worker -> app:  Hello (first, with PROTOCOL_VERSION), Ready (Keras loaded), Progress,
                    Event (a training event), Done (the job's result), Failed, Cancelled

A job names a task of `engine.tasks` (the registry) and its keyword arguments. A job with a
`supersede` key replaces any job with the same key still waiting in the worker's queue:
scrubbing a slider never queues stale work. This module is Qt-free and Keras-free.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

PROTOCOL_VERSION = 2

STOP, PAUSE, CONTINUE, CANCEL = "stop", "pause", "continue", "cancel"
CONTROL_ACTIONS = (STOP, PAUSE, CONTINUE, CANCEL)


class ProtocolError(ValueError):
    """A message that does not fit the protocol (another version, or a bug)."""


# -- app -> worker ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Submit:
    job_id: int
    kind: str
    arguments: dict = field(default_factory=dict)
    supersede: str | None = None


@dataclass(frozen=True)
class Control:
    job_id: int
    action: str

    def __post_init__(self):
        if self.action not in CONTROL_ACTIONS:
            raise ProtocolError(f"unknown control action {self.action!r}")


@dataclass(frozen=True)
class Quit:
    pass


# -- worker -> app ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Hello:
    version: int
    pid: int
    role: str


@dataclass(frozen=True)
class Ready:
    backend: str
    seconds: float          # how long loading Keras (and warming up) took


@dataclass(frozen=True)
class Progress:
    job_id: int
    message: str
    fraction: float | None = None   # 0..1, or None when unknown (a busy indicator)


@dataclass(frozen=True)
class Event:
    job_id: int
    event: dict              # a training event (engine.training.events)


@dataclass(frozen=True)
class Done:
    job_id: int
    result: Any = None


@dataclass(frozen=True)
class Failed:
    job_id: int
    message: str


@dataclass(frozen=True)
class Cancelled:
    job_id: int


MESSAGES = {cls.__name__: cls for cls in (Submit, Control, Quit, Hello, Ready, Progress, Event,
                                          Done, Failed, Cancelled)}
JOB_ENDINGS = (Done, Failed, Cancelled)


def encode(message) -> tuple[str, dict]:
    name = type(message).__name__
    if MESSAGES.get(name) is not type(message):
        raise ProtocolError(f"{name} is not a protocol message")
    # Shallow on purpose: results hold NumPy arrays, which cross as they are.
    return name, {f.name: getattr(message, f.name) for f in dataclasses.fields(message)}


def decode(raw) -> Any:
    try:
        name, fields = raw
        cls = MESSAGES[name]
        return cls(**fields)
    except (KeyError, TypeError, ValueError) as error:
        raise ProtocolError(f"not a message of protocol {PROTOCOL_VERSION}: {error}") from None


def check_hello(message) -> Hello:
    """The first message of a worker; a worker of another version is refused, by name."""
    if not isinstance(message, Hello):
        raise ProtocolError(f"the engine worker did not introduce itself (sent "
                            f"{type(message).__name__})")
    if message.version != PROTOCOL_VERSION:
        raise ProtocolError(f"the engine worker speaks protocol {message.version}, this app "
                            f"{PROTOCOL_VERSION}: it belongs to another version of CNN Studio. "
                            "Reinstall, or quit every CNN Studio window and start again.")
    return message
