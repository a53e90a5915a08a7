"""keras_tl: transfer learning for image classification as plain Keras 3
components.

TensorFlow-only parts (`keras_tl.data`, `keras_tl.hub`) import TensorFlow
when first used, so `import keras_tl` works on the JAX backend without it.
"""

from keras_tl import backbones
from keras_tl import callbacks
from keras_tl import data
from keras_tl import layers
from keras_tl import mixed_precision
from keras_tl import models
from keras_tl import optimizers
from keras_tl.models import TransferClassifier
from keras_tl.version import __version__

__all__ = [
    "TransferClassifier",
    "__version__",
    "backbones",
    "callbacks",
    "data",
    "layers",
    "mixed_precision",
    "models",
    "optimizers",
]
