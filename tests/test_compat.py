"""Every private Keras API in keras_tl/_compat.py still exists.

A Keras upgrade that removes or renames one fails here, and the failure
names it (the test id is the API's name), instead of somewhere deep in a
layer or a callback.
"""

import importlib
import inspect

import numpy as np
import pytest

import keras
from keras_tl import _compat

# (name in _compat, the private module, its attribute there)
IMPORTS = [
    ("DataLayer", "keras.src.layers.preprocessing.data_layer", "DataLayer"),
    ("DynamicBackend", "keras.src.utils.backend_utils", "DynamicBackend"),
    ("in_tf_graph", "keras.src.utils.backend_utils", "in_tf_graph"),
    ("is_in_jax_tracing_scope", "keras.src.utils.jax_utils", "is_in_jax_tracing_scope"),
    ("in_safe_mode", "keras.src.saving.serialization_lib", "in_safe_mode"),
    ("compute_output_spec", "keras.src.backend", "compute_output_spec"),
    ("keras_home", "keras.src.backend.config", "keras_home"),
    ("legacy_image_preprocessing", "keras.src.legacy.preprocessing.image", "ImageDataGenerator"),
]


def _private(module, attribute):
    try:
        found = getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError) as error:
        pytest.fail(
            f"Keras {keras.__version__} no longer has {module}.{attribute} "
            f"({type(error).__name__}: {error}); update keras_tl/_compat.py."
        )
    return found


@pytest.mark.parametrize("name, module, attribute", IMPORTS, ids=[row[0] for row in IMPORTS])
def test_private_import_exists(name, module, attribute):
    _private(module, attribute)
    assert hasattr(_compat, name), f"keras_tl._compat.{name} is missing"


def test_list_variables_used_by_fns():
    tf = pytest.importorskip("tensorflow")
    _private("keras.src.export.saved_model_export_archive", "_list_variables_used_by_fns")
    weight, frozen = tf.Variable(2.0), tf.Variable(3.0, trainable=False)
    fn = tf.function(lambda x: x * weight + frozen, input_signature=[tf.TensorSpec(())])
    trainable, others = _compat.list_variables_used_by_fns([fn])
    assert [v is weight for v in trainable] == [True]
    assert [v is frozen for v in others] == [True]


def test_data_layer_protocol():
    """What ImageDataGeneratorAugmentation uses of DataLayer."""
    layer = _compat.DataLayer()
    backend = layer.backend
    assert isinstance(backend, _compat.DynamicBackend), "DataLayer.backend"
    assert backend.name == keras.backend.backend(), "DynamicBackend.name"
    for method in ("set_backend", "reset"):
        assert callable(getattr(backend, method, None)), f"DynamicBackend.{method}"
    assert callable(getattr(layer, "convert_weight", None)), "DataLayer.convert_weight"
    assert callable(getattr(layer, "_get_seed_generator", None)), "DataLayer._get_seed_generator"
    layer.seed, layer.generator = 1, keras.random.SeedGenerator(1)
    assert _compat.seed_generator(layer, backend.name) is layer.generator
    assert not _compat.in_tf_graph()
    assert not _compat.is_in_jax_tracing_scope(np.zeros(()))


def test_seed_generator_is_the_public_one():
    from keras.src.random.seed_generator import SeedGenerator

    assert keras.random.SeedGenerator is SeedGenerator


def test_variable_value():
    variable = keras.Variable(np.zeros(2, "float32"))
    assert hasattr(variable, "_value"), "keras.Variable._value"


def test_layer_track_variable():
    layer = keras.layers.Layer()
    assert callable(getattr(layer, "_track_variable", None)), "Layer._track_variable"
    variable = keras.Variable(np.zeros(2, "float32"), name="w")
    layer._track_variable(variable)
    assert any(w is variable for w in layer.weights)


def test_adopt_variable_shares_the_tf_variable():
    if keras.backend.backend() != "tensorflow":
        pytest.skip("TensorFlow variables back keras.Variable on TensorFlow only")
    import tensorflow as tf

    tf_var = tf.Variable([1.0, 2.0])
    variable = keras.Variable(initializer=tf_var.read_value(), name="w")
    layer = keras.layers.Layer()
    _compat.adopt_variable(layer, variable, tf_var)
    variable.assign([5.0, 6.0])
    np.testing.assert_array_equal(tf_var.numpy(), [5.0, 6.0])
    assert layer.weights[0] is variable


def test_optimizer_learning_rate_is_the_schedule():
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-3, 10, 0.5)
    optimizer = keras.optimizers.Adam(schedule)
    assert hasattr(optimizer, "_learning_rate"), "optimizer._learning_rate"
    assert _compat.optimizer_learning_rate(optimizer) is schedule
    # Why the private one: the public property evaluates the schedule.
    assert not isinstance(optimizer.learning_rate, keras.optimizers.schedules.LearningRateSchedule)
    plain = keras.optimizers.SGD(0.25)
    assert float(keras.ops.convert_to_numpy(_compat.optimizer_learning_rate(plain))) == 0.25


def test_model_compile_config():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    assert _compat.compile_config(model) is None
    model.compile(optimizer="sgd", loss="mse")
    config = _compat.compile_config(model)
    assert config is not None, "model._compile_config"
    assert "optimizer" in config.config, "model._compile_config.config"
    # Updating it is what model.save() then records.
    config.config["optimizer"] = keras.optimizers.Adam(0.5)
    saved = model.get_compile_config()
    assert saved["optimizer"]["class_name"] == "Adam"


def test_keras_home_follows_the_config(monkeypatch, tmp_path):
    config = importlib.import_module("keras.src.backend.config")
    assert hasattr(config, "_KERAS_DIR"), "keras.src.backend.config._KERAS_DIR"
    monkeypatch.setattr(config, "_KERAS_DIR", str(tmp_path))
    assert _compat.keras_home() == str(tmp_path)


def test_in_safe_mode_inside_load_model(tmp_path):
    seen = []

    @keras.saving.register_keras_serializable(package="keras_tl_compat_test")
    class Probe(keras.layers.Layer):
        def call(self, x):
            return x

        @classmethod
        def from_config(cls, config):
            seen.append(_compat.in_safe_mode())
            return cls(**config)

    model = keras.Sequential([keras.Input((2,)), Probe()])
    path = str(tmp_path / "probe.keras")
    model.save(path)
    keras.models.load_model(path)
    keras.models.load_model(path, safe_mode=False)
    assert seen == [True, False]


def test_compute_output_spec_traces_on_keras_tensors():
    spec = _compat.compute_output_spec(
        lambda x: keras.ops.sum(x, axis=-1), keras.KerasTensor((None, 3))
    )
    assert tuple(spec.shape) == (None,)


def test_layer_test_harness():
    """Test-only: tests/test_layer_contracts.py runs Keras's harness."""
    case = _private("keras.src.testing", "TestCase")
    parameters = inspect.signature(case.run_layer_test).parameters
    for name in (
        "init_kwargs",
        "input_shape",
        "expected_output_shape",
        "run_training_check",
        "run_mixed_precision_check",
    ):
        assert name in parameters, f"TestCase.run_layer_test({name}=...)"
