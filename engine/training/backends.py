"""The Keras backends a run can train on, and whether each is installed here.

Keras picks its backend once, when it is first imported (KERAS_BACKEND), so a run on another
backend needs a process of its own: the CLI sets KERAS_BACKEND before Keras loads, the app
starts a worker for it (desktop/workers.py). Whether a backend is installed is answered
without importing it (`importlib.util.find_spec`): the window never loads JAX or TensorFlow.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

TENSORFLOW, JAX = "tensorflow", "jax"
BACKENDS = (TENSORFLOW, JAX)
DEFAULT_BACKEND = TENSORFLOW
BACKEND_TITLES = {TENSORFLOW: "TensorFlow", JAX: "JAX"}
INSTALL_COMMANDS = {TENSORFLOW: "pip install cnn-studio", JAX: 'pip install "cnn-studio[jax]"'}
_MODULES = {TENSORFLOW: "tensorflow", JAX: "jax"}


def is_installed(backend: str) -> bool:
    """True when the backend's package can be imported (it is not imported here)."""
    module = _MODULES.get(backend)
    if module is None:
        return False
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a broken or half-removed installation
        return False


def unavailable_reason(backend: str, in_app: bool = False) -> str | None:
    """Why `backend` cannot be used here (None when it can): one line naming the command
    (in_app: and that the app must be restarted to see it)."""
    if backend not in BACKENDS:
        return f"Unknown backend {backend!r}: choose one of {', '.join(BACKENDS)}."
    if backend == DEFAULT_BACKEND or is_installed(backend):  # TensorFlow: a dependency
        return None
    title = BACKEND_TITLES[backend]
    if getattr(sys, "frozen", False):  # the installers' app bundles TensorFlow only
        return (f"{title} is not part of this installed app: install CNN Studio with pip to "
                f"train on {title} ({INSTALL_COMMANDS[backend]}).")
    reason = f"{title} is not installed here: {INSTALL_COMMANDS[backend]}"
    return f"{reason}. Restart CNN Studio after installing it." if in_app else reason


def environment_backend() -> str:
    """The backend KERAS_BACKEND names when it is one of ours, else the default."""
    named = os.environ.get("KERAS_BACKEND", "").strip().lower()
    return named if named in BACKENDS else DEFAULT_BACKEND


def run_backend(run_dir) -> str | None:
    """The backend in a run folder's config.json (the default for runs from before the
    choice existed); None when it cannot be read (resuming it then says why)."""
    if not run_dir:
        return None
    try:
        config = json.loads((Path(run_dir) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return config.get("backend", DEFAULT_BACKEND) if isinstance(config, dict) else None
