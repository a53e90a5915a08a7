"""keras_tl: transfer learning for image classification as plain Keras 3
components.

TensorFlow-only parts (`keras_tl.data`, `keras_tl.hub`) import TensorFlow
when first used, so `import keras_tl` works on the JAX backend without it.
"""

import os as _os
import sys as _sys

if _os.path.basename(_sys.argv[0]) == "keras-tl" or "keras_tl" in getattr(
    _sys, "orig_argv", [])[1:3]:  # fmt: skip
    # The command line prints one clear line per error, not TF's C++ logs,
    # some of which TensorFlow writes to fd 2 before reading any setting.
    _os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    _saved, _null = _os.dup(2), _os.open(_os.devnull, _os.O_WRONLY)
    _os.dup2(_null, 2)
    try:
        try:
            import tensorflow  # noqa: F401
        except ImportError:
            pass
        import keras  # noqa: F401
    finally:
        _os.dup2(_saved, 2)
        _os.close(_saved)
        _os.close(_null)

from keras_tl import backbones  # noqa: E402
from keras_tl import callbacks  # noqa: E402
from keras_tl import data  # noqa: E402
from keras_tl import distribution  # noqa: E402
from keras_tl import evaluation  # noqa: E402
from keras_tl import hub  # noqa: E402
from keras_tl import layers  # noqa: E402
from keras_tl import mixed_precision  # noqa: E402
from keras_tl import models  # noqa: E402
from keras_tl import optimizers  # noqa: E402
from keras_tl.models import TransferClassifier  # noqa: E402
from keras_tl.version import __version__  # noqa: E402

__all__ = [
    "TransferClassifier",
    "__version__",
    "backbones",
    "callbacks",
    "data",
    "distribution",
    "evaluation",
    "hub",
    "layers",
    "mixed_precision",
    "models",
    "optimizers",
]
