import socket
import sys
from pathlib import Path

import pytest

from engine import tensorboard_launcher as tb
from engine.errors import ProjectError


def log_folder(root: Path) -> Path:
    """A run folder as training leaves it: an event file under logs/train."""
    (root / "logs" / "train").mkdir(parents=True)
    (root / "logs" / "train" / "events.out.tfevents.1.host.1.v2").write_bytes(b"")
    return root


def test_command_port_and_logs(tmp_path):
    port = tb.free_port()
    with socket.socket() as probe:
        probe.bind((tb.HOST, port))  # really free
    command = tb.tensorboard_command(tmp_path, port)
    assert command[-6:] == ["--logdir", str(tmp_path), "--host", tb.HOST, "--port", str(port)]
    beside = Path(sys.executable).parent / "tensorboard"
    assert command[0] == str(beside) if beside.is_file() else command[:3] == [
        sys.executable, "-m", "tensorboard.main"]
    assert tb.tensorboard_command(tmp_path, port, python=str(tmp_path / "python"))[:3] == [
        str(tmp_path / "python"), "-m", "tensorboard.main"]
    assert not tb.has_logs(tmp_path)
    assert tb.has_logs(log_folder(tmp_path / "run"))


def test_one_server_per_folder_reused_then_ended(tmp_path, monkeypatch):
    # A stand-in server (http.server starts in well under a second) with the launcher's logic.
    monkeypatch.setattr(tb, "tensorboard_command", lambda logdir, port, host=tb.HOST: [
        sys.executable, "-m", "http.server", str(port), "--bind", host, "--directory", logdir])
    launcher = tb.TensorBoardLauncher(start_timeout=20)
    first, second = log_folder(tmp_path / "a"), log_folder(tmp_path / "b")
    url = launcher.open(first)
    assert url.startswith(f"http://{tb.HOST}:") and launcher.open(first) == url
    assert launcher.open(second) != url and len(launcher.servers()) == 2
    processes = [server.process for server in launcher.servers()]
    launcher.shutdown()
    assert launcher.servers() == [] and all(p.poll() is not None for p in processes)


def test_clear_messages_without_logs_or_tensorboard(tmp_path, monkeypatch):
    launcher = tb.TensorBoardLauncher()
    with pytest.raises(ProjectError, match="no TensorBoard logs.*CNN_STUDIO_TENSORBOARD=0"):
        launcher.open(tmp_path)
    monkeypatch.setattr(tb, "tensorboard_installed", lambda: False)
    with pytest.raises(ProjectError, match="TensorBoard is not installed"):
        launcher.open(log_folder(tmp_path / "run"))


@pytest.mark.slow
def test_real_tensorboard_starts_on_a_run_folder(tmp_path):
    pytest.importorskip("tensorboard")
    launcher = tb.TensorBoardLauncher()
    try:
        url = launcher.open(log_folder(tmp_path / "run"))
        assert tb.wait_until_up(url, timeout=1)
    finally:
        launcher.shutdown()
