"""Keeping TensorFlow's C++ start-up lines off the terminal in keras_tl's
own processes: the `keras-tl` command and the demo's worker processes.
Light on purpose: a spawned worker imports this module before any of
Keras or TensorFlow, so the import can happen with fd 2 silenced."""

import contextlib
import os
import sys


@contextlib.contextmanager
def native_stderr_silenced():
    """TensorFlow writes C++ start-up logs (CUDA, oneDNN, absl) to fd 2,
    some before it reads TF_CPP_MIN_LOG_LEVEL; the command line's stderr
    holds only its own one-line errors."""
    if "tensorflow" not in sys.modules:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no fd 2 at all: nothing to silence
        saved = None
    if saved is None:
        yield
        return
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def demo_worker():
    """The demo's worker-process initializer: imports the demo (and with it
    Keras and TensorFlow) with TensorFlow's start-up lines silenced, and
    its retracing advice (a new model per run is the point there) off."""
    with native_stderr_silenced():
        try:
            import tensorflow as tf
        except ImportError:
            tf = None
        import keras_tl.demo  # noqa: F401  (the import is the warm-up)
    if tf is not None:
        tf.get_logger().setLevel("ERROR")
