"""Keras's own layer test harness on every layer keras_tl defines.

`run_layer_test` (keras.src.testing, test-only private API) checks the
config round trip, building, symbolic and eager calls, a compiled training
step and the mixed-precision dtype policy, as for Keras's built-in layers.
Also: the learning-rate schedules of keras_tl.optimizers serialize and load
with a model, without custom_objects.
"""

import numpy as np
import pytest

import keras
from keras_tl import _compat
from keras_tl.hub import HubFeatureVector
from keras_tl.layers import BackbonePreprocessing
from keras_tl.layers import ImageDataGeneratorAugmentation
from keras_tl.optimizers import ScaledSchedule
from keras_tl.optimizers import WarmupSchedule

testing = pytest.importorskip("keras.src.testing")

SHAPE = (2, 8, 8, 3)
RANDOM = dict(
    rotation_range=20.0,
    width_shift_range=0.1,
    height_shift_range=2,
    shear_range=5.0,
    zoom_range=0.2,
    horizontal_flip=True,
    vertical_flip=True,
    channel_shift_range=10.0,
    brightness_range=(0.8, 1.2),
    seed=1,
)


class LayerContracts(testing.TestCase):
    def test_backbone_preprocessing(self):
        for mode in ("tf", "caffe", "torch", "none"):
            self.run_layer_test(
                BackbonePreprocessing,
                init_kwargs={"mode": mode},
                input_shape=SHAPE,
                expected_output_shape=SHAPE,
                expected_num_trainable_weights=0,
                expected_num_non_trainable_weights=0,
                supports_masking=True,
                run_training_check=False,  # no weights to train
            )

    def test_uint8_images_come_out_in_the_compute_dtype(self):
        for layer_cls, kwargs in (
            (BackbonePreprocessing, {"mode": "caffe"}),
            (ImageDataGeneratorAugmentation, dict(RANDOM, rescale=1 / 255.0)),
        ):
            self.run_layer_test(
                layer_cls,
                init_kwargs=kwargs,
                input_shape=SHAPE,
                input_dtype="uint8",
                expected_output_shape=SHAPE,
                expected_output_dtype="float32",
                run_training_check=False,
            )

    def test_augmentation_random_transforms(self):
        for training in (True, False):
            self.run_layer_test(
                ImageDataGeneratorAugmentation,
                init_kwargs=RANDOM,
                input_shape=SHAPE,
                call_kwargs={"training": training},
                expected_output_shape=SHAPE,
                expected_num_trainable_weights=0,
                expected_num_non_trainable_weights=0,
                expected_num_seed_generators=1,
                run_training_check=False,  # no weights to train
            )

    def test_augmentation_each_fill_mode_and_order(self):
        for fill_mode in ("nearest", "constant", "reflect", "wrap"):
            for order in (0, 1):
                self.run_layer_test(
                    ImageDataGeneratorAugmentation,
                    init_kwargs=dict(
                        rotation_range=30.0,
                        fill_mode=fill_mode,
                        interpolation_order=order,
                        cval=3.0,
                        seed=2,
                    ),
                    input_shape=SHAPE,
                    call_kwargs={"training": True},
                    expected_output_shape=SHAPE,
                    run_training_check=False,
                )

    def test_augmentation_standardization(self):
        self.run_layer_test(
            ImageDataGeneratorAugmentation,
            init_kwargs=dict(
                rescale=1 / 255.0, samplewise_center=True, samplewise_std_normalization=True
            ),
            input_shape=SHAPE,
            expected_output_shape=SHAPE,
            expected_num_non_trainable_weights=0,
            run_training_check=False,
        )

    def test_augmentation_learned_statistics(self):
        # Weights appear in build(); adapt() would fill them.
        for kwargs, weights in (
            (dict(featurewise_center=True), 2),
            (dict(featurewise_std_normalization=True), 2),
            (dict(zca_whitening=True), 3),
        ):
            with self.subTest(**kwargs):
                self.run_layer_test(
                    ImageDataGeneratorAugmentation,
                    init_kwargs=dict(kwargs, rotation_range=10.0, seed=3),
                    input_shape=SHAPE,
                    call_kwargs={"training": True},
                    expected_output_shape=SHAPE,
                    expected_num_trainable_weights=0,
                    expected_num_non_trainable_weights=weights,
                    run_training_check=False,
                )

    def test_augmentation_single_image(self):
        self.run_layer_test(
            ImageDataGeneratorAugmentation,
            init_kwargs=RANDOM,
            input_shape=SHAPE[1:],
            call_kwargs={"training": True},
            expected_output_shape=SHAPE[1:],
            run_training_check=False,
        )

    def test_augmentation_in_a_trained_model(self):
        # The harness's training step on a layer with no weights of its own:
        # a compiled fit() (XLA / jit) with training=True.
        self.run_layer_test(
            ImageDataGeneratorAugmentation,
            init_kwargs=RANDOM,
            input_shape=SHAPE,
            expected_output_shape=SHAPE,
            run_mixed_precision_check=False,
        )

    def test_hub_feature_vector(self):
        if keras.backend.backend() != "tensorflow":
            self.skipTest("HubFeatureVector runs TF SavedModels")
        path = _hub_module(self.get_temp_dir())
        # Its from_config loads a SavedModel: refused in safe mode.
        keras.config.enable_unsafe_deserialization()
        try:
            for kwargs in (
                {"trainable": True},
                {"signature": "serving_default", "output_key": "features"},
            ):
                self.run_layer_test(
                    HubFeatureVector,
                    init_kwargs=dict(kwargs, handle=path),
                    input_shape=SHAPE,
                    expected_output_shape=(2, 4),
                    expected_num_trainable_weights=1 if kwargs.get("trainable") else 0,
                    expected_num_non_trainable_weights=0 if kwargs.get("trainable") else 1,
                )
        finally:
            _restore_safe_mode()


def _hub_module(folder):
    import tensorflow as tf

    class FeatureVector(tf.Module):
        def __init__(self):
            super().__init__()
            self.kernel = tf.Variable(tf.ones((3, 4)), name="kernel")

        @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
        def __call__(self, images):
            return tf.matmul(tf.reduce_mean(images, axis=[1, 2]), self.kernel)

    path = f"{folder}/fv"
    module = FeatureVector()
    serve = tf.function(
        lambda images: {"features": module(images)},
        input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)],
    )
    tf.saved_model.save(module, path, signatures={"serving_default": serve})
    return path


def _restore_safe_mode():
    from keras.src.backend.common import global_state

    global_state.set_global_attribute("safe_mode_saving", None)


# Learning-rate schedules ---------------------------------------------------

SCHEDULES = {
    "scaled_float": lambda: ScaledSchedule(1e-3, 0.5),
    "scaled_schedule": lambda: ScaledSchedule(
        keras.optimizers.schedules.ExponentialDecay(1e-3, 10, 0.5), 0.25
    ),
    "warmup_float": lambda: WarmupSchedule(1e-3, 5),
    "warmup_scaled": lambda: WarmupSchedule(
        ScaledSchedule(keras.optimizers.schedules.CosineDecay(1e-2, 100), 0.1), 3
    ),
}


def _values(schedule, steps=(0, 1, 4, 7, 50)):
    return [float(keras.ops.convert_to_numpy(schedule(step))) for step in steps]


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedule_serialize_round_trip(name):
    schedule = SCHEDULES[name]()
    config = keras.optimizers.schedules.serialize(schedule)
    again = keras.optimizers.schedules.deserialize(config)
    assert type(again) is type(schedule)
    assert again.get_config() == schedule.get_config()
    np.testing.assert_allclose(_values(again), _values(schedule), rtol=1e-6)


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedule_saved_with_the_model(name, tmp_path):
    schedule = SCHEDULES[name]()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="mse")
    x, y = np.ones((4, 3), "float32"), np.zeros((4, 2), "float32")
    model.fit(x, y, epochs=1, verbose=0)
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)  # no custom_objects
    lr = _compat.optimizer_learning_rate(loaded.optimizer)
    assert type(lr) is type(schedule)
    assert lr.get_config() == schedule.get_config()
    np.testing.assert_allclose(_values(lr), _values(schedule), rtol=1e-6)
    assert int(loaded.optimizer.iterations) == int(model.optimizer.iterations)


def test_schedules_in_a_multi_optimizer_saved(tmp_path):
    """Per-group schedules, as discriminative_optimizer builds them."""
    shared = keras.optimizers.schedules.ExponentialDecay(1e-3, 10, 0.5)
    optimizer_map = keras.optimizers.OptimizerMap(default_optimizer=keras.optimizers.Adam(shared))
    optimizer_map[".*body/.+"] = keras.optimizers.Adam(  # Sequential prefixes paths
        WarmupSchedule(ScaledSchedule(shared, 0.5), 3), name="adam_block0"
    )
    model = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(4, name="body"),
            keras.layers.Dense(2, name="head"),
        ]
    )
    model.compile(optimizer=keras.optimizers.MultiOptimizer(optimizer_map), loss="mse")
    model.fit(np.ones((4, 3), "float32"), np.zeros((4, 2), "float32"), verbose=0)
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    rates = [_compat.optimizer_learning_rate(o) for o in loaded.optimizer.optimizers]
    assert sorted(type(r).__name__ for r in rates) == ["ExponentialDecay", "WarmupSchedule"]
    block = next(r for r in rates if isinstance(r, WarmupSchedule))
    assert isinstance(block.target, ScaledSchedule)
    expected = WarmupSchedule(ScaledSchedule(shared, 0.5), 3)
    np.testing.assert_allclose(_values(block), _values(expected), rtol=1e-6)
