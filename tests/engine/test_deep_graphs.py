"""A deep chain builds, saves and loads without RecursionError (Keras walks graphs
recursively; a 1,000-block chain used to overflow the recursion limit)."""

import pytest

from engine.build import build_model
from engine.deep_graphs import load_keras_model
from engine.export import export_keras
from engine.graph.spec import NetworkSpec


def dense_chain(blocks: int) -> NetworkSpec:
    nodes = [{"id": "n0", "type": "InputLayer", "name": "input", "params": {"shape": [4, 4, 1]}},
             {"id": "n1", "type": "Flatten", "name": "flatten", "params": {}}]
    nodes += [{"id": f"n{i}", "type": "Dense", "name": f"dense_{i}", "params": {"units": 2}}
              for i in range(2, blocks)]
    edges = [{"source": [f"n{i}", 0], "target": [f"n{i + 1}", 0]} for i in range(blocks - 1)]
    return NetworkSpec.from_dict({"format_version": 1, "nodes": nodes, "edges": edges})


def test_room_for_a_deep_graph_lasts_only_as_long_as_the_work():
    """The mechanism, in milliseconds (the real deep builds below take a minute and run in
    make test-all): the limit fits the depth inside, and is put back after, so that other
    runaway recursion (a project nested 100,000 deep) still raises RecursionError."""
    import sys

    from engine.deep_graphs import FRAMES_PER_LAYER, room_for

    before = sys.getrecursionlimit()
    with room_for(2000):
        with room_for(40):  # overlapping work shares the raised limit
            assert sys.getrecursionlimit() >= 1000 + FRAMES_PER_LAYER * 2000
        assert sys.getrecursionlimit() >= 1000 + FRAMES_PER_LAYER * 2000
    assert sys.getrecursionlimit() == before
    build_model(dense_chain(40))
    assert sys.getrecursionlimit() == before


@pytest.mark.slow
def test_a_1200_block_chain_builds():
    model = build_model(dense_chain(1200))
    assert len(model.layers) == 1200


@pytest.mark.slow
def test_a_5000_block_chain_builds_exports_and_loads(tmp_path):
    spec = dense_chain(5000)
    path = tmp_path / "deep.keras"
    export_keras(spec, path)
    assert len(load_keras_model(path).layers) == 5000
