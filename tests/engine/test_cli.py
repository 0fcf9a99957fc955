"""The CLI contract, run as a real subprocess (the installed `cnn-studio` entry point)."""

import json
import shutil
import subprocess
import sys

import pytest

CLI = [shutil.which("cnn-studio") or sys.executable, *([] if shutil.which("cnn-studio") else ["-m", "engine.cli"])]


def run(*args, check=True):
    result = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=300)
    if check:
        assert result.returncode == 0, result.stderr
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
    run("export", "--template", "lenet5", "--python", str(script))
    assert "import keras" in script.read_text()
    run("export", "--template", "lenet5", "--keras", str(model))
    out = run("import", str(model), "-o", str(project)).stdout
    assert "61,706 parameters" in out
    report = json.loads(run("check", str(project), "--json").stdout)
    assert report["total_params"] == 61_706
