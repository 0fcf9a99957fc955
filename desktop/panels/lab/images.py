"""NumPy helpers for the Lab's pictures: input images, Grad-CAM overlays, kernel tiles.
Pixmaps come from desktop.plots.to_pixmap (one conversion for the whole window)."""

from __future__ import annotations

import numpy as np

from desktop.plots import to_pixmap

__all__ = ["display_image", "heat_overlay", "kernel_tiles", "to_pixmap"]


def display_image(image: np.ndarray) -> np.ndarray:
    """An input image (H, W, C) as something to_pixmap shows: gray or RGB."""
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 3 and image.shape[2] not in (1, 3):
        image = image.mean(axis=2)
    return image


def heat_overlay(image: np.ndarray, heatmap: np.ndarray) -> np.ndarray:
    """The image in gray with a red-yellow heatmap blended over it (H, W, 3) in 0..1."""
    gray = display_image(image)
    if gray.ndim == 3:
        gray = gray.mean(axis=2)
    gray = (gray - gray.min()) / (np.ptp(gray) or 1.0)
    heat = np.asarray(heatmap, dtype=np.float32)
    if heat.shape != gray.shape:  # nearest resize
        rows = (np.arange(gray.shape[0]) * heat.shape[0] // gray.shape[0])
        cols = (np.arange(gray.shape[1]) * heat.shape[1] // gray.shape[1])
        heat = heat[rows][:, cols]
    heat = (heat - heat.min()) / (np.ptp(heat) or 1.0)
    colour = np.stack([np.clip(heat * 2, 0, 1), np.clip(heat * 2 - 1, 0, 1),
                       np.zeros_like(heat)], axis=2)
    base = np.repeat(gray[:, :, None], 3, axis=2)
    alpha = 0.55 * heat[:, :, None]
    return base * (1 - alpha) + colour * alpha


def kernel_tiles(kernel: np.ndarray, channel: str) -> list[np.ndarray]:
    """Images of a (kh, kw, in, out) kernel: one per output filter.
    channel: "rgb" (in == 3), "mean" (over the inputs) or an input index as a string."""
    k = np.asarray(kernel, dtype=np.float32)
    if channel == "rgb" and k.shape[2] == 3:
        return [k[:, :, :, i] for i in range(k.shape[3])]
    if channel in ("mean", "rgb"):
        flat = k.mean(axis=2)
    else:
        flat = k[:, :, min(int(channel), k.shape[2] - 1), :]
    return [flat[:, :, i] for i in range(flat.shape[2])]
