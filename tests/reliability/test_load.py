"""Load: the editor stays usable with a 1,000-block graph, and a long training run's batch
events do not grow the GUI's memory without bound.

Timings are printed (run with -s), not asserted: benchmarks/bench_gui.py measures them."""

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from desktop.main_window import MainWindow  # noqa: E402
from engine.graph.edits import SetParams  # noqa: E402
from engine.graph.io import save_spec  # noqa: E402
from engine.graph.shapes import infer  # noqa: E402
from engine.graph.validate import ERROR, validate  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from benchmarks.bench_gui import resident_megabytes  # noqa: E402
from benchmarks.bench_shapes import BLOCKS_PER_STAGE_1000, resnet_spec  # noqa: E402


@pytest.fixture(scope="module")
def thousand_block_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("big") / "resnet-1000.json"
    save_spec(resnet_spec(BLOCKS_PER_STAGE_1000), path)
    return path


def test_a_thousand_block_graph_stays_editable(qtbot, thousand_block_file):
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    started = time.perf_counter()
    assert window.open_path(str(thousand_block_file))
    QApplication.processEvents()
    opened = time.perf_counter() - started
    spec = window.document.spec
    assert len(spec.nodes) == 999 and len(window.scene.blocks) == 999
    assert not [d for d in window.document.diagnostics if d.severity == ERROR]

    started = time.perf_counter()
    validate(spec, infer(spec))
    analysis_ms = (time.perf_counter() - started) * 1000

    conv = next(node for node in spec.nodes if node.type == "Conv2D")
    params_before = window.document.info.total_params
    started = time.perf_counter()
    window.document.apply(SetParams(conv.id, {"filters": 48}), "wider")
    window.view.viewport().repaint()
    QApplication.processEvents()
    edit_ms = (time.perf_counter() - started) * 1000
    assert window.document.info.total_params != params_before  # re-analysed
    card = window.scene.blocks[conv.id]
    summary = card.summary
    assert summary.startswith("48 @ 3x3")  # and redrawn

    window.select_all()
    started = time.perf_counter()
    window.scene.delete_selection()
    QApplication.processEvents()
    delete_ms = (time.perf_counter() - started) * 1000
    remaining = len(window.document.spec.nodes)
    assert remaining == 0
    window.document.undo_stack.undo()
    QApplication.processEvents()
    assert len(window.document.spec.nodes) == 999
    window.document.undo_stack.undo()
    back_to_the_start = window.document.spec == spec  # (no assert diff of 1,000 blocks)
    assert back_to_the_start
    print(f"\n1,000-block graph: open {opened:.2f} s, validate+infer {analysis_ms:.1f} ms, "
          f"one edit re-analysed and repainted {edit_ms:.0f} ms, delete all {delete_ms:.0f} ms")


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads memory from /proc")
def test_fifty_thousand_batch_events_keep_the_gui_memory_bounded(qtbot, tmp_path, monkeypatch):
    """A real run of 50,000+ batches, each sent as an event from the worker to the window."""
    from desktop.panels.monitor import MAX_BATCH_POINTS
    from engine.training.config import TrainingConfig
    from tests.engine.helpers import GraphBuilder

    monkeypatch.setenv("CNN_STUDIO_BATCH_EVENT_INTERVAL", "0")  # the worker inherits it
    g = GraphBuilder("one layer")
    x = g.add("InputLayer", {"shape": [8, 8, 1]})
    x = g.add("Flatten", {}, [x])
    g.add("Dense", {"units": 10, "activation": "softmax"}, [x])
    project = tmp_path / "one-layer.json"
    save_spec(g.spec, project)
    window = MainWindow()
    qtbot.addWidget(window)
    window.runs_root_override = tmp_path / "runs"
    window.show()
    assert window.open_path(str(project))
    batches, memory, steps = [0], {}, []

    def count(event):
        if event.get("type") == "started":
            steps.append(event["steps_per_epoch"])
        if event.get("type") == "batch_ended":
            batches[0] += 1
            trained = (event["epoch"] - 1) * event["batches"] + event["batch"]
            if trained >= 12_500 and "quarter" not in memory:
                memory["quarter"] = resident_megabytes()

    window.trainer.event_received.connect(count)
    config = TrainingConfig(dataset="digits", epochs=40, batch_size=1, gradient_norms=False,
                            kernel_snapshots=False)
    with qtbot.waitSignal(window.trainer.finished, timeout=900_000):
        assert window.start_training(config)
    memory["end"] = resident_megabytes()
    total = steps[0] * 40
    assert total >= 50_000
    assert window.monitor.batch_point_count <= MAX_BATCH_POINTS  # downsampled, whole run kept
    growth = memory["end"] - memory["quarter"]
    print(f"\n{total:,} batches, {batches[0]:,} batch events shown; GUI memory "
          f"{memory['quarter']:.0f} MB at 12,500 batches, {memory['end']:.0f} MB at the end")
    assert growth < 40, f"the GUI grew by {growth:.0f} MB over the last 37,500 batches"
