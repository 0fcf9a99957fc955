"""How long does a user wait for Keras work in the window? The warm engine's latencies.

Drives the real window (offscreen) as a user would, with the app's real warm workers:

1. Train pressed the moment the window appears: time to the first feedback in the Monitor
   ("starting" / a phase line) and to the first live progress (a batch on screen).
2. Train pressed once the window has been up 10 s (a user reads the canvas first): time to
   the first live progress.
3. Features Lab on the finished run: the first tab, then another tab, feature maps for a new
   image, and "Baselines & probes".
4. Export as a Keras script and as `.keras`; `cnn-studio import missing.keras` on the CLI.
5. Memory: the GUI process after the runs, and each worker.

Each figure is printed beside its target and the figure measured before the warm engine
(issue 12: every action started a fresh process that imported TensorFlow).

    .venv/bin/python benchmarks/bench_latency.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CNN_STUDIO_TENSORBOARD", "0")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# (label, target seconds or MB, before the warm engine)
ROWS: list[tuple[str, float, float, str, float | None]] = []


def row(label: str, value: float, target: float, unit: str = "s", before: float | None = None) -> None:
    ROWS.append((label, value, target, unit, before))
    verdict = "met" if value <= target else "NOT met"
    was = f"   (before: {before:g} {unit})" if before is not None else ""
    print(f"  {label:<46} {value:8.2f} {unit}   target <= {target:g} {unit}: {verdict}{was}",
          flush=True)


def wait_until(app, condition, timeout: float) -> float:
    """Seconds until condition() holds (processing Qt events), or raise after timeout."""
    started = time.perf_counter()
    while not condition():
        app.processEvents()
        time.sleep(0.002)
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"still waiting after {timeout} s")
    return time.perf_counter() - started


def rss_mb(pid: int | None) -> float:
    if not pid:
        return float("nan")
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Watch:
    """When the window's trainer first reported feedback and progress, from Train pressed."""

    def __init__(self, window):
        self.pressed = None
        self.feedback = None
        self.progress = None
        client = window.trainer
        client.state_changed.connect(lambda state: self._feedback())
        client.phase.connect(lambda event: self._feedback())
        client.batch_ended.connect(lambda event: self._progress())
        client.epoch_ended.connect(lambda event: self._progress())
        self.ended = False
        for signal in (client.finished, client.stopped, client.failed):
            signal.connect(lambda event: setattr(self, "ended", True))

    def press(self, window) -> None:
        self.pressed = time.perf_counter()
        window.training.train_button.click()

    def _feedback(self) -> None:
        if self.pressed and self.feedback is None:
            self.feedback = time.perf_counter() - self.pressed

    def _progress(self) -> None:
        if self.pressed and self.progress is None:
            self.progress = time.perf_counter() - self.pressed


def new_window(app, engine, runs: Path):
    from desktop.main_window import MainWindow

    window = MainWindow(engine=engine)
    window.runs_root_override = runs
    window.open_template("lenet5")
    window.resize(1280, 800)
    window.show()
    wait_until(app, lambda: window.engine.workers["training"].state != "not started", 10)
    return window


def train_scenarios(app, runs: Path) -> str:
    from desktop.workers import Engine

    print("Training (LeNet-5 on digits, the default settings):")
    engine = Engine()
    window = new_window(app, engine, runs)
    watch = Watch(window)
    watch.press(window)
    wait_until(app, lambda: watch.progress is not None, 180)
    row("Train at once: first feedback", watch.feedback, 0.2)
    warm = engine.workers["training"].warm_seconds or float("nan")
    row("Train at once: first progress (engine warming)", watch.progress, warm + 2.0, before=7.8)
    print(f"    (the training worker took {warm:.1f} s to load Keras and warm up)")
    wait_until(app, lambda: watch.ended, 300)
    window.close()
    engine.shutdown()

    engine = Engine()
    window = new_window(app, engine, runs)
    started = time.perf_counter()
    while time.perf_counter() - started < 10.0:
        app.processEvents()
        time.sleep(0.01)
    watch = Watch(window)
    watch.press(window)
    wait_until(app, lambda: watch.progress is not None, 180)
    row("Train after 10 s: first progress", watch.progress, 2.0, before=7.8)
    wait_until(app, lambda: watch.ended, 300)
    window._bench_engine = engine
    return window


def lab_scenarios(app, window) -> None:
    lab = window.lab
    run_dir = window.trainer.last_run_dir
    print("Features Lab (the run just trained):")
    window.workspaces.show_workspace("inspect")
    lab.set_run(run_dir)
    wait_until(app, lambda: bool(lab.images), 120)
    tabs = {name: index for index, name in enumerate(
        lab.tabs.tabText(i) for i in range(lab.tabs.count()))}

    def show_tab(name: str, timeout: float = 120, press=None) -> float:
        page = lab.pages[tabs[name]]
        started = time.perf_counter()
        lab.tabs.setCurrentIndex(tabs[name])
        if press is not None:
            getattr(page, press).click()
        wait_until(app, lambda: page.loaded_key is not None and not page.task.is_running(), timeout)
        if page.result is None:
            raise RuntimeError(f"{name}: {page.status.text()}")
        return time.perf_counter() - started

    first = show_tab("Hand-crafted vs learned")
    print(f"  first tab (hand-crafted vs learned)            {first:8.2f} s")
    row("Another Lab tab (feature maps)", show_tab("Feature maps"), 1.0, before=9.0)
    page = lab.pages[tabs["Feature maps"]]
    page.result = None
    started = time.perf_counter()
    lab.image_combo.setCurrentIndex(3)
    wait_until(app, lambda: page.result is not None and not page.task.is_running(), 60)
    row("Feature maps for a new image", time.perf_counter() - started, 0.5)
    row("Another Lab tab (weights)", show_tab("Weights"), 1.0, before=9.0)
    row("Baselines & probes", show_tab("Baselines && probes", 300, press="compare"), 8.0, before=41.0)


def export_scenarios(app, window, folder: Path) -> None:
    print("Export and import:")
    for kind, name, before in (("python", "lenet5.py", 6.0), ("keras", "lenet5.keras", 7.0)):
        started = time.perf_counter()
        window.export_model(kind, folder / name)
        wait_until(app, lambda: not window.task.is_running(), 120)
        row(f"Export {name}", time.perf_counter() - started, 1.5, before=before)
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "engine.cli", "import", str(folder / "missing.keras"), "-o", str(folder / "out.json")],
                            capture_output=True, text=True, cwd=ROOT)
    row("cnn-studio import missing.keras", time.perf_counter() - started, 0.5, before=7.5)
    print(f"    exit {result.returncode}: {result.stderr.strip()}")


def main() -> int:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        window = train_scenarios(app, scratch / "runs")
        lab_scenarios(app, window)
        export_scenarios(app, window, scratch)
        engine = window._bench_engine
        print("Memory:")
        row("GUI process RSS after two runs", rss_mb(os.getpid()), 350.0, "MB", before=364.0)
        for role in ("training", "inspection"):
            print(f"  {role} worker RSS {rss_mb(engine.pid(role)):8.0f} MB")
        window.close()
        engine.shutdown()
    missed = [label for label, value, target, _, _ in ROWS if value > target]
    print(f"\n{len(ROWS) - len(missed)} of {len(ROWS)} targets met" +
          (f"; not met: {', '.join(missed)}" if missed else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
