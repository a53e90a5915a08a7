"""Bad input to the model, layers and callbacks: a clear error naming the
argument, a warning where the input is legal but surely not meant, and no
defect that silently changes what a model learns. Parametrized so a new
argument gets the same treatment by adding a row. Both backends."""

import math
import os
import warnings

import numpy as np
import pytest

import keras
import keras_tl
from keras_tl.callbacks import FreezeSchedule
from keras_tl.callbacks import GradualUnfreezing
from keras_tl.callbacks import UnfreezeOnPlateau
from keras_tl.layers import ImageDataGeneratorAugmentation
from tests.conftest import tiny_backbone

SMALL = dict(input_shape=(32, 32, 3), weights=None)


def _bn_means(backbone):
    return [
        np.array(layer.moving_mean)
        for layer in backbone.layers
        if isinstance(layer, keras.layers.BatchNormalization)
    ]


# train_batchnorm and weights=None: defects that changed what a model learns


def test_train_batchnorm_trains_batchnorm_inside_fit(images, labels):
    model = keras_tl.TransferClassifier(
        tiny_backbone(), 3, preprocessing="tf", train_batchnorm=True
    )
    model.unfreeze("all")
    # Training mode reaches BatchNorm: batch statistics, not moving ones.
    train = np.asarray(model(images, training=True))
    infer = np.asarray(model(images, training=False))
    assert not np.allclose(train, infer, atol=1e-5)
    before = _bn_means(model.backbone)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(images, labels, epochs=1, batch_size=4, verbose=0)
    after = _bn_means(model.backbone)
    assert all(not np.allclose(a, b) for a, b in zip(before, after))


def test_batchnorm_statistics_stay_without_train_batchnorm(images, labels):
    model = keras_tl.TransferClassifier(
        tiny_backbone(), 3, preprocessing="tf", train_batchnorm=False
    )
    model.unfreeze("all")
    np.testing.assert_allclose(
        np.asarray(model(images, training=True)),
        np.asarray(model(images, training=False)),
        rtol=1e-5,
        atol=1e-6,
    )
    before = _bn_means(model.backbone)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(images, labels, epochs=1, batch_size=4, verbose=0)
    for a, b in zip(before, _bn_means(model.backbone)):
        np.testing.assert_array_equal(a, b)


def _colour_task(n_per_class=16, size=32, seed=0):
    """Three classes told apart by their dominant colour channel."""
    rng = np.random.default_rng(seed)
    x, y = [], []
    for cls in range(3):
        img = rng.uniform(0, 80, size=(n_per_class, size, size, 3))
        img[..., cls] += 150
        x.append(img)
        y += [cls] * n_per_class
    order = rng.permutation(3 * n_per_class)
    return np.concatenate(x).astype("float32")[order], np.array(y)[order]


def test_weights_none_trains_from_scratch_and_learns():
    x, y = _colour_task(n_per_class=8)
    model = keras_tl.TransferClassifier("mobilenet_v3_small", 3, **SMALL)
    assert model.train_batchnorm
    assert (
        len(model.backbone.trainable_weights)
        == len([w for w in model.backbone.weights if w.trainable])
        > 100
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    # Before: a frozen random backbone with BatchNorm on its initial
    # statistics sat at chance (0.33) here.
    history = model.fit(x, y, epochs=5, batch_size=8, verbose=0)
    assert history.history["accuracy"][-1] > 0.9, history.history


def test_pretrained_weights_file_starts_frozen_with_batchnorm_frozen(tmp_path):
    path = str(tmp_path / "mobilenet_v2_32.weights.h5")
    source, _ = keras_tl.backbones.build_backbone("mobilenet_v2", (32, 32, 3), weights=None)
    source.save_weights(path)
    model = keras_tl.TransferClassifier("mobilenet_v2", 3, input_shape=(32, 32, 3), weights=path)
    assert not model.train_batchnorm
    assert model.backbone.trainable_weights == []
    np.testing.assert_array_equal(np.array(model.backbone.weights[0]), np.array(source.weights[0]))


# Constructor arguments: each bad value names its argument


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(head_units="128"), "head_units"),
        (dict(head_units=(128, -1)), "head_units"),
        (dict(head_units=(1.5,)), "head_units"),
        (dict(dropout="0.1"), "dropout"),
        (dict(dropout=1.0), "dropout"),
        (dict(dropout=math.nan), "dropout"),
        (dict(num_classes=0), "num_classes"),
        (dict(num_classes=2.0), "num_classes"),
        (dict(pooling="mean"), "pooling"),
        (dict(preprocessing="imagenet"), "preprocessing"),
        (dict(class_names=["a", "b"]), "class_names"),
    ],
)
def test_transfer_classifier_rejects(kwargs, name):
    args = {"num_classes": 3, **kwargs}
    with pytest.raises(ValueError, match=name):
        keras_tl.TransferClassifier(tiny_backbone(), **args)


def test_head_units_as_one_int_is_one_layer():
    model = keras_tl.TransferClassifier(tiny_backbone(), 3, head_units=16)
    assert model.head_units == (16,)


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda: FreezeSchedule({0: "head"}, lr_ratio=math.nan), "lr_ratio"),
        (lambda: FreezeSchedule({0: "head"}, lr_ratio=math.inf), "lr_ratio"),
        (lambda: FreezeSchedule({0: "head"}, lr_ratio="0.1"), "lr_ratio"),
        (lambda: FreezeSchedule({0: "head"}, lr_ratio=0), "lr_ratio"),
        (lambda: GradualUnfreezing(lr_factor=math.nan), "lr_factor"),
        (lambda: GradualUnfreezing(warmup_steps=1.5), "warmup_steps"),
        (lambda: GradualUnfreezing(max_blocks=0), "max_blocks"),
        (lambda: GradualUnfreezing(max_blocks=True), "max_blocks"),
        (lambda: UnfreezeOnPlateau(max_blocks=0), "max_blocks"),
        (lambda: UnfreezeOnPlateau(max_blocks=2.0), "max_blocks"),
        (lambda: FreezeSchedule({0: "head"}, unit="batch"), "unit"),
        (lambda: FreezeSchedule({-1: "head"}), "Schedule keys"),
        (lambda: FreezeSchedule({0: "top"}), "head"),
    ],
)
def test_callbacks_reject(make, name):
    with pytest.raises(ValueError, match=name):
        make()


# Schedules that never happen are not silent


def _fit_with(callbacks, epochs, images, labels):
    model = keras_tl.TransferClassifier(tiny_backbone(), 3, preprocessing="tf")
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(
            images,
            labels,
            epochs=epochs,
            batch_size=4,
            verbose=0,
            callbacks=callbacks,
        )
    return model, [str(w.message) for w in caught if "FreezeSchedule" in str(w.message)]


def test_freeze_schedule_warns_about_keys_after_the_last_epoch(images, labels):
    schedule = FreezeSchedule({0: "head", 4: {"blocks": 1}}, verbose=0)
    model, messages = _fit_with([schedule], 3, images, labels)
    assert model.backbone.trainable_weights == []
    assert len(messages) == 1 and "[4]" in messages[0], messages


def test_freeze_schedule_warns_when_early_stopping_ends_fit_first(images, labels):
    # val_loss rises forever (lr huge) -> EarlyStopping stops at epoch 2.
    stop = keras.callbacks.EarlyStopping(monitor="loss", patience=0, mode="max")
    schedule = FreezeSchedule({0: "head", 3: "all"}, verbose=0)
    _, messages = _fit_with([stop, schedule], 6, images, labels)
    assert len(messages) == 1 and "never happened" in messages[0], messages


def test_freeze_schedule_is_quiet_when_every_key_fired(images, labels):
    schedule = FreezeSchedule({0: "head", 1: {"blocks": 1}}, verbose=0)
    model, messages = _fit_with([schedule], 2, images, labels)
    assert messages == []
    assert model.backbone.trainable_weights


def test_step_schedule_warns_about_steps_never_reached(images, labels):
    schedule = FreezeSchedule({0: "head", 1000: "all"}, unit="step", verbose=0)
    _, messages = _fit_with([schedule], 1, images, labels)
    assert len(messages) == 1 and "step(s) [1000]" in messages[0], messages


# ImageDataGeneratorAugmentation: the generator's own errors, early


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(rescale="1/255"), "rescale"),
        (dict(rescale=-1.0), "rescale"),
        (dict(cval="black"), "cval"),
        (dict(brightness_range=0.5), "brightness_range"),
        (dict(brightness_range=(1.2, 0.8)), "brightness_range"),
        (dict(brightness_range=("a", "b")), "brightness_range"),
        (dict(rotation_range="40"), "rotation_range"),
        (dict(rotation_range=math.nan), "rotation_range"),
        (dict(horizontal_flip="false"), "horizontal_flip"),
        (dict(zca_epsilon=None), "zca_epsilon"),
        (dict(fill_mode="mirror"), "fill_mode"),
        (dict(zoom_range=-0.1), "zoom_range"),
        (dict(width_shift_range=True), "width_shift_range"),
        (dict(interpolation_order=3), "interpolation_order"),
        (dict(data_format="channels_first"), "data_format"),
    ],
)
def test_augmentation_rejects(kwargs, name):
    with pytest.raises(ValueError, match=name):
        ImageDataGeneratorAugmentation(**kwargs)


@pytest.mark.parametrize("shape", [(8, 8), (2, 2, 8, 8, 3), (5,)])
def test_augmentation_rejects_inputs_that_are_not_images(shape):
    layer = ImageDataGeneratorAugmentation(rotation_range=10)
    with pytest.raises(ValueError, match="height, width, channels"):
        layer(np.zeros(shape, "float32"), training=True)


def test_featurewise_statistics_before_adapt_warn(images, tmp_path):
    layer = ImageDataGeneratorAugmentation(featurewise_center=True)
    layer.build(images.shape)
    with pytest.warns(UserWarning, match="adapt"):
        layer(images, training=False)
    layer.adapt(images)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = np.asarray(layer(images, training=False))
    np.testing.assert_allclose(out.mean(axis=(0, 1, 2)), 0.0, atol=1e-3)
    # Adapted statistics saved with a model count as adapted after loading.
    inputs = keras.Input(images.shape[1:])
    model = keras.Model(inputs, layer(inputs, training=False))
    path = str(tmp_path / "aug.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = np.asarray(loaded(images))
    np.testing.assert_allclose(again, out, rtol=1e-5, atol=1e-4)


# Saving: a failed save never loses a good file


@keras.saving.register_keras_serializable(package="keras_tl_tests")
class _FailsToSave(keras.layers.Layer):
    def build(self, input_shape):
        self.w = self.add_weight(shape=(1,), initializer="ones", name="w")

    def call(self, x, training=None):
        return x * self.w

    def save_own_variables(self, store):
        raise OSError("disk full (simulated)")


def test_failed_save_keeps_the_existing_file(tmp_path):
    path = str(tmp_path / "model.keras")
    good = keras_tl.TransferClassifier(tiny_backbone(), 3)
    good.save(path)
    size = os.path.getsize(path)
    bad = keras_tl.TransferClassifier(tiny_backbone(), 3, augmentation=_FailsToSave())
    with pytest.raises(OSError, match="disk full"):
        bad.save(path)
    assert os.path.getsize(path) == size
    assert keras.models.load_model(path).num_classes == 3
    assert sorted(os.listdir(tmp_path)) == ["model.keras"]  # no temp file left
