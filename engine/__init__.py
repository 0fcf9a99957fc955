"""CNN Studio engine: the model of the work, pure Python + Keras. Never imports Qt."""

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("cnn-studio")
except _metadata.PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+source"
