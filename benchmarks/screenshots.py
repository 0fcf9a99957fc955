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
README_PICTURES = {  # README picture -> (workspace, size, theme)
    "main-window.png": ("design", (1280, 800), "light"),
    "training-results.png": ("train", (1280, 800), "light"),
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


def train_lenet(app, window) -> None:
    panel = window.training
    panel.set_dataset("digits")
    panel.epochs_spin.setValue(6)
    panel.max_samples_spin.setValue(1200)
    panel.wait_for_preview()
    done = []
    window.trainer.finished.connect(lambda event: done.append(event))
    window.trainer.failed.connect(lambda event: done.append(event))
    if not window.train_now():
        raise SystemExit("training did not start")
    wait_for(app, lambda: done, 300, "the training run")


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
    train_lenet(app, window)
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
                    if "--readme" in argv and wanted == (key, (width, height), theme):
                        window.grab().save(str(Path(__file__).resolve().parents[1]
                                               / "resources" / "screenshots" / picture))
    print("\n".join(str(path) for path in written))
    window.engine.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
