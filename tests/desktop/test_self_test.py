"""`cnn-studio self-test`, run as a user (or an installer check) would run it."""

import os
import shutil
import subprocess
import sys

import pytest


# The whole installation check (~30 s on 2 cores); its parts have their own tests in make test.
@pytest.mark.slow
def test_self_test_passes_on_this_installation(tmp_path):
    command = shutil.which("cnn-studio")
    args = [command, "self-test"] if command else [sys.executable, "-m", "desktop.launcher", "self-test"]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "CNN_STUDIO_CONFIG_DIR": str(tmp_path / "config"),
           "CNN_STUDIO_RECOVERY_DIR": str(tmp_path / "recovery")}
    result = subprocess.run(args, capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    assert "self-test: 3 passed, 0 failed" in result.stdout
