"""Small builders for test graphs, through the real edits API."""

from engine.graph.edits import AddNode, Connect, new_node
from engine.graph.spec import EdgeSpec, NetworkSpec


class GraphBuilder:
    def __init__(self, name: str = "test"):
        self.spec = NetworkSpec(name=name)

    def add(self, type_name, params=None, inputs=(), name=None) -> str:
        node = new_node(self.spec, type_name, params, name=name)
        self.spec = AddNode(node, (0.0, 0.0)).apply(self.spec)
        for port, source in enumerate(inputs):
            self.spec = Connect(EdgeSpec((source, 0), (node.id, port))).apply(self.spec)
        return node.id


def small_cnn(input_shape=(16, 16, 1), classes=3) -> NetworkSpec:
    g = GraphBuilder("small")
    x = g.add("InputLayer", {"shape": list(input_shape)}, name="input")
    x = g.add("Conv2D", {"filters": 4, "kernel_size": [3, 3]}, [x], name="conv")
    x = g.add("MaxPooling2D", {}, [x], name="pool")
    x = g.add("Flatten", {}, [x], name="flatten")
    g.add("Dense", {"units": classes, "activation": "softmax"}, [x], name="output")
    return g.spec


def tiny_cnn(classes: int = 10, input_size: int = 8) -> NetworkSpec:
    """The smallest real CNN for digits: trains an epoch in well under a second."""
    g = GraphBuilder("tiny")
    x = g.add("InputLayer", {"shape": [input_size, input_size, 1]}, name="input")
    x = g.add("Conv2D", {"filters": 4, "padding": "same"}, [x], name="conv")
    x = g.add("MaxPooling2D", {}, [x], name="pool")
    x = g.add("Flatten", {}, [x], name="flatten")
    g.add("Dense", {"units": classes, "activation": "softmax"}, [x], name="output")
    return g.spec


def diverging_mlp() -> NetworkSpec:
    """Linear layers only: with squared error and a huge step the loss overflows to NaN."""
    g = GraphBuilder("diverges")
    x = g.add("InputLayer", {"shape": [8, 8, 1]})
    x = g.add("Flatten", {}, [x])
    for _ in range(3):
        x = g.add("Dense", {"units": 64, "activation": "linear"}, [x])
    g.add("Dense", {"units": 10, "activation": None}, [x])
    return g.spec
