"""A save killed at any moment leaves the previous file whole: a subprocess saves two big
projects in turn to one path and is SIGKILLed, at random moments and the moment its
temporary file appears (mid-write); each time, the file on disk is exactly one of the two,
never a mixture or a fragment."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from engine.graph.io import load_spec, save_spec
from engine.templates import load_template

ROOT = Path(__file__).resolve().parents[2]
KILLS = 12

SAVER = """
import itertools, sys
from engine.graph.io import load_spec, save_spec
target, *sources = sys.argv[1:]
specs = [load_spec(source) for source in sources]
print("saving", flush=True)
for spec in itertools.cycle(specs):
    save_spec(spec, target)
"""


def big_project(template: str, copies: int):
    """A template's blocks repeated side by side: a project file of a few megabytes."""
    data = load_template(template).to_dict()
    nodes, edges, layout = [], [], {}
    for copy in range(copies):
        ids = {node["id"]: f"{node['id']}_{copy}" for node in data["nodes"]}
        nodes += [{**node, "id": ids[node["id"]], "name": f"{node['name']} {copy}"} for node in data["nodes"]]
        edges += [{"source": [ids[e["source"][0]], e["source"][1]],
                   "target": [ids[e["target"][0]], e["target"][1]]} for e in data["edges"]]
        layout |= {ids[key]: [x + 300.0 * copy, y] for key, (x, y) in data["layout"].items()}
    return {**data, "nodes": nodes, "edges": edges, "layout": layout}


def wait_for_a_temporary_file(folder: Path, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(entry.name.endswith(".tmp") for entry in os.scandir(folder)):
            return


def test_sigkill_during_saves_never_leaves_a_broken_file(tmp_path):
    versions = []
    for name, (template, copies) in {"a": ("lenet5", 400), "b": ("vgg-mini", 250)}.items():
        source = tmp_path / f"{name}.json"
        source.write_text(json.dumps(big_project(template, copies)))
        versions.append(load_spec(source).to_dict())
    target = tmp_path / "project.json"
    save_spec(load_spec(tmp_path / "a.json"), target)
    rng = random.Random(8)
    interrupted_writes = 0
    for kill in range(KILLS):
        saver = subprocess.Popen([sys.executable, "-c", SAVER, str(target), str(tmp_path / "a.json"),
                                  str(tmp_path / "b.json")], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert saver.stdout.readline().strip() == "saving"
        if kill % 2:
            time.sleep(rng.uniform(0.0, 0.4))
        else:
            wait_for_a_temporary_file(tmp_path)
        saver.send_signal(signal.SIGKILL)
        saver.wait()
        on_disk = load_spec(target).to_dict()  # never a ProjectError: always a whole file
        assert on_disk in versions
        leftovers = list(tmp_path.glob(".project.json.*.tmp"))
        interrupted_writes += len(leftovers)
        for leftover in leftovers:  # a kill mid-write leaves its temporary file, never the target
            leftover.unlink()
    assert interrupted_writes >= KILLS // 4, "too few kills landed inside a write to prove anything"
    print(f"{KILLS} kills, {interrupted_writes} inside a write")
