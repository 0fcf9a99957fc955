"""The installed app against the source install: start-up to a painted window, and self-test.

    .venv/bin/python benchmarks/bench_startup.py [FROZEN_BINARY]

FROZEN_BINARY defaults to dist/cnn-studio/cnn-studio (`make package` builds it). Both run
offscreen with a scratch home (settings, recovery and runs never touch yours), LeNet-5 loaded:
the window reports its first paint (CNN_STUDIO_QUIT_AFTER_FIRST_PAINT) and quits. Baseline in
the same run: `python -c "import tensorflow"`, which the GUI never pays for.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = [str(Path(sys.executable).with_name("cnn-studio"))]
FROZEN = ROOT / "dist" / "cnn-studio" / "cnn-studio"
STARTS = 7
SELF_TESTS = 2


def scratch_environment(home: str) -> dict:
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": home,
            "XDG_CONFIG_HOME": f"{home}/config", "XDG_DATA_HOME": f"{home}/data",
            "XDG_STATE_HOME": f"{home}/state", "TF_CPP_MIN_LOG_LEVEL": "3"}


def seconds_to_first_paint(command: list[str], environment: dict) -> float:
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               env={**environment, "CNN_STUDIO_QUIT_AFTER_FIRST_PAINT": "1"})
    for line in process.stdout:
        if line.strip() == "first paint":
            elapsed = time.perf_counter() - started
            break
    else:
        raise SystemExit(f"{command[0]} exited without painting (code {process.wait()})")
    process.wait(timeout=60)
    return elapsed


def seconds_to_run(command: list[str], environment: dict) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, env=environment, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=600)
    return time.perf_counter() - started


def measure(label: str, runs: int, timer, command: list[str], environment: dict) -> tuple[str, float]:
    times = [timer(command, environment) for _ in range(runs)]
    return label, statistics.median(times)


def main() -> int:
    frozen = Path(sys.argv[1]) if len(sys.argv) > 1 else FROZEN
    if not frozen.exists():
        raise SystemExit(f"{frozen} not found: run `make package` first")
    with tempfile.TemporaryDirectory() as home:
        environment = scratch_environment(home)
        seconds_to_first_paint(SOURCE, environment)  # warm the page cache for both
        seconds_to_first_paint([str(frozen)], environment)
        rows = [
            measure("source install: start -> first painted window", STARTS, seconds_to_first_paint,
                    SOURCE, environment),
            measure("installed app:  start -> first painted window", STARTS, seconds_to_first_paint,
                    [str(frozen)], environment),
            measure('python -c "import tensorflow" (baseline)', 3, seconds_to_run,
                    [sys.executable, "-c", "import tensorflow"], environment),
            measure("source install: cnn-studio self-test", SELF_TESTS, seconds_to_run,
                    [*SOURCE, "self-test"], environment),
            measure("installed app:  cnn-studio self-test", SELF_TESTS, seconds_to_run,
                    [str(frozen), "self-test"], environment),
        ]
    print(f"{'':50} median")
    for label, value in rows:
        print(f"{label:50} {value:6.2f} s")
    source_start, frozen_start = rows[0][1], rows[1][1]
    print(f"{'installed / source start-up':50} {frozen_start / source_start:6.2f}x")
    print(f"{'installed start-up / import tensorflow':50} {frozen_start / rows[2][1]:6.2f}x")
    print(f"{'installed / source self-test':50} {rows[4][1] / rows[3][1]:6.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
