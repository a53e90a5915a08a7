"""keras_tl: transfer learning for image classification as plain Keras 3
components.

TensorFlow-only parts (`keras_tl.data`, `keras_tl.hub`) import TensorFlow
when first used, so `import keras_tl` works on the JAX backend without it.
"""

import importlib as _importlib
import os as _os
import sys as _sys

from keras_tl.version import __version__

_SUBMODULES = (
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
)

__all__ = ["TransferClassifier", "__version__", *_SUBMODULES]


def __getattr__(name):  # PEP 562: the lazy start of the `keras-tl` command
    if name in _SUBMODULES:
        return _importlib.import_module(f"keras_tl.{name}")
    if name == "TransferClassifier":
        from keras_tl.models import TransferClassifier

        globals()[name] = TransferClassifier
        return TransferClassifier
    raise AttributeError(f"module 'keras_tl' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))


def _import_all():
    """Import every submodule, which registers keras_tl's serializable
    classes with Keras."""
    for name in _SUBMODULES:
        _importlib.import_module(f"keras_tl.{name}")
    __getattr__("TransferClassifier")


def _started_as_command():
    # sys.argv[0] is "-m" while Python imports this package to find
    # `python -m keras_tl[.x]`; the console script's argv[0] is its path.
    return _sys.argv[0] == "-m" or _os.path.basename(_sys.argv[0]) == "keras-tl"


# Eager for library users: keras.models.load_model("m.keras") finds a
# TransferClassifier only once its module has registered it, and Keras
# auto-imports only its own packages. The `keras-tl` command stays lazy so
# that --help and --version answer without importing Keras; its main()
# calls _import_all() before it loads a model.
if not _started_as_command():
    _import_all()
