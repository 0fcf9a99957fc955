"""The Backend choice in the window: the settings form offers JAX only when it is installed
(found without importing it), the engine sends a run to a worker of its backend, and a JAX
run starts a JAX worker, says so while it loads, and reuses it for the next JAX run. The JAX
runs are skipped where JAX is not installed (`pip install "cnn-studio[jax]"`)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import importlib.util  # noqa: E402
import sys  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402

from desktop.engine_client import WARMING_UP_BACKEND, EngineClient  # noqa: E402
from desktop.panels.training_settings import SettingsForm  # noqa: E402
from desktop.workers import Engine  # noqa: E402
from engine.training.backends import is_installed  # noqa: E402
from engine.training.config import TrainingConfig  # noqa: E402
from tests.engine.helpers import tiny_cnn  # noqa: E402

TIMEOUT_MS = 180_000
QUICK = dict(dataset="digits", max_samples=300, batch_size=32, epochs=1)
# Skipped without JAX; found, not imported: this process is the window's side.
needs_jax = pytest.mark.skipif(not is_installed("jax"),
                               reason='JAX is not installed (pip install "cnn-studio[jax]")')


@pytest.fixture
def without_jax(monkeypatch):
    """As if JAX were not installed: find_spec("jax") finds nothing."""
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a, **k: (
        None if name.split(".")[0] == "jax" else real(name, *a, **k)))


def make_form(qtbot) -> SettingsForm:
    form = SettingsForm()
    qtbot.addWidget(form)
    return form


@needs_jax
def test_the_form_offers_tensorflow_by_default_and_jax_when_installed(qtbot):
    loaded_before = "jax" in sys.modules
    form = make_form(qtbot)
    assert ("jax" in sys.modules) == loaded_before  # found, not imported
    combo = form.backend_combo
    assert [combo.itemData(i) for i in range(combo.count())] == ["tensorflow", "jax"]
    assert form.values()["backend"] == "tensorflow"
    assert form.backend_available("jax")
    form.set_config(TrainingConfig(backend="jax"))
    assert combo.currentText() == "JAX" and form.values()["backend"] == "jax"
    assert TrainingConfig(**form.values()).backend == "jax"


def test_without_jax_the_choice_says_how_to_install_it(qtbot, without_jax):
    form = make_form(qtbot)
    combo = form.backend_combo
    index = combo.findData("jax")
    assert not combo.model().item(index).isEnabled()
    assert combo.itemText(index) == "JAX (not installed)"
    assert 'pip install "cnn-studio[jax]"' in combo.itemData(index, Qt.ItemDataRole.ToolTipRole)
    assert 'pip install "cnn-studio[jax]"' in combo.toolTip()
    # Settings that name JAX (from another machine) show, and train on, TensorFlow here.
    form.set_config(TrainingConfig(backend="jax"))
    assert form.values()["backend"] == "tensorflow"


def test_a_jax_run_without_jax_fails_with_the_pip_command_and_starts_no_process(qtbot, without_jax,
                                                                                 tmp_path):
    engine = Engine()
    client = EngineClient(engine=engine)
    failed, phases = [], []
    client.failed.connect(failed.append)
    client.phase.connect(phases.append)
    client.start(tiny_cnn(), TrainingConfig(backend="jax", **QUICK), tmp_path)
    qtbot.waitUntil(lambda: bool(failed), timeout=5000)
    assert 'JAX is not installed here: pip install "cnn-studio[jax]"' in failed[0]["message"]
    assert not failed[0].get("crashed") and not phases
    assert client.state == "idle" and set(engine.workers) == {"training", "inspection"}
    assert all(worker.pid is None for worker in engine.workers.values())
    engine.shutdown()


@needs_jax
def test_a_jax_run_starts_a_jax_worker_and_the_next_one_reuses_it(qtbot, tmp_path):
    engine = Engine()  # not the session's: only the JAX worker starts here, and ends after
    client = EngineClient(engine=engine)
    try:
        outcomes, phases, started = [], [], []
        for signal in (client.finished, client.failed, client.stopped):
            signal.connect(outcomes.append)
        client.phase.connect(lambda event: phases.append(event["message"]))
        client.started.connect(started.append)

        client.start(tiny_cnn(), TrainingConfig(backend="jax", **QUICK), tmp_path, name="jax1")
        # The window says at once that a JAX process is starting (the Monitor shows phases).
        qtbot.waitUntil(lambda: bool(phases), timeout=1000)
        assert phases[0] == WARMING_UP_BACKEND.format(title="JAX")
        pid = client.pid
        assert pid is not None and engine.workers["training-jax"].pid == pid
        assert engine.workers["training"].pid is None  # the TensorFlow worker is not involved
        qtbot.waitUntil(lambda: bool(outcomes), timeout=TIMEOUT_MS)
        assert outcomes[0]["type"] == "finished", outcomes[0]
        print(f"\nJAX worker start + first run started in {client.last_start_seconds:.2f} s")
        assert started[0]["backend"] == "jax" and engine.workers["training-jax"].backend == "jax"
        assert '"backend": "jax"' in (tmp_path.joinpath(outcomes[0]["run_dir"], "run.json")
                                      .read_text())

        # Kept warm: the next JAX run goes to the same process, with no start-up phase.
        outcomes.clear(), phases.clear()
        client.start(tiny_cnn(), TrainingConfig(backend="jax", **QUICK), tmp_path, name="jax2")
        assert client.pid == pid and WARMING_UP_BACKEND.format(title="JAX") not in phases
        qtbot.waitUntil(lambda: bool(outcomes), timeout=TIMEOUT_MS)
        assert outcomes[0]["type"] == "finished", outcomes[0]
        print(f"\nJAX run started (the worker was warm) in {client.last_start_seconds:.2f} s")
    finally:
        client.shutdown()
        engine.shutdown()
