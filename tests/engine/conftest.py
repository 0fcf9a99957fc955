import sys

import pytest


@pytest.fixture(autouse=True, scope="package")
def no_idle_engine_workers():
    """Engine tests run Keras in this process: warm workers left by the window tests (or
    their replacements still loading TensorFlow) would only compete for the two cores. A
    later window test warms the engine again."""
    workers = sys.modules.get("desktop.workers")
    if workers is not None and workers._shared is not None:
        workers._shared.shutdown()
    yield
