"""The Features lab: what a trained network's filters learned, and how they compare with
hand-crafted ones.

One module per tab; pure-NumPy views (kernels, the filter bank, hand-crafted responses,
receptive fields) run here, anything needing the model runs in the warm inspection worker
(desktop.engine_tasks, tasks "lab_*" of engine.tasks), which keeps the run's model loaded;
one job per user action, started lazily when a tab is first shown. This package never
imports TensorFlow/Keras.
"""

from desktop.panels.lab.base import EMPTY_HINT, WorkerTab
from desktop.panels.lab.baselines import BaselinesTab
from desktop.panels.lab.compare import CompareFiltersTab
from desktop.panels.lab.embedding import EmbeddingTab
from desktop.panels.lab.excite import ExciteTab
from desktop.panels.lab.features_lab import TAB_NAMES, FeaturesLab
from desktop.panels.lab.images import display_image, heat_overlay, kernel_tiles, to_pixmap
from desktop.panels.lab.kernels import KernelsTab
from desktop.panels.lab.maps import FeatureMapsTab
from desktop.panels.lab.shift import ShiftTab
from desktop.panels.lab.tiles import MAX_TILES, Tile, TileGrid
from desktop.panels.lab.weights import WeightsTab

__all__ = ["EMPTY_HINT", "MAX_TILES", "TAB_NAMES", "BaselinesTab", "CompareFiltersTab",
           "EmbeddingTab", "ExciteTab", "FeatureMapsTab", "FeaturesLab", "KernelsTab",
           "ShiftTab", "Tile", "TileGrid", "WeightsTab", "WorkerTab", "display_image",
           "heat_overlay", "kernel_tiles", "to_pixmap"]
