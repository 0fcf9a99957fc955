import json
import os

import pytest

from engine.errors import ProjectError
from engine.graph.io import atomic_write_text, load_spec, save_spec, spec_from_json
from engine.graph.spec import FORMAT_VERSION, NetworkSpec
from tests.engine.helpers import small_cnn


def test_json_round_trip_is_exact(tmp_path):
    spec = small_cnn()
    path = tmp_path / "net.json"
    save_spec(spec, path)
    loaded = load_spec(path)
    assert loaded == spec
    assert loaded.to_json() == path.read_text(encoding="utf-8")


def test_layout_is_kept_apart_from_node_meaning():
    data = small_cnn().to_dict()
    assert set(data) == {"format_version", "name", "description", "nodes", "edges", "layout"}
    assert all(set(node) == {"id", "type", "name", "params"} for node in data["nodes"])
    assert all(list(pos) == [0.0, 0.0] for pos in data["layout"].values())
    assert data["edges"][0] == {"source": ["n1", 0], "target": ["n2", 0]}


def test_missing_params_get_catalogue_defaults():
    data = small_cnn().to_dict()
    del data["nodes"][1]["params"]["strides"]
    spec = NetworkSpec.from_dict(data)
    assert spec.node("n2").params["strides"] == [1, 1]


def test_int_kernel_size_is_normalised_to_a_pair():
    data = small_cnn().to_dict()
    data["nodes"][1]["params"]["kernel_size"] = 5
    assert NetworkSpec.from_dict(data).node("n2").params["kernel_size"] == [5, 5]


def _broken(mutate):
    data = small_cnn().to_dict()
    mutate(data)
    return json.dumps(data)


@pytest.mark.parametrize("mutate, expected", [
    (lambda d: d.update(format_version=99), "format_version 99"),
    (lambda d: d["nodes"][1].update(type="Conv3D"), "unknown block type 'Conv3D'"),
    (lambda d: d["nodes"][1]["params"].update(filters="many"), "n2"),
    (lambda d: d["nodes"][1]["params"].update(filters=-3), "filters"),
    (lambda d: d["nodes"][1]["params"].update(padding="full"), "padding"),
    (lambda d: d["nodes"][1]["params"].update(dilation=2), "unknown parameter 'dilation'"),
    (lambda d: d["nodes"][2].update(id="n1"), "Duplicate node id 'n1'"),
    (lambda d: d["edges"].append({"source": ["ghost", 0], "target": ["n3", 0]}), "'ghost' does not exist"),
    (lambda d: d["edges"].append({"source": ["n1", 0], "target": ["n3", 0]}), "connected twice"),
    (lambda d: d["edges"][0].update(source="n1"), "edges[0].source"),
    (lambda d: d["layout"].update(ghost=[0, 0]), "ghost"),
    (lambda d: d.update(nodes="none"), "'nodes' list"),
])
def test_bad_files_raise_one_error_type_naming_the_problem(mutate, expected):
    with pytest.raises(ProjectError, match=None) as caught:
        spec_from_json(_broken(mutate))
    assert expected in str(caught.value)


def test_invalid_json_and_missing_file(tmp_path):
    with pytest.raises(ProjectError, match="not valid JSON"):
        spec_from_json("{ nodes: ")
    with pytest.raises(ProjectError, match="does not exist"):
        load_spec(tmp_path / "missing.json")
    binary = tmp_path / "garbage.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ProjectError, match="not a text"):
        load_spec(binary)


def test_format_version_is_written():
    assert small_cnn().to_dict()["format_version"] == FORMAT_VERSION


def test_atomic_write_replaces_whole_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "project.json"
    atomic_write_text(path, "old")
    atomic_write_text(path, "new")
    assert path.read_text() == "new"
    assert os.listdir(tmp_path) == ["project.json"]


def test_atomic_write_keeps_permissions_and_follows_the_umask(tmp_path):
    fresh, reference = tmp_path / "fresh.json", tmp_path / "reference.json"
    atomic_write_text(fresh, "{}")
    reference.write_text("{}")
    # as open() makes a file under this umask (usually 0644), not mkstemp's 0600
    assert fresh.stat().st_mode & 0o777 == reference.stat().st_mode & 0o777
    shared = tmp_path / "shared.json"
    shared.write_text("old")
    shared.chmod(0o664)
    atomic_write_text(shared, "new")
    assert shared.stat().st_mode & 0o777 == 0o664


def test_write_to_missing_folder_is_a_project_error(tmp_path):
    with pytest.raises(ProjectError, match="Cannot write"):
        save_spec(small_cnn(), tmp_path / "no" / "such" / "folder.json")
