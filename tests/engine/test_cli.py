"""The CLI contract, run as a real subprocess (the installed `cnn-studio` entry point)."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CLI = [shutil.which("cnn-studio") or sys.executable, *([] if shutil.which("cnn-studio") else ["-m", "engine.cli"])]


def run(*args, check=True):
    result = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=300)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def run_here(*args, check=True) -> subprocess.CompletedProcess:
    """The CLI's main() in this process (TensorFlow is already loaded here): for what the
    commands do. What only a real process shows (exit codes, Ctrl-C, no TensorFlow for a
    bad path) is tested with run()."""
    import contextlib
    import io

    from engine.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    result = subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())
    if check:
        assert code == 0, result.stderr
    return result


def test_version_and_templates():
    assert run("--version").stdout.startswith("cnn-studio ")
    listing = run("templates").stdout
    assert "lenet5" in listing and "resnet-mini" in listing


def test_check_table_for_lenet5():
    out = run("check", "--template", "lenet5").stdout
    assert "C1" in out and "28x28x6" in out and "Parameters: 61,706" in out
    assert "Problems: 0 error(s)" in out


def test_check_json_contract():
    report = json.loads(run("check", "--template", "lenet5", "--json").stdout)
    assert set(report) == {"valid", "diagnostics", "nodes", "total_params", "total_macs"}
    assert report["valid"] is True and report["total_params"] == 61_706
    first_conv = report["nodes"][1]
    assert set(first_conv) == {"id", "name", "type", "output_shape", "params", "macs", "receptive_field"}
    assert first_conv["output_shape"] == [28, 28, 6]
    assert first_conv["receptive_field"]["size"] == [5, 5]


def test_check_exits_1_on_graph_errors(tmp_path):
    project = tmp_path / "net.json"
    run("new", "--template", "lenet5", "-o", str(project))
    data = json.loads(project.read_text())
    data["edges"].pop(2)
    project.write_text(json.dumps(data))
    result = run("check", str(project), "--json", check=False)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["valid"] is False
    assert {"node_id", "severity", "message"} <= set(report["diagnostics"][0])


@pytest.mark.parametrize("args, message", [
    (["check", "missing.json"], "does not exist"),
    (["check", "--template", "alexnet"], "Unknown template 'alexnet'"),
])
def test_bad_input_is_one_line_exit_2(args, message):
    result = run(*args, check=False)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_broken_json_is_one_line_exit_2(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"format_version": 1, "nodes": [')
    result = run("check", str(broken), check=False)
    assert result.returncode == 2 and "not valid JSON" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_export_python_and_keras_then_import_round_trip(tmp_path):
    script, model, project = tmp_path / "lenet.py", tmp_path / "lenet.keras", tmp_path / "back.json"
    run_here("export", "--template", "lenet5", "--python", str(script))
    assert "import keras" in script.read_text()
    run_here("export", "--template", "lenet5", "--keras", str(model))
    out = run("import", str(model), "-o", str(project)).stdout  # one real process: the whole path
    assert "61,706 parameters" in out
    report = json.loads(run_here("check", str(project), "--json").stdout)
    assert report["total_params"] == 61_706


# -- bad paths: refused at once, before TensorFlow loads ---------------------------------------

posix_only = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes and /dev are POSIX")
QUICK = 60  # seconds: generous for a slow machine, but a command that hangs on a pipe fails


def bad_path(tmp_path, kind: str) -> str:
    """A path of the given kind where a file (or a run folder) is expected."""
    if kind == "fifo":
        os.mkfifo(tmp_path / "pipe.json")  # open() on it would block until a writer comes
        return str(tmp_path / "pipe.json")
    if kind == "folder":
        (tmp_path / "folder.json").mkdir()
        return str(tmp_path / "folder.json")
    if kind == "file":
        (tmp_path / "plain.json").write_text("{}")
        return str(tmp_path / "plain.json")
    if kind == "missing":
        return str(tmp_path / "missing.json")
    return kind  # a device: /dev/null, /dev/zero


def assert_one_line_exit_2(result, *words):
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cnn-studio: "), result.stderr
    assert all(word in lines[0] for word in words), lines[0]


FILE_KINDS = {"fifo": "named pipe", "folder": "is a folder", "/dev/null": "character device",
              "/dev/zero": "character device", "missing": "does not exist"}


@posix_only
@pytest.mark.parametrize("kind", FILE_KINDS)
@pytest.mark.parametrize("command", [["check"], ["import", "-o", "out.json"]])
def test_a_bad_file_path_is_one_line_exit_2(tmp_path, kind, command):
    path = bad_path(tmp_path, kind)
    result = subprocess.run([*CLI, command[0], path, *command[1:]], capture_output=True,
                            text=True, timeout=QUICK, cwd=tmp_path)
    assert_one_line_exit_2(result, path, FILE_KINDS[kind])


@posix_only
@pytest.mark.parametrize("args, words", [
    (["export", "{fifo}", "--python", "out.py"], ["named pipe", "project file"]),
    (["export", "--template", "lenet5", "--keras", "/dev/null"], ["Cannot write /dev/null"]),
    (["export", "--template", "lenet5", "--python", "{folder}"], ["Cannot write", "is a folder"]),
    (["new", "--template", "lenet5", "-o", "{missing}/net.json"], ["does not exist"]),
    (["train", "{fifo}", "--dataset", "digits"], ["named pipe", "project file"]),
    (["train", "--template", "lenet5", "--dataset", "npz:{fifo}"], ["named pipe", ".npz file"]),
    (["train", "--template", "lenet5", "--dataset", "folder:{file}"], ["not a folder"]),
    (["resume", "{fifo}"], ["named pipe", "not a run folder"]),
    (["resume", "{file}"], ["is a file, not a run folder"]),
    (["features", "/dev/zero"], ["character device", "not a run folder"]),
    (["features", "{missing}"], ["does not exist"]),
])
def test_every_command_checks_its_paths_first(tmp_path, args, words):
    kinds = {kind: bad_path(tmp_path, kind) for kind in ("fifo", "folder", "file", "missing")}
    args = [arg.format(**kinds) for arg in args]
    result = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=QUICK,
                            cwd=tmp_path)
    assert_one_line_exit_2(result, *words)


@posix_only
def test_an_unreadable_file_is_one_line_exit_2():
    # Root reads any file: then the command drops to "nobody" once Python and the CLI are
    # loaded (the interpreter itself may live where nobody can go, e.g. under /root).
    folder = Path(tempfile.mkdtemp())
    try:
        folder.chmod(0o755)
        secret = folder / "secret.keras"
        secret.write_text("{}")
        secret.chmod(0)
        drop = "os.setgroups([]); os.setgid(65534); os.setuid(65534); " if os.geteuid() == 0 else ""
        code = ("import multiprocessing, os, sys; import desktop.launcher, engine.cli; " + drop +
                f"sys.exit(desktop.launcher.main(['import', {str(secret)!r}, '-o', 'out.json']))")
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                timeout=QUICK, cwd=REPO)
        assert_one_line_exit_2(result, f"Cannot read {secret}: permission denied")
    finally:
        shutil.rmtree(folder)


def test_a_missing_model_is_refused_before_tensorflow_loads(tmp_path):
    """The `cnn-studio` entry point itself, in a fresh interpreter: nothing imports TensorFlow
    (seconds of loading) before the path is found wrong."""
    code = ("import sys; from desktop.launcher import main; "
            f"code = main(['import', {str(tmp_path / 'missing.keras')!r}, '-o', 'out.json']); "
            "print(code, sorted({'tensorflow', 'keras', 'jax', 'torch'} & set(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=QUICK, cwd=REPO)
    assert result.stdout.split() == ["2", "[]"], (result.stdout, result.stderr)
    assert "does not exist" in result.stderr
