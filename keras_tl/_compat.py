"""Every private Keras API keras_tl uses, in one place.

Keras 3 has no public equivalent for any of these. Each is known to work
with Keras 3.15 (the floor in pyproject.toml) up to the version installed
when tests/test_compat.py last passed; that test imports and checks every
one, so a Keras upgrade that moves one fails there, naming it. Nothing here
imports TensorFlow: TF-only helpers import what they need when called.

Public APIs used instead of private ones: `keras.random.SeedGenerator`
(not `keras.src.random.seed_generator`), `DynamicBackend.name` (not
`._backend`).

Test-only private APIs, imported by the tests themselves:
`keras.src.testing.TestCase` (Keras's layer test harness, in
tests/test_layer_contracts.py); `keras.src.backend.config._KERAS_DIR`,
`keras.src.utils.file_utils` and
`keras.src.legacy.saving.legacy_h5_format` (tests/test_backbones.py, the
offline-weights message).
"""

import os

__all__ = [
    "DataLayer",
    "DynamicBackend",
    "in_tf_graph",
    "is_in_jax_tracing_scope",
    "in_safe_mode",
    "compute_output_spec",
    "keras_home",
    "list_variables_used_by_fns",
    "adopt_variable",
    "optimizer_learning_rate",
    "compile_config",
    "seed_generator",
    "legacy_image_preprocessing",
]

# Base of layers that also run in tf.data / grain maps on any backend (it
# switches `self.backend` per call); Keras's own preprocessing layers
# subclass it, but only they are exported. Keras 3.15 (earlier 3.x called it
# TFDataLayer).
from keras.src.layers.preprocessing.data_layer import DataLayer

# Backend ops chosen at call time, for code compiled once per backend
# (resampling's shared XLA/jit functions); DataLayer's `self.backend` is one.
# Keras 3.15.
from keras.src.utils.backend_utils import DynamicBackend

# True inside a tf.function / tf.data map: when a DataLayer switches to the
# TensorFlow backend. Keras 3.15.
from keras.src.utils.backend_utils import in_tf_graph

# True while jax.jit traces; such code stays on the JAX backend. Keras 3.15.
from keras.src.utils.jax_utils import is_in_jax_tracing_scope

# Whether load_model(safe_mode=...) is in force, for a from_config that
# must refuse unsafe content when not told directly. Keras 3.15.
from keras.src.saving.serialization_lib import in_safe_mode

# Traces a function on KerasTensors, as Layer.compute_output_spec does by
# default; needed by a layer that also overrides compute_output_shape.
# Keras 3.15.
from keras.src.backend import compute_output_spec


def keras_home():
    """Keras's cache folder (~/.keras or $KERAS_HOME), where get_file puts
    ImageNet weights. Keras 3.15 (`keras.src.backend.config.keras_home`);
    only for an error message, so it falls back to Keras's own rule."""
    try:
        from keras.src.backend.config import keras_home as home
    except ImportError:
        default = os.path.join(os.path.expanduser("~"), ".keras")
        return os.environ.get("KERAS_HOME", default)
    return home()


def list_variables_used_by_fns(fns):
    """(trainable, non-trainable) tf.Variables a tf.function reads, as
    Keras's SavedModel export finds them; TF only. Keras 3.15
    (`keras.src.export.saved_model_export_archive`)."""
    from keras.src.export.saved_model_export_archive import (
        _list_variables_used_by_fns,
    )

    return _list_variables_used_by_fns(fns)


def adopt_variable(layer, variable, tf_variable):
    """Make `variable` (a keras.Variable) wrap `tf_variable` itself, so the
    module's graph and the optimizer share it, and track it as `layer`'s
    weight. TensorFlow backend; `Variable._value` and
    `Layer._track_variable`, Keras 3.15."""
    variable._value = tf_variable
    layer._track_variable(variable)


def optimizer_learning_rate(optimizer):
    """The optimizer's learning rate as given: the schedule itself, where
    the public `optimizer.learning_rate` evaluates it at the current step.
    `BaseOptimizer._learning_rate`, Keras 3.15."""
    return optimizer._learning_rate


def compile_config(model):
    """The model's compile arguments that `model.save()` records (a
    SerializableDict whose `.config` may be updated), or None before
    compile(). `Trainer._compile_config`, Keras 3.15."""
    return getattr(model, "_compile_config", None)


def seed_generator(layer, backend):
    """A DataLayer's SeedGenerator for `backend` (a second generator, with
    the layer's seed, while it runs TensorFlow ops in tf.data on another
    backend). `DataLayer._get_seed_generator`, Keras 3.15."""
    return layer._get_seed_generator(backend)


def legacy_image_preprocessing():
    """Keras 2's `ImageDataGenerator` module (with `apply_affine_transform`
    and friends), kept by Keras 3 as `keras.src.legacy.preprocessing.image`
    and exported only under `tf.keras`; for the benchmark and the tests
    that compare against it. Keras 3.15."""
    from keras.src.legacy.preprocessing import image

    return image
