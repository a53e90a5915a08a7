"""HubFeatureVector on small SavedModels the tests build (no network)."""

import numpy as np
import pytest

import keras
import keras_tl

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="HubFeatureVector runs TF SavedModels (TensorFlow backend)",
)


def _reusable_module(path):
    """A reusable SavedModel: __call__(images, training) with a variable
    kernel and a BatchNorm-like training switch, like Hub image vectors."""
    import tensorflow as tf

    class FeatureVector(tf.Module):
        def __init__(self):
            super().__init__()
            self.kernel = tf.Variable(
                tf.random.stateless_normal((3, 8), seed=(1, 2)) * 0.5, name="kernel"
            )
            self.moving_mean = tf.Variable(tf.zeros(8), trainable=False, name="moving_mean")
            self.regularization_losses = []

        @tf.function(input_signature=[
            tf.TensorSpec([None, None, None, 3], tf.float32),
            tf.TensorSpec([], tf.bool)])  # fmt: skip
        def __call__(self, images, training):
            pooled = tf.reduce_mean(images, axis=[1, 2])
            features = tf.matmul(pooled, self.kernel)
            # training uses batch statistics, inference the stored ones
            center = tf.cond(training, lambda: tf.reduce_mean(features, 0),
                             lambda: tf.identity(self.moving_mean))  # fmt: skip
            return tf.nn.relu(features - center)

    module = FeatureVector()
    tf.saved_model.save(module, str(path))
    return str(path)


def _signature_module(path):
    import tensorflow as tf

    class WithSignature(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable(tf.ones((3, 4)), name="w")

        @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
        def serve(self, images):
            pooled = tf.reduce_mean(images, axis=[1, 2])
            return {"default": tf.matmul(pooled, self.w), "pooled_output": pooled}

    module = WithSignature()
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.serve})
    return str(path)


def _images(n=8, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, (n, 16, 16, 3)).astype("float32")


def test_in_sequential_and_transfer_classifier(tmp_path):
    path = _reusable_module(tmp_path / "fv")
    layer = keras_tl.hub.HubFeatureVector(path, input_shape=(16, 16, 3))
    model = keras.Sequential([keras.Input((16, 16, 3)), layer, keras.layers.Dense(2)])
    assert tuple(model(_images()).shape) == (8, 2)
    tc = keras_tl.TransferClassifier(
        keras_tl.hub.HubFeatureVector(path, input_shape=(16, 16, 3)), 2,
        input_shape=(16, 16, 3),
    )  # fmt: skip
    assert tuple(tc.predict(_images(), verbose=0).shape) == (8, 2)


def test_frozen_stays_bit_identical_and_trainable_fine_tunes(tmp_path):
    path = _reusable_module(tmp_path / "fv")
    x, y = _images(16), np.arange(16) % 2
    for trainable in (False, True):
        layer = keras_tl.hub.HubFeatureVector(path, trainable=trainable, input_shape=(16, 16, 3))
        model = keras.Sequential([keras.Input((16, 16, 3)), layer, keras.layers.Dense(2)])
        model.compile(optimizer=keras.optimizers.SGD(0.5),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))  # fmt: skip
        kernel = [w for w in layer.weights if "kernel" in w.name][0]
        before = np.array(kernel)
        assert any(w is kernel for w in model.trainable_weights) == trainable
        model.fit(x, y, epochs=2, verbose=0)
        changed = not np.array_equal(before, np.array(kernel))
        assert changed == trainable
        # the module's own graph sees the new values
        np.testing.assert_allclose(
            np.array(layer._module.kernel), np.array(kernel), rtol=0, atol=0
        )


def test_save_load_keeps_fine_tuned_weights_and_needs_unsafe_mode(tmp_path):
    path = _reusable_module(tmp_path / "fv")
    layer = keras_tl.hub.HubFeatureVector(path, trainable=True, input_shape=(16, 16, 3))
    model = keras.Sequential([keras.Input((16, 16, 3)), layer, keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(_images(), np.ones((8, 2)), epochs=1, verbose=0)
    expected = model.predict(_images(), verbose=0)
    model.save(tmp_path / "m.keras")
    with pytest.raises(ValueError, match="safe_mode=False"):
        keras.models.load_model(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=False)
    np.testing.assert_allclose(loaded.predict(_images(), verbose=0), expected, rtol=1e-5)


def test_signature_with_dict_outputs(tmp_path):
    path = _signature_module(tmp_path / "sig")
    HFV = keras_tl.hub.HubFeatureVector
    layer = HFV(path, signature="serving_default", output_key="default")
    assert tuple(layer(_images()).shape) == (8, 4)
    pooled = HFV(path, signature="serving_default", output_key="pooled_output")
    np.testing.assert_allclose(np.asarray(pooled(_images())), _images().mean((1, 2)), rtol=1e-5)
    with pytest.raises(ValueError, match="output_key"):
        HFV(path, signature="serving_default")(_images())
    with pytest.raises(ValueError, match="Signature 'nope' not found"):
        HFV(path, signature="nope")


def test_mixed_precision_output_dtype(tmp_path):
    path = _reusable_module(tmp_path / "fv")
    keras.mixed_precision.set_global_policy("mixed_float16")
    layer = keras_tl.hub.HubFeatureVector(path)
    out = layer(_images())
    assert keras.backend.standardize_dtype(out.dtype) == "float16"


def test_clear_errors(tmp_path):
    HFV = keras_tl.hub.HubFeatureVector
    with pytest.raises(ValueError, match="neither an existing SavedModel folder"):
        HFV(str(tmp_path / "missing"))
    tf1 = tmp_path / "tf1"
    tf1.mkdir()
    (tf1 / "tfhub_module.pb").write_bytes(b"")
    with pytest.raises(ValueError, match="TF1 Hub format"):
        HFV(str(tf1))
    with pytest.raises(OSError, match="Download the model on a machine"):
        HFV("https://tfhub.dev/google/imagenet/mobilenet_v2_100_224/feature_vector/4")


def test_works_with_the_freeze_schedule(tmp_path):
    path = _reusable_module(tmp_path / "fv")
    model = keras_tl.TransferClassifier(
        keras_tl.hub.HubFeatureVector(path, input_shape=(16, 16, 3)), 2,
        input_shape=(16, 16, 3),
    )  # fmt: skip
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy")
    kernel = [w for w in model.backbone.weights if "kernel" in w.name][0]
    seen = []

    class Record(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(np.array(kernel))

    start = np.array(kernel)
    model.fit(_images(16), np.arange(16) % 2, epochs=3, verbose=0,
              callbacks=[keras_tl.callbacks.FreezeSchedule({0: "head", 2: "all"}), Record()])
    np.testing.assert_array_equal(seen[1], start)  # frozen for epochs 0-1
    assert not np.array_equal(seen[2], seen[1])  # fine-tuned in epoch 2
