"""`cnn-studio self-test`: prove an installation works, end to end.

1. every template builds in Keras (in the warm inspection worker) with the parameter count
   the editor shows;
2. LeNet-5 trains one epoch on the built-in digits in the warm training worker;
3. the main window opens (offscreen when there is no display) and paints.
Exit 0 only when all three worked. This is what the installers are checked with.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

WORKER_TIMEOUT_S = 300


def check_templates(app) -> tuple[bool, str]:
    """Every template built in the warm inspection worker (Keras) vs the editor's count."""
    from desktop.workers import run_job
    from engine.errors import ProjectError

    try:
        rows = run_job("build_templates", timeout=WORKER_TIMEOUT_S)
    except ProjectError as error:
        return False, str(error)
    wrong = [f"{key}: Keras {keras} vs {ours}" for key, keras, ours in rows if keras != ours]
    if wrong:
        return False, "; ".join(wrong)
    return True, f"{len(rows)} templates built, parameter counts agree"


def check_training_and_window(app) -> list[tuple[str, bool, str]]:
    from desktop.main_window import MainWindow
    from engine.training.config import TrainingConfig

    checks = []
    window = MainWindow()
    window.open_template("lenet5")
    window.resize(1280, 800)
    window.show()
    app.processEvents()
    image = window.grab()
    painted = not image.isNull() and image.width() > 0
    checks.append(("main window opens and paints", painted, f"{image.width()}x{image.height()} grab"))

    outcome: list[dict] = []
    for signal in (window.trainer.finished, window.trainer.failed, window.trainer.stopped):
        signal.connect(outcome.append)
    with tempfile.TemporaryDirectory() as runs:
        window.runs_root_override = Path(runs)
        window.trainer.start(window.document.spec, TrainingConfig(dataset="digits", epochs=1),
                             Path(runs), name="self-test")
        deadline = time.monotonic() + WORKER_TIMEOUT_S
        while not outcome and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.02)
        if not outcome:
            window.trainer.kill()
    event = outcome[0] if outcome else {"type": "timeout", "message": "no answer from the worker"}
    trained = event["type"] == "finished"
    detail = (f"test accuracy {100 * event['test_accuracy']:.1f}% after one epoch" if trained
              else event.get("message", event["type"]))
    checks.append(("LeNet-5 trains one epoch on digits in the worker", trained, detail))
    window.deleteLater()
    app.processEvents()
    return checks


def main() -> int:
    multiprocessing.freeze_support()
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY") and sys.platform.startswith("linux"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from desktop.__main__ import release_clipboard

    from desktop.workers import shared_engine

    started = time.perf_counter()
    app = QApplication.instance() or QApplication([sys.argv[0]])
    shared_engine().warm_up()
    ok, detail = check_templates(app)
    checks = [("every template builds in Keras", ok, detail)]
    checks += check_training_and_window(app)
    shared_engine().shutdown()
    for name, passed, info in checks:
        print(f"[{'ok' if passed else 'FAILED'}] {name}: {info}")
    failed = sum(not passed for _, passed, _ in checks)
    print(f"self-test: {len(checks) - failed} passed, {failed} failed in {time.perf_counter() - started:.1f} s")
    release_clipboard(app)
    return 0 if not failed else 1
