"""The built-in networks, one JSON project file each under resources/templates/."""

from __future__ import annotations

from dataclasses import dataclass

from engine.errors import ProjectError
from engine.graph.io import load_spec
from engine.graph.spec import NetworkSpec
from engine.paths import TEMPLATES_DIR

DEFAULT_TEMPLATE = "lenet5"


@dataclass(frozen=True)
class TemplateInfo:
    key: str
    title: str
    description: str


def template_keys() -> list[str]:
    keys = sorted(path.stem for path in TEMPLATES_DIR.glob("*.json"))
    # LeNet-5 first: it is the default and the simplest.
    return sorted(keys, key=lambda key: (key != DEFAULT_TEMPLATE, key))


def load_template(key: str) -> NetworkSpec:
    if key not in template_keys():
        raise ProjectError(f"Unknown template {key!r}. Available: {', '.join(template_keys())}.")
    return load_spec(TEMPLATES_DIR / f"{key}.json")


def list_templates() -> list[TemplateInfo]:
    infos = []
    for key in template_keys():
        spec = load_template(key)
        infos.append(TemplateInfo(key=key, title=spec.name, description=spec.description))
    return infos
