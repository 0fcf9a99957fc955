"""Copied blocks on the system clipboard: JSON under MIME_NODES (and as text, so a copy
can be read or pasted into a bug report). The engine decides what a paste adds."""

from __future__ import annotations

import json

from PySide6.QtCore import QByteArray, QMimeData
from PySide6.QtGui import QGuiApplication

from desktop.style import MIME_NODES
from engine.graph.spec import NetworkSpec


def copy_nodes(spec: NetworkSpec, node_ids: list[str]) -> bool:
    """Put these blocks, the connections among them and their positions on the clipboard."""
    ids = set(node_ids)
    if not ids:
        return False
    data = {
        "nodes": [n.to_dict() for n in spec.nodes if n.id in ids],
        "edges": [e.to_dict() for e in spec.edges if e.source[0] in ids and e.target[0] in ids],
        "layout": {k: list(v) for k, v in spec.layout.items() if k in ids},
    }
    mime = QMimeData()
    mime.setData(MIME_NODES, QByteArray(json.dumps(data).encode("utf-8")))
    mime.setText(json.dumps(data, indent=2))
    QGuiApplication.clipboard().setMimeData(mime)
    return True


def copied_nodes() -> dict | None:
    """What copy_nodes put on the clipboard, or None when it holds something else."""
    mime = QGuiApplication.clipboard().mimeData()
    if mime is None or not mime.hasFormat(MIME_NODES):
        return None
    try:
        data = json.loads(bytes(mime.data(MIME_NODES)).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("nodes"), list) and data["nodes"] else None


def has_copied_nodes() -> bool:
    mime = QGuiApplication.clipboard().mimeData()
    return mime is not None and mime.hasFormat(MIME_NODES)
