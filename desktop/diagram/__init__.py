"""The network as a "building blocks" figure (lecture notes, section 4.2.4).

Feature maps are drawn as 3-D boxes, like the classic LeNet/AlexNet figures: the front
face is height (H) by thickness (channels, C), the oblique side face is the spatial grid
H x W, and operations are arrows between the boxes, labelled with what they do ("conv 5x5
+ tanh", "max pool 2x2", "dense"). A small window on the side face of a box shows the
kernel (receptive window) of the convolution or pooling that reads it. Vectors (after
Flatten, global pooling or Dense) are thin tall bars. The shape is written under each box.

Element-wise, shape-preserving blocks (Activation, Dropout, BatchNormalization) get no box
of their own: they are folded into the label of the operation next to them, so a
conv -> BN -> ReLU chain is one arrow "conv 3x3 + BN + ReLU".

Branching networks (residual, inception) use the layered layout of engine.graph.layout:
depth is the column, parallel branches stack vertically, fan-outs share a vertical trunk,
merges collect every branch on a trunk before one labelled arrow, and long shortcuts run
in a lane above (or below) the blocks they skip.

Pure QPainter: the same drawing goes to a QImage (PNG), an SVG or a widget. Never imports
TensorFlow/Keras.
"""

from desktop.diagram.export import (diagram_size, export_diagram_png, export_diagram_svg,
                                    paint_diagram, render_diagram_image)
from desktop.diagram.renderer import DiagramRenderer
from desktop.diagram.words import operation_parts

__all__ = ["DiagramRenderer", "diagram_size", "export_diagram_png", "export_diagram_svg",
           "operation_parts", "paint_diagram", "render_diagram_image"]
