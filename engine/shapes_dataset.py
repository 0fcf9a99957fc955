"""A generated dataset of simple shapes: small, offline, any size, and where translation matters.

Each image is one shape (circle, square, triangle, cross, line) drawn at a random position,
size and rotation on a random background level, with Gaussian noise. The same seed always
gives the same images, so runs are comparable.
"""

from __future__ import annotations

import numpy as np

SHAPE_CLASSES = ("circle", "square", "triangle", "cross", "line")
DEFAULT_IMAGE_SIZE = 32
DEFAULT_PER_CLASS = 300

# Half the shape's extent, as a fraction of the image side: small enough that the shape can
# sit anywhere in a wide band of positions, large enough to be recognisable at 32x32.
MIN_EXTENT, MAX_EXTENT = 0.18, 0.40


def class_counts(total: int, num_classes: int = len(SHAPE_CLASSES)) -> list[int]:
    """Split `total` images as evenly as possible over the classes (the first get the spare ones)."""
    base, spare = divmod(total, num_classes)
    return [base + (index < spare) for index in range(num_classes)]


def generate_shapes(counts: list[int] | None = None, image_size: int = DEFAULT_IMAGE_SIZE,
                    seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, S, S, 1) float32 in [0, 1] and labels (N,) int64, shuffled; counts per class."""
    counts = class_counts(DEFAULT_PER_CLASS * len(SHAPE_CLASSES)) if counts is None else counts
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.repeat(np.arange(len(SHAPE_CLASSES), dtype=np.int64), counts))
    total, size = len(labels), image_size

    # Every random parameter is drawn up front, in one fixed order, so the result depends on
    # the seed only (not on how the drawing code below happens to consume randomness).
    extent = rng.uniform(MIN_EXTENT, MAX_EXTENT, total) * size
    centre_row = rng.uniform(extent, size - extent)
    centre_col = rng.uniform(extent, size - extent)
    angle = rng.uniform(0.0, 2 * np.pi, total)
    background = rng.uniform(0.0, 0.3, total)
    foreground = rng.uniform(0.65, 1.0, total)
    noise_level = rng.uniform(0.02, 0.08, total)
    noise = rng.standard_normal((total, size, size), dtype=np.float32)

    images = np.empty((total, size, size), dtype=np.float32)
    for index in range(total):
        canvas = np.full((size, size), background[index], dtype=np.float32)
        draw = DRAWERS[SHAPE_CLASSES[labels[index]]]
        draw(canvas, centre_row[index], centre_col[index], extent[index], angle[index],
             foreground[index])
        images[index] = canvas
    images += noise * noise_level[:, None, None].astype(np.float32)
    np.clip(images, 0.0, 1.0, out=images)
    return images[..., None], labels


def _rotated(row: float, col: float, local_points: np.ndarray, angle: float):
    """Rotate (x, y) points about the origin and move them to (row, col): polygon vertices."""
    cos, sin = np.cos(angle), np.sin(angle)
    xs, ys = local_points[:, 0], local_points[:, 1]
    return row + xs * sin + ys * cos, col + xs * cos - ys * sin


def _fill(canvas: np.ndarray, rows: np.ndarray, cols: np.ndarray, value: float) -> None:
    from skimage.draw import polygon

    rr, cc = polygon(rows, cols, shape=canvas.shape)
    canvas[rr, cc] = value


def _bar(canvas, row, col, half_length, half_width, angle, value) -> None:
    """A filled rectangle centred on (row, col), its long side along `angle`."""
    corners = np.array([[-half_length, -half_width], [half_length, -half_width],
                        [half_length, half_width], [-half_length, half_width]])
    _fill(canvas, *_rotated(row, col, corners, angle), value)


def _draw_circle(canvas, row, col, extent, angle, value) -> None:
    from skimage.draw import disk

    # Radius chosen so the disk's area matches the square's: brightness alone can't tell them apart.
    rr, cc = disk((row, col), extent * np.sqrt(2 / np.pi), shape=canvas.shape)
    canvas[rr, cc] = value


def _draw_regular_polygon(sides: int):
    def draw(canvas, row, col, extent, angle, value) -> None:
        turns = 2 * np.pi * np.arange(sides) / sides
        vertices = np.stack([np.cos(turns), np.sin(turns)], axis=1) * extent
        _fill(canvas, *_rotated(row, col, vertices, angle), value)
    return draw


def _draw_cross(canvas, row, col, extent, angle, value) -> None:
    half_width = max(0.75, 0.18 * extent)
    _bar(canvas, row, col, extent, half_width, angle, value)
    _bar(canvas, row, col, extent, half_width, angle + np.pi / 2, value)


def _draw_line(canvas, row, col, extent, angle, value) -> None:
    from skimage.draw import line_aa

    # An anti-aliased centre line keeps thin lines unbroken; the bar gives them body at large sizes.
    half_width = 0.07 * extent
    if half_width >= 0.75:
        _bar(canvas, row, col, extent, half_width, angle, value)
    ends_row, ends_col = _rotated(row, col, np.array([[-extent, 0.0], [extent, 0.0]]), angle)
    rr, cc, weight = line_aa(*(int(round(v)) for v in (ends_row[0], ends_col[0],
                                                       ends_row[1], ends_col[1])))
    inside = (rr >= 0) & (rr < canvas.shape[0]) & (cc >= 0) & (cc < canvas.shape[1])
    rr, cc, weight = rr[inside], cc[inside], weight[inside]
    background = canvas[rr, cc]
    canvas[rr, cc] = np.maximum(background, background + (value - background) * weight)


DRAWERS = {
    "circle": _draw_circle,
    "square": _draw_regular_polygon(4),
    "triangle": _draw_regular_polygon(3),
    "cross": _draw_cross,
    "line": _draw_line,
}
