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

        @tf.function(
            input_signature=[
                tf.TensorSpec([None, None, None, 3], tf.float32),
                tf.TensorSpec([], tf.bool),
            ]
        )
        def __call__(self, images, training):
            pooled = tf.reduce_mean(images, axis=[1, 2])
            features = tf.matmul(pooled, self.kernel)
            # training uses batch statistics, inference the stored ones
            center = tf.cond(
                training, lambda: tf.reduce_mean(features, 0), lambda: tf.identity(self.moving_mean)
            )
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
        keras_tl.hub.HubFeatureVector(path, input_shape=(16, 16, 3)),
        2,
        input_shape=(16, 16, 3),
    )
    assert tuple(tc.predict(_images(), verbose=0).shape) == (8, 2)


def test_frozen_stays_bit_identical_and_trainable_fine_tunes(tmp_path):
    path = _reusable_module(tmp_path / "fv")
    x, y = _images(16), np.arange(16) % 2
    for trainable in (False, True):
        layer = keras_tl.hub.HubFeatureVector(path, trainable=trainable, input_shape=(16, 16, 3))
        model = keras.Sequential([keras.Input((16, 16, 3)), layer, keras.layers.Dense(2)])
        model.compile(
            optimizer=keras.optimizers.SGD(0.5),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        kernel = [w for w in layer.weights if "kernel" in w.name][0]
        before = np.array(kernel)
        assert any(w is kernel for w in model.trainable_weights) == trainable
        model.fit(x, y, epochs=2, verbose=0)
        changed = not np.array_equal(before, np.array(kernel))
        assert changed == trainable
        # the module's own graph sees the new values
        np.testing.assert_allclose(np.array(layer._module.kernel), np.array(kernel), rtol=0, atol=0)


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
        HFV(path, signature="nope", output_key="default")
    # A signature trains too (hub.KerasLayer refuses; see the README).
    assert (
        len(
            HFV(
                path, signature="serving_default", output_key="default", trainable=True
            ).trainable_weights
        )
        == 1
    )


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
        keras_tl.hub.HubFeatureVector(path, input_shape=(16, 16, 3)),
        2,
        input_shape=(16, 16, 3),
    )
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy")
    kernel = [w for w in model.backbone.weights if "kernel" in w.name][0]
    seen = []

    class Record(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(np.array(kernel))

    start = np.array(kernel)
    model.fit(
        _images(16),
        np.arange(16) % 2,
        epochs=3,
        verbose=0,
        callbacks=[keras_tl.callbacks.FreezeSchedule({0: "head", 2: "all"}), Record()],
    )
    np.testing.assert_array_equal(seen[1], start)  # frozen for epochs 0-1
    assert not np.array_equal(seen[2], seen[1])  # fine-tuned in epoch 2


# Ports of tensorflow_hub's keras_layer_test.py. Its modules are built there
# with tf_keras layers; here with plain tf.Variables (no Keras 2 needed),
# keeping the same attributes a Hub-style SavedModel exports.


def _json_cycle(config):
    import json

    return json.loads(json.dumps(config))


def _half_plus_one_module(path):
    """y = w*x + 1 with w = 0.5 trainable; the `plus_1` kernel and bias are
    tf.Variables with trainable=True that the module leaves out of its
    `trainable_variables`; an L2(0.01) regularization loss on w."""
    import tensorflow as tf

    w = tf.Variable([[0.5]], name="times_w_kernel")
    k1 = tf.Variable([[1.0]], name="plus_1_kernel")
    b1 = tf.Variable([1.0], name="plus_1_bias")

    @tf.function(input_signature=[tf.TensorSpec((None, 1), tf.float32)])
    def call_fn(inputs):
        return tf.matmul(tf.matmul(inputs, w), k1) + b1

    obj = tf.train.Checkpoint()
    obj.__call__ = call_fn
    obj.variables = [w, k1, b1]
    obj.trainable_variables = [w]
    obj.regularization_losses = [
        tf.function(lambda: 0.01 * tf.reduce_sum(tf.square(w)), input_signature=[])
    ]
    tf.saved_model.save(obj, str(path))
    return str(path)


def _hparams_module(path):
    """y = a*x + b with hyperparameters a, b (no `training` argument)."""
    import tensorflow as tf

    @tf.function(
        input_signature=[
            tf.TensorSpec((None, 1), tf.float32),
            tf.TensorSpec((), tf.float32),
            tf.TensorSpec((), tf.float32),
        ]
    )
    def call_fn(x, a=1.0, b=0.0):
        return a * x + b

    obj = tf.train.Checkpoint()
    obj.__call__ = call_fn
    tf.saved_model.save(obj, str(path))
    return str(path)


def _batch_norm_module(path):
    """A batch norm with `training=False` as a Python keyword: batch
    statistics and moving-average updates (momentum 0.8) when training."""
    import tensorflow as tf

    beta = tf.Variable([0.0], name="beta")
    gamma = tf.Variable([1.0], name="gamma")
    mean = tf.Variable([0.0], trainable=False, name="moving_mean")
    var = tf.Variable([1.0], trainable=False, name="moving_variance")

    @tf.function
    def call_fn(inputs, training=False):
        if training:
            m, v = tf.nn.moments(inputs, axes=[0])
            mean.assign(0.8 * mean + 0.2 * m)
            var.assign(0.8 * var + 0.2 * v)
        else:
            m, v = mean, var
        return tf.nn.batch_normalization(inputs, m, v, beta, gamma, 1e-3)

    for training in (True, False):
        call_fn.get_concrete_function(tf.TensorSpec((None, 1), tf.float32), training=training)
    obj = tf.train.Checkpoint()
    obj.__call__ = call_fn
    obj.variables = [beta, gamma, mean, var]
    obj.trainable_variables = [beta, gamma]
    obj.regularization_losses = []
    tf.saved_model.save(obj, str(path))
    return str(path)


def _text_embedding_module(path):
    """y = length(text) * w, w of shape (1, 2): string in, float out."""
    import tensorflow as tf

    w = tf.Variable([[0.1, 0.3]], name="w")

    @tf.function(input_signature=[tf.TensorSpec((None, 1), tf.string)])
    def call_fn(text):
        return tf.matmul(tf.cast(tf.strings.length(text), tf.float32), w)

    obj = tf.train.Checkpoint()
    obj.__call__ = call_fn
    obj.variables = [w]
    obj.trainable_variables = [w]
    obj.regularization_losses = [
        tf.function(lambda: 0.01 * tf.reduce_sum(tf.square(w)), input_signature=[])
    ]
    tf.saved_model.save(obj, str(path))
    return str(path)


def _plus_one_module(path, keras_default=False):
    """x + 1 for any shape, also as the `serving_default` signature; with
    `keras_default`, __call__(x, training) adds 1 only when training and
    x + 1 is the `plus_one` signature."""
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec(None, tf.float32)])
    def plus_one(x):
        return x + 1

    obj = tf.train.Checkpoint()
    if not keras_default:
        obj.__call__ = plus_one
        tf.saved_model.save(obj, str(path))
        return str(path)

    @tf.function(input_signature=[tf.TensorSpec(None, tf.float32), tf.TensorSpec((), tf.bool)])
    def call_fn(x, training=False):
        return x + tf.cast(training, tf.float32)

    obj.__call__ = call_fn
    obj.plus_one = plus_one
    tf.saved_model.save(obj, str(path), signatures={"plus_one": obj.plus_one})
    return str(path)


def _dict_module(path):
    """{x, y} -> [x+y, x+2y], or with return_dict a dict that adds x-y."""
    import tensorflow as tf

    @tf.function
    def call_fn(d, return_dict=False):
        sigma = tf.concat([d["x"] + d["y"], d["x"] + 2 * d["y"]], axis=-1)
        return dict(sigma=sigma, delta=d["x"] - d["y"]) if return_dict else sigma

    spec = dict(x=tf.TensorSpec((None, 1), tf.float32), y=tf.TensorSpec((None, 1), tf.float32))
    for return_dict in (False, True):
        call_fn.get_concrete_function(spec, return_dict=return_dict)
    obj = tf.train.Checkpoint()
    obj.__call__ = call_fn
    tf.saved_model.save(obj, str(path))
    return str(path)


def _obscure_list_module(path):
    """[x, 2x, 3x] broadcast to (1,), (2, 2), (3, 3, 3), through shapes
    that static shape inference cannot see."""
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec((None, 1), tf.float32)])
    def call_fn(x):
        batch = tf.shape(x)[0]
        noise = 0.1 * tf.sin(tf.random.uniform((), -3, 3)) + 0.3  # rounded away
        return [
            tf.broadcast_to(
                tf.reshape(i * x, [batch] + [1] * i),
                tf.cast(tf.cast(tf.concat([[batch], [i] * i], 0), tf.float32) + noise, tf.int32),
            )
            for i in range(1, 4)
        ]

    obj = tf.train.Checkpoint()
    obj.__call__ = call_fn
    tf.saved_model.save(obj, str(path))
    return str(path)


def _custom_attributes_module(path, scratch):
    """Parses a string to int64; an Asset and a Variable ride along."""
    import tensorflow as tf

    obj = tf.train.Checkpoint()
    obj.__call__ = tf.function(input_signature=[tf.TensorSpec((None, 1), tf.string)])(
        lambda a: tf.strings.to_number(a, tf.int64)
    )
    scratch.mkdir()
    (scratch / "number.txt").write_text("123456789\n")  # > 2**24: float32 can't hold it
    obj.sample_input = tf.saved_model.Asset(str(scratch / "number.txt"))
    obj.sample_output = tf.Variable([[123456789]], dtype=tf.int64)
    tf.saved_model.save(obj, str(path))
    (scratch / "number.txt").unlink()
    return str(path)


def _x(*values):
    return np.array([[v] for v in values], "float32")


# upstream: testHalfPlusOneRetraining
def test_half_plus_one_retraining_keeps_the_publishers_trainable_set(tmp_path):
    imported = keras_tl.hub.HubFeatureVector(_half_plus_one_module(tmp_path / "m"), trainable=True)
    inp = keras.Input((1,))
    model = keras.Model(inp, imported(inp))
    np.testing.assert_array_equal(model(_x(0, 8, 10, 12)), _x(1, 5, 6, 7))
    # Only w trains; plus_1's kernel and bias are frozen by the module.
    assert [tuple(v.shape) for v in model.trainable_weights] == [(1, 1)]
    assert sorted(len(v.shape) for v in model.non_trainable_weights) == [1, 2]
    np.testing.assert_allclose(np.array(model.losses), [0.0025], rtol=1e-6)
    # Retrain on y = x/2 + 6 near x = 10: only w can compensate.
    model.compile(keras.optimizers.SGD(0.002), "mean_squared_error")
    x = _x(9, 10, 11).repeat(10, axis=0)
    model.fit(x, x / 2 + 6, batch_size=len(x), epochs=10, verbose=0)
    np.testing.assert_array_equal(model(_x(0)), _x(1))  # the bias stayed 1.0
    np.testing.assert_allclose(model(_x(10)), _x(11), rtol=0.03)
    np.testing.assert_allclose(np.array(model.losses), [0.01], rtol=0.06)


# upstream: testRegularizationLoss
def test_regularization_loss_counts_while_trainable_also_in_evaluate(tmp_path):
    imported = keras_tl.hub.HubFeatureVector(_half_plus_one_module(tmp_path / "m"))
    inp = keras.Input((1,))
    model = keras.Model(inp, imported(inp))
    for trainable in (False, True, False, True):  # toggled after the fact
        imported.trainable = trainable
        expected = 0.0025 if trainable else 0.0
        np.testing.assert_allclose(
            float(sum(np.array(l) for l in model.losses)), expected, rtol=1e-6
        )
        # evaluate() on an exact fit: the loss is the regularization alone
        # (after compile(), which a Dense's kernel_regularizer needs too)
        model.compile("sgd", "mean_squared_error")
        loss = model.evaluate(_x(0, 2), _x(1, 2), verbose=0)
        np.testing.assert_allclose(loss, expected, rtol=1e-5, atol=1e-7)


# upstream: testBatchNormRetraining, testBatchNormFreezing
def test_batch_norm_training_flag_reaches_the_module(tmp_path):
    path = _batch_norm_module(tmp_path / "bn")
    x = _x(11, 12, 13)
    imported = keras_tl.hub.HubFeatureVector(path, trainable=True)
    beta, gamma, mean, variance = sorted(imported.weights, key=lambda v: v.name)
    inp = keras.Input((1,))
    model = keras.Model(inp, imported(inp))
    model.compile(keras.optimizers.SGD(0.1), "mean_squared_error")
    # 100 steps on the same batch (one epoch: cheaper than 100 epochs)
    model.fit(
        np.tile(x, (100, 1)), np.tile(2 * x, (100, 1)), batch_size=3, shuffle=False, verbose=0
    )
    np.testing.assert_allclose(np.array(mean), [12.0], rtol=1e-5)
    np.testing.assert_allclose(np.array(beta), [24.0], rtol=1e-4)
    np.testing.assert_allclose(model(x), 2 * x, rtol=1e-3)
    for _ in range(3):  # inference: stored statistics, no updates
        np.testing.assert_allclose(model(_x(10, 20, 30)), 2 * _x(10, 20, 30), rtol=1e-3)
    np.testing.assert_allclose(np.array(mean), [12.0], rtol=1e-5)

    frozen = keras_tl.hub.HubFeatureVector(path, trainable=False)
    inp = keras.Input((1,))
    dense = keras.layers.Dense(
        1, use_bias=False, kernel_initializer=keras.initializers.Constant(1.5)
    )
    model = keras.Model(inp, dense(frozen(inp)))
    model.compile(keras.optimizers.SGD(0.1), "mean_squared_error")
    before = [np.array(v) for v in frozen.weights]
    model.fit(_x(1, 2, 3), 2 * _x(1, 2, 3), batch_size=3, epochs=20, verbose=0)
    for old, new in zip(before, frozen.weights):  # not even the moving stats
        np.testing.assert_array_equal(old, np.array(new))
    np.testing.assert_allclose(model(_x(1, 2, 3)), 2 * _x(1, 2, 3), rtol=1e-3)


# upstream: testCustomAttributes
def test_resolved_object_and_int64_output_keep_their_values(tmp_path):
    import tensorflow as tf

    path = _custom_attributes_module(tmp_path / "m", tmp_path / "scratch")
    imported = keras_tl.hub.HubFeatureVector(path)
    expected = imported.resolved_object.sample_output.numpy()
    text = tf.io.read_file(imported.resolved_object.sample_input.asset_path)
    out = imported(tf.reshape(text, (1, 1)))
    assert keras.backend.standardize_dtype(out.dtype) == "int64"
    np.testing.assert_array_equal(np.asarray(out), expected)  # 123456789 exactly
    symbolic = imported(keras.Input((1,), dtype="string"))
    assert symbolic.dtype == "int64"


# upstream: testInputOutputDict (NoOutputShapes, WithOutputShapes)
@pytest.mark.parametrize("pass_output_shapes", [False, True])
def test_dict_inputs_and_outputs(tmp_path, pass_output_shapes):
    HFV = keras_tl.hub.HubFeatureVector
    kwargs = dict(arguments=dict(return_dict=True))
    if pass_output_shapes:
        kwargs["output_shape"] = dict(sigma=(2,), delta=(1,))
    imported = HFV(_dict_module(tmp_path / "m"), **kwargs)
    dict_in = dict(x=keras.Input((1,), name="x"), y=keras.Input((1,), name="y"))
    dict_out = imported(dict_in)
    assert tuple(dict_out["sigma"].shape) == (None, 2)
    concat = keras.layers.Concatenate()([dict_out["delta"], dict_out["sigma"]])
    model = keras.Model(dict_in, [dict_out["delta"], dict_out["sigma"], concat])
    delta, sigma, both = model(dict(x=_x(11, 22, 33), y=_x(1, 2, 3)))
    np.testing.assert_allclose(delta, _x(10, 20, 30))
    np.testing.assert_allclose(sigma, [[12, 13], [24, 26], [36, 39]])
    np.testing.assert_allclose(both, [[10, 12, 13], [20, 24, 26], [30, 36, 39]])
    config = _json_cycle(imported.get_config())
    assert config["output_shape"] == ({"sigma": [2], "delta": [1]} if pass_output_shapes else None)
    again = HFV.from_config(config, safe_mode=False)
    np.testing.assert_allclose(again(dict(x=_x(11), y=_x(1)))["delta"], _x(10))
    # output_key picks one entry of a __call__'s dict
    only = HFV(_dict_module(tmp_path / "m"), arguments=dict(return_dict=True), output_key="delta")
    np.testing.assert_allclose(only(dict(x=_x(11), y=_x(1))), _x(10))


# upstream: testOutputShapeList (NoOutputShapes, WithOutputShapes)
@pytest.mark.parametrize("pass_output_shapes", [False, True])
def test_list_outputs_and_output_shape(tmp_path, pass_output_shapes):
    kwargs = dict(output_shape=[[1], [2, 2], [3, 3, 3]]) if pass_output_shapes else {}
    imported = keras_tl.hub.HubFeatureVector(_obscure_list_module(tmp_path / "m"), **kwargs)
    inp = keras.Input((1,))
    outs = imported(inp)
    shapes = [tuple(o.shape) for o in outs]
    if pass_output_shapes:
        assert shapes == [(None, 1), (None, 2, 2), (None, 3, 3, 3)]
    else:  # static shape inference gives up: hence output_shape
        assert shapes == [(None, None), (None, None, None), (None, None, None, None)]
    single, double, triple = keras.Model(inp, outs)(_x(1, 10))
    np.testing.assert_allclose(single, _x(1, 10))
    np.testing.assert_allclose(double, np.broadcast_to(_x(2, 20)[:, :, None], (2, 2, 2)))
    np.testing.assert_allclose(triple, np.broadcast_to(_x(3, 30)[:, :, None, None], (2, 3, 3, 3)))
    config = _json_cycle(imported.get_config())
    assert config["output_shape"] == kwargs.get("output_shape")
    keras_tl.hub.HubFeatureVector.from_config(config, safe_mode=False)
    wrong = keras_tl.hub.HubFeatureVector(imported.handle, output_shape=[[1], [2, 2]])
    with pytest.raises(ValueError, match="`output_shape`"):
        wrong(_x(1))


# upstream: testComputeOutputShape, testComputeOutputShapeDifferentDtypes
def test_compute_output_shape(tmp_path):
    HFV = keras_tl.hub.HubFeatureVector
    assert HFV(_half_plus_one_module(tmp_path / "m")).compute_output_shape((10, 1)) == (10, 1)
    path = _text_embedding_module(tmp_path / "text")
    layer = HFV(path, output_shape=(2,))
    assert layer.compute_output_shape((None, 1)) == (None, 2)
    assert layer.compute_output_shape((3, 1)) == (3, 2)
    # The module's string input dtype is known, so no output_shape needed.
    assert HFV(path).compute_output_shape((3, 1)) == (3, 2)


# upstream: testResaveWithMixedPrecision
def test_resave_string_module_with_mixed_precision(tmp_path):
    import tensorflow as tf

    keras.mixed_precision.set_global_policy("mixed_float16")
    imported = keras_tl.hub.HubFeatureVector(_text_embedding_module(tmp_path / "m"), trainable=True)
    inp = keras.Input((1,), dtype="string")
    model = keras.Model(inp, imported(inp))
    model.compile(keras.optimizers.SGD(0.002, momentum=0.001), "mean_squared_error")
    x = tf.constant([["a"], ["aa"], ["aaa"]])
    model.fit(x, np.array([[1, 1], [2, 2], [3, 3]], "float32"), verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=False)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


# upstream: testGetConfigFromConfig, testGetConfigFromConfigWithHParams,
# testSaveModelConfig
def test_config_round_trips_and_hparams_arguments(tmp_path):
    HFV = keras_tl.hub.HubFeatureVector
    layer = HFV(_half_plus_one_module(tmp_path / "m"))
    again = HFV.from_config(_json_cycle(layer.get_config()), safe_mode=False)
    np.testing.assert_array_equal(again(_x(10)), layer(_x(10)))

    # `training` is found by name: a second argument `a` is a hyperparameter.
    hparams = HFV(_hparams_module(tmp_path / "hp"), arguments=dict(a=10.0))  # b stays 0
    np.testing.assert_array_equal(hparams(_x(1, 2, 3)), _x(10, 20, 30))
    again = HFV.from_config(_json_cycle(hparams.get_config()), safe_mode=False)
    np.testing.assert_array_equal(again(_x(1, 2, 3)), _x(10, 20, 30))

    model = keras.Sequential([keras.Input((1,)), HFV(_half_plus_one_module(tmp_path / "m2"))])
    rebuilt = keras.saving.deserialize_keras_object(
        _json_cycle(keras.saving.serialize_keras_object(model)), safe_mode=False
    )
    np.testing.assert_array_equal(rebuilt(_x(10)), model(_x(10)))


# upstream: test_load_with_defaults,
# test_load_callable_saved_model_v2_with_signature, test_keras_layer_get_config
@pytest.mark.parametrize(
    "signature, output_key, as_dict",
    [
        (None, None, None),
        ("serving_default", None, True),
        ("serving_default", "output_0", None),
    ],
)
def test_call_or_signature_outputs(tmp_path, signature, output_key, as_dict):
    HFV = keras_tl.hub.HubFeatureVector
    layer = HFV(
        _plus_one_module(tmp_path / "m"),
        signature=signature,
        output_key=output_key,
        signature_outputs_as_dict=as_dict,
    )
    output = layer(np.array(10.0, "float32"))
    if as_dict:
        assert isinstance(output, dict) and float(output["output_0"]) == 11.0
    else:
        assert float(output) == 11.0
    again = HFV.from_config(_json_cycle(layer.get_config()), safe_mode=False)
    assert keras.tree.map_structure(
        float, again(np.array(10.0, "float32"))
    ) == keras.tree.map_structure(float, output)


# upstream: test_load_callable_keras_default_saved_model_v2_with_signature
def test_signature_beside_a_training_call(tmp_path):
    HFV = keras_tl.hub.HubFeatureVector
    path = _plus_one_module(tmp_path / "m", keras_default=True)
    output = HFV(path, signature="plus_one", signature_outputs_as_dict=True)(
        np.array(10.0, "float32")
    )
    assert isinstance(output, dict) and float(output["output_0"]) == 11.0
    # __call__ gets training=True only when trainable *and* training
    assert float(HFV(path)(np.array(10.0, "float32"), training=True)) == 10.0
    assert float(HFV(path, trainable=True)(np.array(10.0, "float32"), training=True)) == 11.0


# upstream: test_keras_layer_fails_if_signature_output_not_specified,
# test_keras_layer_fails_if_with_outputs_as_dict_but_no_signature,
# test_keras_layer_fails_if_saved_model_v2_with_tags,
# test_keras_layer_fails_if_setting_both_output_key_and_as_dict,
# test_keras_layer_fails_if_output_is_not_dict
def test_argument_errors(tmp_path):
    import tensorflow as tf

    HFV = keras_tl.hub.HubFeatureVector
    path = _plus_one_module(tmp_path / "m")
    with pytest.raises(ValueError, match="exactly one of `output_key`"):
        HFV(path, signature="serving_default")
    with pytest.raises(ValueError, match="only valid with a `signature`"):
        HFV(path, signature_outputs_as_dict=True)
    with pytest.raises(ValueError, match="`tags`.*'train'"):
        HFV(path, tags=["train"])
    with pytest.raises(ValueError, match="exactly one of `output_key`"):
        HFV(
            path, signature="serving_default", signature_outputs_as_dict=True, output_key="output_0"
        )
    with pytest.raises(ValueError, match="returns a Tensor, not a dict"):
        HFV(path, output_key="output_0")(np.array(10.0, "float32"))
    with pytest.raises(ValueError, match=r"available keys are \['output_0'\]"):
        HFV(path, signature="serving_default", output_key="nope")
    sig = _signature_module(tmp_path / "sig")
    with pytest.raises(ValueError, match=r"available keys are \['default', 'pooled_output'\]"):
        HFV(sig, signature="serving_default", output_key="pooled")
    # Every argument is checked when the layer is made, naming it.
    bad = {
        "trainable": "yes",
        "arguments": {"a": tf.constant(1.0)},
        "tags": [1],
        "signature": 3,
        "signature_outputs_as_dict": "yes",
        "output_key": 0,
        "output_shape": 7,
        "load_options": {"io_device": "/cpu:0"},
    }
    for name, value in bad.items():
        with pytest.raises(ValueError, match=f"`{name}`"):
            HFV(path, **{name: value})


def test_tags_and_load_options_are_used_and_saved(tmp_path):
    import tensorflow as tf

    HFV = keras_tl.hub.HubFeatureVector
    path = _plus_one_module(tmp_path / "m")
    options = tf.saved_model.LoadOptions(experimental_io_device="/job:localhost")
    layer = HFV(path, tags="serve", load_options=options)
    assert float(layer(np.array(1.0, "float32"))) == 2.0
    config = _json_cycle(layer.get_config())
    assert config["tags"] == ["serve"]
    assert config["load_options"]["experimental_io_device"] == "/job:localhost"
    again = HFV.from_config(config, safe_mode=False)
    assert again.get_config() == layer.get_config()
    assert (
        float(HFV(path, load_options={"allow_partial_checkpoint": True})(np.array(1.0, "float32")))
        == 2.0
    )


# upstream: test_keras_layer_logs_if_training_zero_variables
def test_logs_if_trainable_with_zero_trainable_variables(tmp_path, caplog):
    # (upstream uses its hparams module; the plus-one one has no variables
    # either, and no hyperparameters to pass)
    layer = keras_tl.hub.HubFeatureVector(_plus_one_module(tmp_path / "m"), trainable=True)
    with caplog.at_level("WARNING", logger="keras_tl"):
        layer(_x(10))
        layer(_x(10))
    records = [r for r in caplog.records if "zero trainable weights" in r.getMessage()]
    assert len(records) == 1  # once per layer
