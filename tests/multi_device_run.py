"""Training on 4 simulated CPU devices against the same run on one device,
on the backend in KERAS_BACKEND: `keras.distribution.DataParallel` on JAX,
`tf.distribute.MirroredStrategy` on TensorFlow.

    python -m tests.multi_device_run OUT_DIR

Runs in a fresh process because the device count is fixed when the engine
starts. Writes OUT_DIR/results.json (and a saved model) for
tests/test_multi_device.py to check.
"""

import json
import os
import sys

DEVICES = 4
BACKEND = os.environ.get("KERAS_BACKEND", "tensorflow")
if BACKEND == "jax":
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={DEVICES}"
    )

import numpy as np  # noqa: E402

import keras  # noqa: E402

if BACKEND == "tensorflow":
    import tensorflow as tf

    _cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        _cpu, [tf.config.LogicalDeviceConfiguration()] * DEVICES
    )

import keras_tl  # noqa: E402
from keras_tl.callbacks import FreezeSchedule  # noqa: E402
from keras_tl.callbacks import GradualUnfreezing  # noqa: E402
from tests.conftest import tiny_backbone  # noqa: E402


_STRATEGIES = {}


class Engine:
    """One device or all of them, on either backend."""

    def __init__(self, devices):
        self.devices = devices
        self.strategy = None
        if BACKEND == "tensorflow":
            # One strategy per device count for the whole process: a second
            # MirroredStrategy over the same devices can mix up collective
            # keys with the first one's.
            if devices not in _STRATEGIES:
                names = [f"/cpu:{i}" for i in range(devices)]
                _STRATEGIES[devices] = (
                    tf.distribute.MirroredStrategy(names)
                    if devices > 1
                    else tf.distribute.OneDeviceStrategy(names[0])
                )
            self.strategy = _STRATEGIES[devices]
        elif devices:  # 0: keep the distribution that is set
            import jax

            keras.distribution.set_distribution(
                keras.distribution.DataParallel(devices=jax.devices()[:devices])
                if devices > 1
                else None
            )

    def scope(self):
        import contextlib

        return self.strategy.scope() if self.strategy else contextlib.nullcontext()


def data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 255, (n, 32, 32, 3)).astype("float32")
    return x, rng.integers(0, 3, n)


def weights_of(variables):
    return [np.array(keras.ops.convert_to_numpy(v)) for v in variables]


def max_diff(a, b):
    return max(float(np.max(np.abs(p - q))) for p, q in zip(a, b))


def build(engine, weighted_metrics=None, **kwargs):
    keras.utils.set_random_seed(0)
    with engine.scope():
        model = keras_tl.TransferClassifier(tiny_backbone(), 3, preprocessing="tf", **kwargs)
        model.compile(
            optimizer=keras.optimizers.SGD(0.05, momentum=0.9),
            loss="sparse_categorical_crossentropy",
            metrics=None if weighted_metrics else ["accuracy"],
            weighted_metrics=weighted_metrics,
        )
    return model


class Snapshot(keras.callbacks.Callback):
    """Backbone weights at the end of epoch 0 (the frozen epoch)."""

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 0:
            if hasattr(self.model, "jax_state_sync"):
                self.model.jax_state_sync()
            self.frozen = weights_of(self.model.backbone.weights)


def layout_report(model):
    """Whether every optimizer variable lives on the devices of the model's
    weights (TF: mirrored; JAX: the same device set)."""
    if BACKEND == "tensorflow":
        kinds = {type(v.value).__name__ for v in model.optimizer.variables}
        return sorted(kinds)
    sets = {
        frozenset(str(d) for d in v.value.sharding.device_set)
        for v in list(model.optimizer.variables) + list(model.weights)
    }
    return [len(s) for s in sets]


def freeze_schedule_run(devices, out):
    engine = Engine(devices)
    x, y = data()
    model = build(engine)
    initial = weights_of(model.backbone.weights)
    snap = Snapshot()
    schedule = FreezeSchedule({0: "head", 1: {"blocks": 1}}, verbose=0)
    model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0, callbacks=[schedule, snap])
    final = weights_of(model.weights)
    backbone_final = weights_of(model.backbone.weights)
    moved = [
        v.path
        for v, a, b in zip(model.backbone.weights, initial, backbone_final)
        if not np.array_equal(a, b)
    ]
    out.update(
        frozen_epoch_identical=all(np.array_equal(a, b) for a, b in zip(initial, snap.frozen)),
        moved=moved,
        expected_moved=[w.path for w in model.backbone.trainable_weights],
        iterations=int(keras.ops.convert_to_numpy(model.optimizer.iterations)),
        layouts=layout_report(model),
    )
    return model, final


def gradual_run(devices):
    engine = Engine(devices)
    x, y = data(seed=1)
    model = build(engine)
    model.fit(
        x,
        y,
        batch_size=8,
        epochs=3,
        shuffle=False,
        verbose=0,
        callbacks=[GradualUnfreezing(every=1, verbose=0)],
    )
    return weights_of(model.weights)


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    results = {"backend": BACKEND, "devices": DEVICES}

    one, many = {}, {}
    _, final_one = freeze_schedule_run(1, one)
    model, final_many = freeze_schedule_run(DEVICES, many)
    results["one"], results["many"] = one, many
    results["freeze_schedule_max_diff"] = max_diff(final_one, final_many)

    # Bottleneck features and a save made under the distribution.
    x, _ = data(n=16, seed=2)
    results["features_shape"] = list(model.extract_features(x, batch_size=8).shape)
    np.save(os.path.join(out_dir, "x.npy"), x)
    np.save(os.path.join(out_dir, "predictions.npy"), model.predict(x, batch_size=8, verbose=0))
    np.save(os.path.join(out_dir, "features.npy"), model.extract_features(x, batch_size=8))
    model.save(os.path.join(out_dir, "model.keras"))

    results["gradual_max_diff"] = max_diff(gradual_run(1), gradual_run(DEVICES))

    # UnfreezeOnPlateau (monitoring the training loss) on many devices.
    plateau = {}
    for devices in (1, DEVICES):
        engine = Engine(devices)
        model = build(engine)
        model.fit(
            *data(seed=5),
            batch_size=8,
            epochs=3,
            shuffle=False,
            verbose=0,
            callbacks=[
                keras_tl.callbacks.UnfreezeOnPlateau("loss", patience=0, min_delta=10.0, verbose=0)
            ],
        )
        plateau[devices] = weights_of(model.weights)
        results.setdefault("plateau_trainable", []).append(len(model.backbone.trainable_weights))
    results["plateau_max_diff"] = max_diff(plateau[1], plateau[DEVICES])

    if BACKEND == "jax":
        # ModelParallel: the head's hidden Dense kernel split on a "model"
        # axis of a 2x2 mesh, the batch on the other.
        import jax

        keras.distribution.set_distribution(None)
        reference = build(Engine(1), head_units=(16,))
        reference.fit(
            *data(seed=6),
            batch_size=8,
            epochs=2,
            shuffle=False,
            verbose=0,
            callbacks=[FreezeSchedule({0: "head", 1: "all"}, verbose=0)],
        )
        mesh = keras.distribution.DeviceMesh((2, 2), ("batch", "model"), jax.devices())
        layout_map = keras.distribution.LayoutMap(mesh)
        layout_map["dense_0/kernel"] = (None, "model")
        keras.distribution.set_distribution(
            keras.distribution.ModelParallel(layout_map=layout_map, batch_dim_name="batch")
        )
        sharded = build(Engine(0), head_units=(16,))
        sharded.fit(
            *data(seed=6),
            batch_size=8,
            epochs=2,
            shuffle=False,
            verbose=0,
            callbacks=[FreezeSchedule({0: "head", 1: "all"}, verbose=0)],
        )
        kernel = sharded.head.get_layer("dense_0").kernel.value
        results["model_parallel"] = {
            "kernel_spec": str(kernel.sharding.spec),
            "max_diff": max_diff(weights_of(reference.weights), weights_of(sharded.weights)),
            "replicas": keras_tl.distribution.data_parallel_replicas(),
        }
        keras.distribution.set_distribution(None)

    # BatchNorm statistics with train_batchnorm=True: one device vs many.
    stats = {}
    for devices in (1, DEVICES):
        engine = Engine(devices)
        bn = build(engine, train_batchnorm=True)
        bn.unfreeze("all")
        with engine.scope():
            bn.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        bn.fit(*data(seed=4), batch_size=8, epochs=1, shuffle=False, verbose=0)
        stats[devices] = weights_of(
            [l.moving_mean for l in bn.backbone.layers if hasattr(l, "moving_mean")]
        )
    results["batchnorm_stats_max_diff"] = max_diff(stats[1], stats[DEVICES])

    # ImageDataGeneratorAugmentation inside the model, and mixed precision.
    engine = Engine(DEVICES)
    results["auto_policy"] = keras_tl.mixed_precision.enable("auto")
    augmentation = keras_tl.layers.ImageDataGeneratorAugmentation(
        rotation_range=20, horizontal_flip=True, seed=0
    )
    augmented = build(engine, augmentation=augmentation)
    history = augmented.fit(*data(), batch_size=8, epochs=1, verbose=0)
    results["augmented_loss_finite"] = bool(np.isfinite(history.history["loss"][-1]))

    # 34 images in batches of 8 end with a batch of 2, which 4 devices
    # cannot split: training drops it, evaluation pads it with weight 0.
    x, y = data(n=34, seed=3)
    keras_tl.mixed_precision.enable("float32")
    uneven = build(engine, weighted_metrics=["accuracy"])
    import warnings

    with engine.scope():  # TF: datasets made in the scope see the replicas
        train = keras_tl.data.from_arrays(x, y, batch_size=8, seed=0)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            evaluation_set = keras_tl.data.from_arrays(x, y, batch_size=8, shuffle=False)
        try:
            keras_tl.data.from_arrays(x, y, batch_size=6)
            results["odd_batch_error"] = None
        except ValueError as error:
            results["odd_batch_error"] = str(error)
    results["padding_warning"] = [str(w.message) for w in caught if "padded" in str(w.message)]
    uneven.fit(train, epochs=1, verbose=0)
    probs = uneven.predict(x, batch_size=8, verbose=0)
    _, keras_accuracy = uneven.evaluate(evaluation_set, verbose=0)
    report = keras_tl.evaluation.evaluate(uneven, evaluation_set)
    results["uneven"] = {
        "train_batches": int(len(list(train))),
        "evaluation_batches": [int(b[0].shape[0]) for b in evaluation_set],
        "predict_rows": int(len(probs)),
        "accuracy_from_predict": float(np.mean(probs.argmax(-1) == y)),
        "evaluate_accuracy": float(keras_accuracy),
        "report_accuracy": float(report["accuracy"]),
        "report_images": int(np.sum(report["confusion_matrix"])),
    }

    # A model built before the distribution: a clear error, not a deep one.
    if BACKEND == "jax":
        late = build(Engine(1))
        Engine(DEVICES)
    else:
        late = keras_tl.TransferClassifier(tiny_backbone(), 3, preprocessing="tf")
        late.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    try:
        if BACKEND == "jax":
            late.fit(*data(), batch_size=8, epochs=1, verbose=0)
        else:
            with engine.scope():
                late.fit(*data(), batch_size=8, epochs=1, verbose=0)
        results["late_error"] = None
    except ValueError as error:
        results["late_error"] = str(error)

    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
