"""What each block says on its arrow ("conv 5x5", "max pool 2x2", "dense"): the block's
catalogue entry names its words (engine/blocks/words.py)."""

from __future__ import annotations

from engine.blocks.catalog import BLOCKS_BY_TYPE
from engine.graph.spec import NodeSpec


def operation_parts(node: NodeSpec) -> list[str]:
    """The words for one block on an arrow: the operation, then its built-in activation."""
    block = BLOCKS_BY_TYPE.get(node.type)
    if block is not None and block.arrow_words is not None:
        try:
            return block.arrow_words(node.params)
        except (KeyError, TypeError, ValueError):  # a half-edited parameter: the block's name
            pass
    return [block.label.lower() if block else node.type]
