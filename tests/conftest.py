import gc
import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

# Keras's clear_session() runs a full gc.collect() by default, and over the
# heap TensorFlow and JAX leave after import that takes about a second: a
# third of the suite's time when done after every test. The import-time
# objects live for the whole session, so they are moved out of the
# collector's sight once, and each test's clear_session skips the collect
# (Python's own thresholds still collect what the tests leave).
gc.freeze()


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    keras.utils.set_random_seed(0)
    yield
    keras.mixed_precision.set_global_policy("float32")
    keras.backend.clear_session(free_memory=False)


@pytest.fixture
def images():
    rng = np.random.default_rng(0)
    return rng.uniform(0, 255, size=(8, 32, 32, 3)).astype("float32")


@pytest.fixture
def labels():
    return np.array([0, 1, 2, 0, 1, 2, 0, 1])


def backend():
    return keras.backend.backend()


def tiny_backbone(name="tiny_backbone", size=32):
    """A small conv net with BatchNorm whose gradients are well scaled."""
    inputs = keras.Input((size, size, 3))
    x = inputs
    for i, filters in enumerate((8, 16, 16)):
        x = keras.layers.Conv2D(filters, 3, strides=2, name=f"conv{i}")(x)
        x = keras.layers.BatchNormalization(name=f"bn{i}")(x)
        x = keras.layers.ReLU(name=f"relu{i}")(x)
    return keras.Model(inputs, x, name=name)
