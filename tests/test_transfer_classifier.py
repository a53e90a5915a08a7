import numpy as np
import pytest

import keras
import keras_tl
from keras_tl.models import freezing
from tests.conftest import tiny_backbone

SMALL = dict(input_shape=(32, 32, 3), weights=None)


def _values(variables):
    return [np.array(v) for v in variables]


def _bn_stats(backbone):
    return [
        np.array(w)
        for layer in backbone.layers
        if isinstance(layer, keras.layers.BatchNormalization)
        for w in (layer.moving_mean, layer.moving_variance)
    ]


def _compiled(model, lr=0.1):
    model.compile(
        optimizer=keras.optimizers.SGD(lr),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def test_default_input_size_and_backbone_access():
    model = keras_tl.TransferClassifier("mobilenet_v2", 3, weights=None)
    assert model.backbone.input_shape[1:] == (224, 224, 3)
    assert model.preprocessing_mode == "tf"
    assert model.compute_output_shape((None, 224, 224, 3)) == (None, 3)


def test_head_shapes_and_binary_output(images):
    model = keras_tl.TransferClassifier(
        "vgg16", 1, head_units=(16, 8), dropout=0.5, pooling="flatten", **SMALL
    )
    dense = [l for l in model.head.layers if isinstance(l, keras.layers.Dense)]
    assert [l.units for l in dense] == [16, 8, 1]
    assert dense[-1].activation.__name__ == "sigmoid"
    out = np.asarray(model.predict(images, verbose=0))
    assert out.shape == (8, 1) and ((out >= 0) & (out <= 1)).all()
    logits = keras_tl.TransferClassifier("vgg16", 4, from_logits=True, **SMALL)
    assert logits.head.layers[-1].activation.__name__ == "linear"


def test_starts_frozen_and_unfreeze_forms():
    model = keras_tl.TransferClassifier("vgg16", 3, **SMALL)
    # weights=None trains from scratch: everything starts trainable.
    assert len(model.backbone.trainable_weights) == 26
    model.freeze_backbone()
    head = len(model.head.trainable_weights)
    assert len(model.trainable_weights) == head == 2
    model.unfreeze(blocks=1)  # block5: 3 convs x (kernel, bias)
    assert len(model.backbone.trainable_weights) == 6
    assert model.backbone.layers[15].trainable
    assert not model.backbone.layers[14].trainable
    model.unfreeze(from_layer="block4_conv1")
    assert len(model.backbone.trainable_weights) == 12
    model.unfreeze(from_layer=15)
    assert len(model.backbone.trainable_weights) == 6
    model.unfreeze(layers=2)  # block5_conv3 + block5_pool
    assert len(model.backbone.trainable_weights) == 2
    model.unfreeze("all")
    assert len(model.backbone.trainable_weights) == 26
    model.freeze_backbone()
    assert model.backbone.trainable_weights == []
    assert "block5" in model.trainable_summary()


def test_batchnorm_stays_frozen_unless_asked():
    model = keras_tl.TransferClassifier("mobilenet_v2", 3, train_batchnorm=False, **SMALL)
    model.unfreeze("all")
    bns = [l for l in model.backbone.layers if isinstance(l, keras.layers.BatchNormalization)]
    assert bns and not any(l.trainable for l in bns)
    model = keras_tl.TransferClassifier("mobilenet_v2", 3, train_batchnorm=True, **SMALL)
    model.unfreeze("all")
    assert all(l.trainable for l in bns if l in model.backbone.layers) or all(
        l.trainable for l in model.backbone.layers if isinstance(l, keras.layers.BatchNormalization)
    )


def test_training_step_changes_only_trainable_weights(images, labels):
    model = keras_tl.TransferClassifier(tiny_backbone(), 3, preprocessing="tf")
    model.unfreeze(blocks=1)
    _compiled(model)
    trainable_ids = {id(v) for v in model.trainable_weights}
    frozen = [v for v in model.weights if id(v) not in trainable_ids]
    assert len(frozen) == 2 * 2 + 3 * 4  # conv0-1 kernel/bias, bn0-2 all
    before_frozen = _values(frozen)
    before_trainable = _values(model.trainable_weights)
    stats = _bn_stats(model.backbone)
    model.fit(images, labels, epochs=1, batch_size=4, verbose=0)
    for a, v in zip(before_frozen, frozen):
        np.testing.assert_array_equal(a, np.array(v), err_msg=v.path)
    for a, v in zip(before_trainable, model.trainable_weights):
        assert not np.array_equal(a, np.array(v)), v.path
    for a, b in zip(stats, _bn_stats(model.backbone)):
        np.testing.assert_array_equal(a, b)


def test_keras_applications_backbone_frozen_parts_do_not_move(images, labels):
    model = keras_tl.TransferClassifier("mobilenet_v2", 3, train_batchnorm=False, **SMALL)
    model.unfreeze(blocks=1)
    _compiled(model)
    trainable_ids = {id(v) for v in model.trainable_weights}
    frozen = [v for v in model.weights if id(v) not in trainable_ids]
    before = _values(frozen)
    head = np.array(model.head.weights[-1])
    model.fit(images, labels, epochs=1, batch_size=4, verbose=0)
    for a, v in zip(before, frozen):
        np.testing.assert_array_equal(a, np.array(v), err_msg=v.path)
    assert not np.array_equal(head, np.array(model.head.weights[-1]))


def test_backbone_runs_in_inference_mode_during_fit(images):
    """Dropout inside the backbone is off even though fit() trains."""
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(4, 3, name="conv")(inputs)
    x = keras.layers.Dropout(0.99, name="drop")(x)
    backbone = keras.Model(inputs, x, name="tiny")
    model = keras_tl.TransferClassifier(backbone, 2)
    train = np.asarray(model(images, training=True))
    infer = np.asarray(model(images, training=False))
    np.testing.assert_allclose(train, infer, rtol=1e-6)


def test_save_and_load_round_trip(tmp_path, images, labels):
    model = keras_tl.TransferClassifier(
        "mobilenet_v2",
        3,
        head_units=(8,),
        dropout=0.1,
        class_names=["cat", "dog", "owl"],
        **SMALL,
    )
    model.unfreeze(blocks=2)
    _compiled(model).fit(images, labels, epochs=1, verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path)  # no custom_objects
    assert type(loaded) is keras_tl.TransferClassifier
    # Called, not predict(): tracing MobileNetV2's predict step twice is
    # most of this test's time, and predict() is tested on its own above.
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(model(images, training=False)),
        keras.ops.convert_to_numpy(loaded(images, training=False)),
        rtol=1e-5,
        atol=1e-6,
    )
    assert freezing.trainable_layer_names(loaded.backbone) == freezing.trainable_layer_names(
        model.backbone
    )
    assert len(loaded.trainable_weights) == len(model.trainable_weights)
    assert loaded.class_names == ["cat", "dog", "owl"]
    assert loaded.get_config()["weights"] is None


def test_custom_backbone_round_trip(tmp_path, images):
    backbone = keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            keras.layers.Conv2D(4, 3, name="c1"),
            keras.layers.BatchNormalization(name="bn1"),
            keras.layers.Conv2D(4, 3, name="c2"),
            keras.layers.Conv2D(4, 3, name="c3"),
        ],
        name="mine",
    )
    model = keras_tl.TransferClassifier(backbone, 2, preprocessing="tf")
    assert [b.name for b in model.blocks] == ["c1", "c2", "c3"]
    model.unfreeze(blocks=1)
    assert [l.name for l in model.backbone.layers if l.trainable_weights] == ["c3"]
    path = tmp_path / "custom.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(
        model.predict(images, verbose=0),
        loaded.predict(images, verbose=0),
        rtol=1e-5,
        atol=1e-6,
    )
    assert [l.name for l in loaded.backbone.layers if l.trainable_weights] == ["c3"]


def test_predict_labels(images):
    model = keras_tl.TransferClassifier("vgg16", 3, class_names=["a", "b", "c"], **SMALL)
    labels, confidence = model.predict_labels(images)
    probs = np.asarray(model.predict(images, verbose=0))
    assert labels == [["a", "b", "c"][i] for i in probs.argmax(-1)]
    np.testing.assert_allclose(confidence, probs.max(-1), rtol=1e-6)
    binary = keras_tl.TransferClassifier("vgg16", 1, class_names=["normal", "pneumonia"], **SMALL)
    labels, confidence = binary.predict_labels(images)
    assert set(labels) <= {"normal", "pneumonia"}
    assert (confidence >= 0.5).all()


def test_extract_features_trains_the_shared_head(images, labels):
    model = keras_tl.TransferClassifier(tiny_backbone(), 3, preprocessing="tf")
    features = model.extract_features(images, batch_size=3)
    assert features.shape == (8, 16)
    # Same features as the full model computes inside.
    np.testing.assert_allclose(
        np.asarray(model.head(features)),
        np.asarray(model.predict(images, verbose=0)),
        rtol=1e-4,
        atol=1e-5,
    )
    before = np.array(model.head.weights[0])
    model.head.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.head.fit(features, labels, epochs=2, verbose=0)
    assert not np.array_equal(before, np.array(model.head.weights[0]))
    np.testing.assert_allclose(
        np.asarray(model.head(features)),
        np.asarray(model.predict(images, verbose=0)),
        rtol=1e-4,
        atol=1e-5,
    )
    batches = [(images[:4], labels[:4]), (images[4:], labels[4:])]
    feats, ys = model.extract_features(batches)
    assert feats.shape == (8, 16) and list(ys) == list(labels)


def test_augmentation_only_when_training(images):
    aug = keras.layers.RandomFlip("horizontal", seed=1)
    model = keras_tl.TransferClassifier("vgg16", 3, augmentation=aug, **SMALL)
    a = np.asarray(model(images, training=False))
    b = np.asarray(model(images, training=False))
    np.testing.assert_array_equal(a, b)
    assert model.get_config()["augmentation"]["class_name"] == "RandomFlip"


def test_output_is_float32_under_mixed_precision(images):
    keras.mixed_precision.set_global_policy("mixed_float16")
    model = keras_tl.TransferClassifier("vgg16", 3, **SMALL)
    assert model.backbone.layers[1].compute_dtype == "float16"
    out = model(images)
    assert keras.backend.standardize_dtype(out.dtype) == "float32"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(num_classes=0), "num_classes"),
        (dict(num_classes=2.5), "num_classes"),
        (dict(num_classes=3, pooling="mean"), "pooling"),
        (dict(num_classes=3, dropout=1.5), "dropout"),
        (dict(num_classes=3, preprocessing="imagenet"), "preprocessing"),
        (dict(num_classes=3, class_names=["a"]), "class_names"),
        (dict(num_classes=3, input_shape=(16, 16, 3)), "at least 32x32"),
    ],
)
def test_bad_arguments(kwargs, message):
    kwargs.setdefault("input_shape", (32, 32, 3))
    with pytest.raises(ValueError, match=message):
        keras_tl.TransferClassifier("vgg16", weights=None, **kwargs)


def test_bad_unfreeze_requests():
    model = keras_tl.TransferClassifier("vgg16", 3, **SMALL)
    with pytest.raises(ValueError, match="has 5 blocks"):
        model.unfreeze(blocks=6)
    with pytest.raises(ValueError, match="Close matches.*block5_conv1"):
        model.unfreeze(from_layer="block5_conv")
    with pytest.raises(ValueError, match="has 19 layers"):
        model.unfreeze(layers=20)
    with pytest.raises(ValueError, match="one of"):
        model.unfreeze("everything")
    with pytest.raises(ValueError, match="non-negative"):
        model.unfreeze(blocks=-1)
    with pytest.raises(ValueError, match="not both"):
        model.unfreeze("all", blocks=2)


# fine_tune ------------------------------------------------------------------


class _Snapshots(keras.callbacks.Callback):
    """Backbone and head weights at the end of every epoch."""

    def __init__(self):
        super().__init__()
        self.backbone, self.head = [], []

    def on_epoch_end(self, epoch, logs=None):
        if hasattr(self.model, "jax_state_sync"):
            self.model.jax_state_sync()  # JAX holds live values outside
        self.backbone.append(_values(self.model.backbone.weights))
        self.head.append(_values(self.model.head.weights))


def _tiny_classifier(**kwargs):
    kwargs.setdefault("block_starts", ["conv1", "conv2"])
    return keras_tl.TransferClassifier(tiny_backbone(), 3, preprocessing="tf", **kwargs)


def _same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b))


def test_fine_tune_trains_the_head_then_the_backbone(images, labels):
    model = _compiled(_tiny_classifier())
    model.unfreeze("all")  # fine_tune must freeze it for the first epochs
    before = _values(model.backbone.weights)
    head_before = _values(model.head.weights)
    snaps = _Snapshots()
    history = model.fine_tune(
        images,
        labels,
        epochs=2,
        freeze_epochs=2,
        callbacks=[snaps],
        batch_size=4,
        verbose=0,
    )
    assert len(history.history["loss"]) == 4
    assert _same(snaps.backbone[0], before) and _same(snaps.backbone[1], before)
    assert not _same(snaps.head[0], head_before)
    assert not _same(snaps.backbone[2], before)
    trainable = history.history["trainable_params"]
    assert trainable[0] == trainable[1] < trainable[2] == trainable[3]
    # lr_ratio=0.1: the backbone got its own (slower) learning rate.
    assert isinstance(model.optimizer, keras.optimizers.MultiOptimizer)


def test_fine_tune_partial_unfreeze_and_no_freeze_phase(images, labels):
    model = _compiled(_tiny_classifier())
    kernels = lambda: {
        name: np.array(model.backbone.get_layer(name).kernel)
        for name in ("conv0", "conv1", "conv2")
    }
    before = kernels()
    history = model.fine_tune(
        images,
        labels,
        epochs=1,
        freeze_epochs=0,
        unfreeze={"blocks": 1},
        lr_ratio=None,
        verbose=0,
    )
    assert len(history.history["loss"]) == 1
    after = kernels()
    # From the first epoch only the top block trains; BatchNorm stays frozen.
    assert freezing.trainable_layer_names(model.backbone) == ["conv2"]
    assert np.array_equal(before["conv0"], after["conv0"])
    assert np.array_equal(before["conv1"], after["conv1"])
    assert not np.array_equal(before["conv2"], after["conv2"])
    assert not isinstance(model.optimizer, keras.optimizers.MultiOptimizer)


def test_fine_tune_head_only(images, labels, recwarn):
    model = _compiled(_tiny_classifier())
    before = _values(model.backbone.weights)
    history = model.fine_tune(images, labels, epochs=0, freeze_epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    assert _same(_values(model.backbone.weights), before)
    assert not [w for w in recwarn if "FreezeSchedule" in str(w.message)]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(epochs=-1), "`epochs` must be an integer >= 0"),
        (dict(epochs=1.5), "`epochs` must be an integer >= 0"),
        (dict(epochs=True), "`epochs` must be an integer >= 0"),
        (dict(epochs=1, freeze_epochs="1"), "`freeze_epochs` must be"),
        (dict(epochs=0, freeze_epochs=0), "nothing to train"),
        (dict(epochs=1, unfreeze="head"), "never unfreezes"),
        (dict(epochs=1, unfreeze="everything"), "`unfreeze`: .*one of"),
        (dict(epochs=1, unfreeze={"blocks": 5}), "has 2 blocks"),
        (dict(epochs=1, lr_ratio=0), "`lr_ratio` must be a number > 0"),
        (dict(epochs=1, lr_ratio=True), "`lr_ratio` must be a number > 0"),
        (dict(epochs=1, callbacks=keras.callbacks.History()), "`callbacks`"),
        (
            dict(epochs=1, callbacks=[keras_tl.callbacks.FreezeSchedule({0: "all"})]),
            "adds its own FreezeSchedule",
        ),
    ],
)
def test_fine_tune_bad_arguments(images, labels, kwargs, message):
    model = _compiled(_tiny_classifier())
    with pytest.raises(ValueError, match=message):
        model.fine_tune(images, labels, verbose=0, **kwargs)


def test_fine_tune_needs_a_compiled_model(images, labels):
    with pytest.raises(ValueError, match="Compile the model"):
        _tiny_classifier().fine_tune(images, labels, epochs=1)


# compile("auto") --------------------------------------------------------------


@pytest.mark.parametrize(
    "num_classes, from_logits, loss_class",
    [
        (3, False, keras.losses.SparseCategoricalCrossentropy),
        (3, True, keras.losses.SparseCategoricalCrossentropy),
        (1, False, keras.losses.BinaryCrossentropy),
        (1, True, keras.losses.BinaryCrossentropy),
    ],
)
def test_auto_compile_matches_the_head(images, num_classes, from_logits, loss_class):
    model = keras_tl.TransferClassifier(
        tiny_backbone(), num_classes, preprocessing="tf", from_logits=from_logits
    )
    model.compile()
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert isinstance(model.loss, loss_class)
    assert model.loss.get_config()["from_logits"] is from_logits
    labels = np.array([0, 1, 0, 1, 1, 0, 0, 1])
    history = model.fit(images, labels, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert 0.0 <= history.history["accuracy"][-1] <= 1.0
    if num_classes == 1:
        # logits split at 0, probabilities at 0.5
        accuracy = model.metrics[-1].metrics[0]
        assert accuracy.threshold == (0.0 if from_logits else 0.5)


def test_explicit_compile_arguments_pass_through(images, labels):
    model = _tiny_classifier()
    sgd = keras.optimizers.SGD(0.01)
    model.compile(optimizer=sgd, loss="sparse_categorical_crossentropy", metrics=None)
    assert model.optimizer is sgd
    assert model.loss == "sparse_categorical_crossentropy"
    logs = model.fit(images, labels, epochs=1, verbose=0).history
    assert "accuracy" not in logs
    # weighted_metrics given: "auto" metrics add no second accuracy.
    model.compile(weighted_metrics=["accuracy"])
    logs = model.fit(images, labels, epochs=1, verbose=0).history
    assert sorted(logs) == ["accuracy", "loss"]


def test_auto_compiled_model_saves_and_loads(tmp_path, images, labels):
    model = _tiny_classifier()
    model.compile()
    model.fit(images, labels, epochs=1, verbose=0)
    path = tmp_path / "auto.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded.optimizer, keras.optimizers.Adam)
    assert isinstance(loaded.loss, keras.losses.SparseCategoricalCrossentropy)
    # the optimizer state came back too
    assert int(loaded.optimizer.iterations) == int(model.optimizer.iterations) == 1
    np.testing.assert_allclose(
        model.evaluate(images, labels, verbose=0),
        loaded.evaluate(images, labels, verbose=0),
        rtol=1e-5,
    )
    loaded.fit(images, labels, epochs=1, verbose=0)


# config -----------------------------------------------------------------------


def test_image_size_and_input_shape():
    model = keras_tl.TransferClassifier("mobilenet_v2", 3, **SMALL)
    assert model.image_size == (32, 32)
    assert model.input_shape == (None, 32, 32, 3)
    with pytest.raises(AttributeError):
        model.image_size = (64, 64)
    assert model.get_config()["input_shape"] == [32, 32, 3]


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_dtype_policy_survives_a_round_trip(tmp_path, images, policy):
    model = keras_tl.TransferClassifier("mobilenet_v2", 3, dtype=policy, head_units=(8,), **SMALL)
    assert keras.config.dtype_policy().name == "float32"  # left as it was
    compute = policy.split("_")[1]
    assert model.backbone.get_layer("Conv1").compute_dtype == compute
    assert model.head.get_layer("dense_0").dtype_policy.name == policy
    assert model.head.get_layer("predictions").compute_dtype == "float32"
    model.save(tmp_path / "p.keras")
    loaded = keras.models.load_model(tmp_path / "p.keras")  # global: float32
    assert loaded.dtype_policy.name == policy
    assert loaded.backbone.get_layer("Conv1").compute_dtype == compute
    assert loaded.head.get_layer("dense_0").dtype_policy.name == policy
    out = loaded(images)
    assert keras.backend.standardize_dtype(out.dtype) == "float32"
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(model(images, training=False)),
        keras.ops.convert_to_numpy(out),
        rtol=1e-6,
        atol=1e-6,
    )
    # A backbone passed in as a model keeps the policy it was built with.
    custom = _tiny_classifier(dtype=policy, head_units=(8,))
    assert custom.backbone.get_layer("conv0").compute_dtype == "float32"
    assert custom.head.get_layer("dense_0").dtype_policy.name == policy


def test_global_policy_is_kept_in_the_config(tmp_path):
    keras.mixed_precision.set_global_policy("mixed_float16")
    model = _tiny_classifier()
    model.save(tmp_path / "g.keras")
    keras.mixed_precision.set_global_policy("float32")
    loaded = keras.models.load_model(tmp_path / "g.keras")
    assert loaded.dtype_policy.name == "mixed_float16"
    assert loaded.backbone.get_layer("conv0").compute_dtype == "float16"


def test_trainable_false_survives_a_round_trip(tmp_path, images, labels):
    model = _tiny_classifier()
    model.unfreeze(blocks=1)
    model.trainable = False
    assert model.get_config()["trainable"] is False
    assert model.trainable_weights == []
    model.save(tmp_path / "t.keras")
    loaded = keras.models.load_model(tmp_path / "t.keras")
    assert loaded.trainable is False
    assert loaded.trainable_weights == []
    before = _values(loaded.weights)
    loaded.compile()
    loaded.fit(images, labels, epochs=1, verbose=0)
    after = _values(loaded.weights)
    # BatchNorm runs in inference mode (train_batchnorm=False): nothing moves.
    assert _same(before, after)
