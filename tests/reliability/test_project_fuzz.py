"""Hostile project files: every mutated file either loads into a valid spec or raises the
project error with a message; never another exception, never a hang."""

import copy
import json
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import ProjectError
from engine.graph.io import spec_from_json
from engine.graph.shapes import infer
from engine.graph.validate import validate
from engine.templates import load_template, template_keys

TEMPLATES = {key: load_template(key).to_dict() for key in template_keys()}
CASE_SECONDS = 2.0

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
                         st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30))
json_values = st.recursive(json_scalars, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)),
    max_leaves=12)


def paths(data, prefix=()):
    """Every (path to a value) in a JSON document."""
    yield prefix
    if isinstance(data, dict):
        for key, value in data.items():
            yield from paths(value, prefix + (key,))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from paths(value, prefix + (index,))


def replace_at(data, path, value):
    if not path:
        return value
    target = data
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return data


@st.composite
def mutated_projects(draw):
    data = copy.deepcopy(TEMPLATES[draw(st.sampled_from(sorted(TEMPLATES)))])
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        all_paths = list(paths(data))
        path = draw(st.sampled_from(all_paths))
        kind = draw(st.sampled_from(["replace", "delete", "duplicate", "huge", "negative"]))
        if kind == "replace":
            data = replace_at(data, path, draw(json_values))
        elif kind == "delete" and path:
            parent = data
            for step in path[:-1]:
                parent = parent[step]
            del parent[path[-1]]
        elif kind == "duplicate" and path and isinstance(path[-1], int):
            parent = data
            for step in path[:-1]:
                parent = parent[step]
            parent.append(copy.deepcopy(parent[path[-1]]))
        elif kind in ("huge", "negative"):
            data = replace_at(data, path, 10**12 if kind == "huge" else -7)
    return data


def load_or_refuse(text: str) -> None:
    started = time.perf_counter()
    try:
        spec = spec_from_json(text)
    except ProjectError as error:
        assert str(error).strip(), "a project error needs a message"
    else:
        validate(spec)  # a loaded spec must be analysable without raising
        infer(spec)
    assert time.perf_counter() - started < CASE_SECONDS


@settings(max_examples=1200, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated_projects())
def test_mutated_projects_load_or_raise_the_project_error(data):
    load_or_refuse(json.dumps(data, allow_nan=True))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.binary(max_size=200))
def test_binary_garbage_is_refused(blob):
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError:
        return  # load_spec refuses non-UTF-8 before parsing (tested in test_spec_io)
    load_or_refuse(text)


def test_truncated_files_and_deep_nesting_are_refused():
    text = load_template("resnet-mini").to_json()
    for cut in range(0, len(text), max(1, len(text) // 60)):
        load_or_refuse(text[:cut])
    load_or_refuse("[" * 100_000 + "]" * 100_000)
    load_or_refuse('{"format_version": 1, "nodes": ' + "[" * 50_000 + "]" * 50_000 + "}")


def test_a_100k_block_project_loads_and_is_analysed_in_bounded_time():
    count = 100_000
    nodes = [{"id": "n0", "type": "InputLayer", "name": "input", "params": {"shape": [8, 8, 1]}},
             {"id": "n1", "type": "Flatten", "name": "flatten", "params": {}}]
    nodes += [{"id": f"n{i}", "type": "Dense", "name": f"d{i}", "params": {"units": 4}}
              for i in range(2, count)]
    edges = [{"source": [f"n{i}", 0], "target": [f"n{i + 1}", 0]} for i in range(count - 1)]
    text = json.dumps({"format_version": 1, "nodes": nodes, "edges": edges})
    started = time.perf_counter()
    spec = spec_from_json(text)
    diagnostics = validate(spec, infer(spec))
    assert time.perf_counter() - started < 60  # linear work: ~4 s here; quadratic was minutes
    assert diagnostics == [] and len(spec.nodes) == count
