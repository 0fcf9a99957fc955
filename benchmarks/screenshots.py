"""The README's pictures, and the check a person does after a GUI change: every workspace in
a realistic state (LeNet-5 loaded and trained on digits, C1 selected, filters shown), at
1280x800 and 1920x1080, light and dark.

    python benchmarks/screenshots.py [OUT_FOLDER] [--readme]

Trains one short real run in the window's own engine (about half a minute), then grabs
`<workspace>-<width>x<height>-<theme>.png` into OUT_FOLDER (default /tmp/cnn-studio-shots);
--readme also writes the README's pictures into resources/screenshots/.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("CNN_STUDIO_TENSORBOARD", "0")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SIZES = ((1280, 800), (1920, 1080))
SCREENSHOTS = Path(__file__).resolve().parents[1] / "resources" / "screenshots"
README_PICTURES = {  # README picture -> (workspace, size, theme)
    "main-window.png": ("design", (1280, 800), "light"),
    "inspect-kernels.png": ("inspect", (1280, 800), "dark"),
}


def settle(app, seconds: float = 0.3) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def wait_for(app, condition, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise SystemExit(f"gave up waiting for {what}")
        app.processEvents()
        time.sleep(0.02)


def train(app, window, dataset: str, epochs: int, samples: int, grab_during: Path | None = None) -> None:
    """A real run from the Train workspace; `grab_during` gets the window mid-run."""
    panel = window.training
    panel.set_dataset(dataset)
    panel.epochs_spin.setValue(epochs)
    panel.max_samples_spin.setValue(samples)
    panel.wait_for_preview()
    done, epochs_seen = [], []
    window.trainer.finished.connect(done.append)
    window.trainer.failed.connect(done.append)
    window.trainer.epoch_ended.connect(epochs_seen.append)
    if not window.train_now():
        raise SystemExit("training did not start")
    if grab_during is not None:
        wait_for(app, lambda: len(epochs_seen) >= epochs // 2 or done, 300, "half the run")
        settle(app, 0.3)
        window.grab().save(str(grab_during))
    wait_for(app, lambda: done, 300, "the training run")
    if done[0].get("type") != "finished":
        raise SystemExit(f"training failed: {done[0]}")


def lab_settled(app, window, seconds: float = 120) -> None:
    lab = window.lab
    wait_for(app, lambda: not lab.images_task.is_running() and not any(
        page.task.is_running() for page in lab.pages if hasattr(page, "task")), seconds, "the Lab")
    settle(app, 0.5)


def readme_pictures(app, window) -> None:
    """The pictures the README shows beside the ones README_PICTURES names."""
    apply_theme = __import__("desktop.theme", fromlist=["apply_theme"]).apply_theme
    apply_theme(app, "light")
    window.resize(1280, 800)
    window.show_monitor()
    window.monitor.tabs.setCurrentIndex(2)  # Results
    settle(app, 0.8)
    window.grab().save(str(SCREENSHOTS / "training-results.png"))
    window.monitor.tabs.setCurrentIndex(0)
    window.resize(1600, 1000)
    window.workspaces.show_workspace("inspect")
    lab = window.lab
    lab.tabs.setCurrentWidget(lab.compare_tab)
    lab_settled(app, window)
    window.grab().save(str(SCREENSHOTS / "lab-lenet5-handcrafted.png"))
    lab.tabs.setCurrentWidget(lab.baselines_tab)
    lab.baselines_tab.compare.click()
    lab_settled(app, window, 300)
    window.grab().save(str(SCREENSHOTS / "lab-lenet5-baselines.png"))
    # VGG-mini on the generated shapes, far from trained, yet its edge detectors show.
    window.resize(1280, 800)
    window.open_template("vgg-mini")
    window.training.set_dataset("shapes")
    window.training.wait_for_preview()
    window.training.fix_output_units()
    train(app, window, "shapes", 4, 1200)
    window.lab.set_run(str(window.trainer.last_run_dir))
    window.resize(1600, 1000)
    window.workspaces.show_workspace("inspect")
    window.lab.show_layer("conv1_1")  # VGG-mini's first convolution: 32 maps
    lab_settled(app, window)
    window.grab().save(str(SCREENSHOTS / "lab-vgg-shapes-feature-maps.png"))


def main(argv: list[str]) -> int:
    from PySide6.QtWidgets import QApplication

    from desktop.main_window import MainWindow
    from desktop.theme import apply_theme

    out = Path(next((a for a in argv if not a.startswith("--")), "/tmp/cnn-studio-shots"))
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication([])
    apply_theme(app, "light")
    window = MainWindow()
    window.runs_root_override = Path(tempfile.mkdtemp(prefix="cnn-studio-shots-")) / "runs"
    window.runs.set_root(window.runs_root_override)
    window.open_template("lenet5")
    window.resize(*SIZES[0])
    window.show()
    settle(app, 1.0)
    readme = "--readme" in argv
    train(app, window, "digits", 6, 1200, SCREENSHOTS / "training-during.png" if readme else None)
    settle(app, 1.0)
    run_dir = window.runs.runs()[0].path
    window.runs.select_paths([str(run_dir)])
    window.lab.set_run(str(run_dir))
    conv = next(node for node in window.document.spec.nodes if node.name == "C1")
    window.scene.select_nodes([conv.id])
    written = []
    for theme in ("light", "dark"):
        apply_theme(app, theme)
        for width, height in SIZES:
            window.resize(width, height)
            for key in ("design", "train", "inspect"):
                window.workspaces.show_workspace(key)
                if key == "design":
                    window.view.show_network()
                settle(app, 2.5 if key == "inspect" else 0.5)
                path = out / f"{key}-{width}x{height}-{theme}.png"
                window.grab().save(str(path))
                written.append(path)
                for picture, wanted in README_PICTURES.items():
                    if readme and wanted == (key, (width, height), theme):
                        window.grab().save(str(SCREENSHOTS / picture))
    if readme:
        readme_pictures(app, window)
    print("\n".join(str(path) for path in written))
    window.engine.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
