"""Keep TensorFlow's native start-up chatter out of the terminal (worker processes, self-test)."""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile

# TensorFlow >= 2.17 logs through absl before TF_CPP_MIN_LOG_LEVEL applies: CUDA probing and
# oneDNN notices on every start. Only these lines are dropped; anything else is passed on.
_NATIVE_NOISE = re.compile(
    r"^WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|^I\d{4} "                                             # absl INFO lines
    r"|cuInit|cudart_stub|cuda_platform|cuda_dnn|cuda_fft|cuda_blas|Unable to register cu"
    r"|computation placer already registered|TF-TRT Warning|oneDNN custom operations"
    r"|This TensorFlow binary is optimized to use available CPU instructions"
    r"|rebuild TensorFlow with the appropriate compiler flags")


@contextlib.contextmanager
def native_log_filter():
    """Capture file descriptor 2 (native code writes there directly) and pass on the lines
    that are not start-up noise."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
        capture = tempfile.TemporaryFile()
        os.dup2(capture.fileno(), 2)
    except (OSError, ValueError, AttributeError):  # no usable stderr: nothing to filter
        yield
        return
    try:
        yield
    finally:
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(saved, 2)
        os.close(saved)
        capture.seek(0)
        text = capture.read().decode("utf-8", errors="replace")
        capture.close()
        kept = [line for line in text.splitlines()
                if line.strip() and not _NATIVE_NOISE.search(line)]
        if kept:
            print("\n".join(kept), file=sys.stderr, flush=True)
