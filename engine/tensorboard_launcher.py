"""Start TensorBoard on a run folder and hand back its address: one process per log folder,
reused while it lives, all ended at exit.

Training writes TensorBoard logs under `<run folder>/logs` (engine/training/fit.py; none
when CNN_STUDIO_TENSORBOARD=0). `TensorBoardLauncher.open(run_dir)` blocks until the server
answers, so a window calls it off its GUI thread.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ProjectError

HOST = "127.0.0.1"
START_TIMEOUT = 60.0   # seconds: TensorBoard imports TensorFlow when it is installed
EVENT_FILE_PREFIX = "events.out.tfevents"


def has_logs(run_dir: str | os.PathLike) -> bool:
    """Whether a folder holds any TensorBoard event file (at any depth)."""
    folder = Path(run_dir)
    return folder.is_dir() and any(folder.rglob(f"{EVENT_FILE_PREFIX}*"))


def tensorboard_installed() -> bool:
    return importlib.util.find_spec("tensorboard") is not None


def free_port(host: str = HOST) -> int:
    """A port nobody listens on now: the one the system picks for port 0."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def tensorboard_command(logdir: str | os.PathLike, port: int, host: str = HOST,
                        python: str = sys.executable) -> list[str]:
    """The command line: the `tensorboard` script beside this Python, else `python -m`."""
    folder = Path(python).parent
    script = next((folder / name for name in ("tensorboard", "tensorboard.exe")
                   if (folder / name).is_file()), None)
    program = [str(script)] if script else [python, "-m", "tensorboard.main"]
    return program + ["--logdir", str(logdir), "--host", host, "--port", str(port)]


def wait_until_up(url: str, process: subprocess.Popen | None = None,
                  timeout: float = START_TIMEOUT, interval: float = 0.2) -> bool:
    """Poll `url` until it answers; False when the process exits or the time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=1.0):
                return True
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(interval)
    return False


@dataclass
class Server:
    logdir: str
    url: str
    process: subprocess.Popen


class TensorBoardLauncher:
    """The TensorBoard servers this application started, by log folder."""

    def __init__(self, start_timeout: float = START_TIMEOUT):
        self.start_timeout = start_timeout
        self._servers: dict[str, Server] = {}
        self._lock = threading.Lock()  # two clicks on one run must not start two servers
        atexit.register(self.shutdown)  # the fallback: the window calls shutdown() at quit

    def servers(self) -> list[Server]:
        return [server for server in self._servers.values() if server.process.poll() is None]

    def open(self, run_dir: str | os.PathLike) -> str:
        """The address of a TensorBoard showing `run_dir`, started (and waited for) unless
        one already runs. ProjectError with what to do when it cannot be."""
        logdir = str(Path(run_dir).resolve())
        with self._lock:  # held while it starts: a second click waits, then reuses it
            server = self._servers.get(logdir)
            if server is not None and server.process.poll() is None:
                return server.url
            if not tensorboard_installed():
                raise ProjectError("TensorBoard is not installed: pip install tensorboard, then "
                                   "try again.")
            if not has_logs(logdir):
                raise ProjectError(f"This run has no TensorBoard logs ({logdir}). Runs trained with "
                                   "CNN_STUDIO_TENSORBOARD=0 write none; train again without it.")
            server = self._start(logdir)
            self._servers[logdir] = server
            if not wait_until_up(server.url, server.process, self.start_timeout):
                code = server.process.poll()
                self._end(server)
                raise ProjectError(f"TensorBoard did not start within {self.start_timeout:.0f} s"
                                   + (f" (exit code {code})" if code is not None else "")
                                   + f". Try `tensorboard --logdir {logdir}` in a terminal to "
                                   "see why.")
            return server.url

    def _start(self, logdir: str) -> Server:
        port = free_port()
        try:
            process = subprocess.Popen(tensorboard_command(logdir, port),
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                       stdin=subprocess.DEVNULL)
        except OSError as error:
            raise ProjectError(f"Cannot start TensorBoard: {error}.") from None
        return Server(logdir=logdir, url=f"http://{HOST}:{port}/", process=process)

    def _end(self, server: Server) -> None:
        self._servers.pop(server.logdir, None)
        if server.process.poll() is None:
            server.process.terminate()
            try:
                server.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait(timeout=5)

    def shutdown(self) -> None:
        """End every server this launcher started."""
        for server in list(self._servers.values()):
            self._end(server)
