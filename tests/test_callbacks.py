import warnings

import numpy as np
import pytest

import keras
import keras_tl
from keras_tl.callbacks import FineTuningCallback
from keras_tl.callbacks import FreezeSchedule
from keras_tl.callbacks import GradualUnfreezing
from keras_tl.callbacks import UnfreezeOnPlateau
from keras_tl.optimizers import discriminative_optimizer
from tests.conftest import tiny_backbone


def _data(n=16, size=32, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 255, (n, size, size, 3)).astype("float32")
    return x, rng.integers(0, classes, n)


def _tiny_model(optimizer=None, **kwargs):
    model = keras_tl.TransferClassifier(tiny_backbone(), 3, preprocessing="tf", **kwargs)
    model.compile(
        optimizer=optimizer or keras.optimizers.Adam(1e-2),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


class Snapshots(keras.callbacks.Callback):
    """Weights (by path) at the end of every epoch, and before the first."""

    def __init__(self):
        super().__init__()
        self.weights = {}
        self.optimizer_begin = {}
        self.optimizer_end = {}

    def _grab(self, variables):
        return {v.path: np.array(v) for v in variables}

    def on_train_begin(self, logs=None):
        self.weights["start"] = self._grab(self.model.weights)

    def on_epoch_begin(self, epoch, logs=None):
        self.optimizer_begin[epoch] = self._grab(self.model.optimizer.variables)

    def on_epoch_end(self, epoch, logs=None):
        self.weights[epoch] = self._grab(self.model.weights)
        self.optimizer_end[epoch] = self._grab(self.model.optimizer.variables)

    def changed(self, epoch):
        before = self.weights.get(epoch - 1, self.weights["start"])
        after = self.weights[epoch]
        return {p for p in after if not np.array_equal(before[p], after[p])}


BN_STATS = ("moving_mean", "moving_variance")


def test_freeze_schedule_in_one_fit():
    model = _tiny_model()
    snaps = Snapshots()
    x, y = _data()
    history = model.fit(
        x,
        y,
        epochs=4,
        batch_size=4,
        verbose=0,
        callbacks=[FreezeSchedule({0: "head", 2: {"blocks": 1}}), snaps],
    )
    head = {"predictions/kernel", "predictions/bias"}
    assert snaps.changed(0) == head
    assert snaps.changed(1) == head
    # Epoch 2 opens block conv2 (its BatchNorm stays frozen).
    assert snaps.changed(2) == head | {"conv2/kernel", "conv2/bias"}
    assert snaps.changed(3) == head | {"conv2/kernel", "conv2/bias"}
    params = history.history["trainable_params"]
    assert params[0] == params[1] < params[2] == params[3]


def test_freeze_schedule_on_plain_functional_keras_applications_model():
    backbone = keras.applications.ResNet50(include_top=False, weights=None, input_shape=(32, 32, 3))
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Rescaling(1 / 127.5, offset=-1)(inputs)
    x = backbone(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(3, activation="softmax", name="out")(x)
    model = keras.Model(inputs, outputs)  # the user's own code
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2),
        loss="sparse_categorical_crossentropy",
    )
    snaps = Snapshots()
    x, y = _data(n=8)
    model.fit(
        x,
        y,
        epochs=3,
        batch_size=4,
        verbose=0,
        callbacks=[FreezeSchedule({0: "head", 2: {"blocks": 1}}, backbone=backbone.name), snaps],
    )
    assert {p.split("/")[0] for p in snaps.changed(0)} == {"out"}
    assert {p.split("/")[0] for p in snaps.changed(1)} == {"out"}
    opened = {p.split("/")[0] for p in snaps.changed(2)} - {"out"}
    assert opened and all(name.startswith("conv5_") for name in opened)
    for epoch in range(3):
        for path in snaps.changed(epoch):
            assert not path.endswith(BN_STATS), path
            assert "_bn/" not in path, path  # BatchNorm stays frozen


def test_optimizer_slots_kept_for_head_and_made_for_new_variables():
    model = _tiny_model()
    snaps = Snapshots()
    x, y = _data()
    model.fit(
        x,
        y,
        epochs=3,
        batch_size=4,
        verbose=0,
        callbacks=[FreezeSchedule({0: "head", 2: {"blocks": 1}}), snaps],
    )
    before, after = snaps.optimizer_end[1], snaps.optimizer_begin[2]
    head_slots = [p for p in before if "predictions" in p]
    assert len(head_slots) == 4  # Adam: momentum + velocity, kernel + bias
    for path in head_slots + ["adam/iteration"]:
        np.testing.assert_array_equal(before[path], after[path])
    assert not any("conv2" in p for p in before)
    new = [p for p in after if "conv2" in p]
    assert len(new) == 4
    assert all(not after[p].any() for p in new)  # fresh zero slots
    assert any(snaps.optimizer_end[2][p].any() for p in new)


def test_early_stopping_and_checkpoint_in_a_schedule(tmp_path):
    model = _tiny_model()
    x, y = _data()
    path = str(tmp_path / "ckpt-{epoch}.keras")
    stop = keras.callbacks.EarlyStopping("loss", patience=10, restore_best_weights=True)
    model.fit(
        x,
        y,
        epochs=4,
        batch_size=4,
        verbose=0,
        callbacks=[
            FreezeSchedule({0: "head", 2: {"blocks": 2}}),
            stop,
            keras.callbacks.ModelCheckpoint(path),
        ],
    )
    early = keras.models.load_model(str(tmp_path / "ckpt-1.keras"))
    late = keras.models.load_model(str(tmp_path / "ckpt-4.keras"))
    assert early.backbone.trainable_weights == []
    assert {w.path for w in late.backbone.trainable_weights} == {
        "conv1/kernel",
        "conv1/bias",
        "conv2/kernel",
        "conv2/bias",
    }


def test_resume_with_initial_epoch_keeps_the_schedule(tmp_path):
    schedule = {0: "head", 2: {"blocks": 1}, 3: {"blocks": 2}}
    model = _tiny_model()
    x, y = _data()
    model.fit(x, y, epochs=2, batch_size=4, verbose=0, callbacks=[FreezeSchedule(schedule)])
    model.save(tmp_path / "mid.keras")
    resumed = keras.models.load_model(tmp_path / "mid.keras")
    snaps = Snapshots()
    history = resumed.fit(
        x,
        y,
        initial_epoch=2,
        epochs=4,
        batch_size=4,
        verbose=0,
        callbacks=[FreezeSchedule(schedule), snaps],
    )
    assert {p.split("/")[0] for p in snaps.changed(2)} == {"conv2", "predictions"}
    assert {p.split("/")[0] for p in snaps.changed(3)} == {"conv1", "conv2", "predictions"}
    p2, p3 = history.history["trainable_params"]
    assert p2 < p3
    # A save after the change restores the unfrozen state and the optimizer.
    resumed.save(tmp_path / "late.keras")
    again = keras.models.load_model(tmp_path / "late.keras")
    assert len(again.trainable_weights) == len(resumed.trainable_weights)
    assert len(again.optimizer.variables) == len(resumed.optimizer.variables)


def _pair(optimizer_a, optimizer_b):
    a = keras_tl.TransferClassifier(tiny_backbone(), 3, preprocessing="tf")
    b = keras_tl.TransferClassifier(tiny_backbone(), 3, preprocessing="tf")
    b.set_weights(a.get_weights())
    for m in (a, b):
        m.unfreeze("all")
    a.compile(
        optimizer=optimizer_a(a) if callable(optimizer_a) else optimizer_a,
        loss="sparse_categorical_crossentropy",
    )
    b.compile(optimizer=optimizer_b, loss="sparse_categorical_crossentropy")
    return a, b


def _one_step_updates(model):
    x, y = _data(n=8)
    before = {v.path: np.array(v) for v in model.trainable_weights}
    model.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    return {p: np.array(v) - before[p] for p, v in ((v.path, v) for v in model.trainable_weights)}


EXPECTED_SCALE = {"predictions": 1.0, "conv2": 0.5, "conv1": 0.25, "conv0": 0.125}


def _group(path):
    return path.split("/")[0]


def test_per_group_learning_rates_with_sgd():
    a, b = _pair(
        lambda m: discriminative_optimizer(
            keras.optimizers.SGD(0.1), m, lr_ratio=0.5, lr_factor=2.0
        ),
        keras.optimizers.SGD(0.1),
    )
    assert isinstance(a.optimizer, keras.optimizers.MultiOptimizer)
    ours, plain = _one_step_updates(a), _one_step_updates(b)
    assert set(ours) == set(plain)
    for path, delta in ours.items():
        assert np.abs(plain[path]).max() > 1e-5, path
        # Least-squares slope of our update against plain SGD's: float32
        # rounding of (w_after - w_before) blurs single tiny elements.
        slope = np.sum(delta * plain[path]) / np.sum(plain[path] ** 2)
        np.testing.assert_allclose(slope, EXPECTED_SCALE[_group(path)], rtol=1e-3, err_msg=path)


def test_per_group_learning_rates_with_adam():
    lr = 1e-3
    a, _ = _pair(
        lambda m: discriminative_optimizer(
            keras.optimizers.Adam(lr), m, lr_ratio=0.5, lr_factor=2.0
        ),
        keras.optimizers.Adam(lr),
    )
    for path, delta in _one_step_updates(a).items():
        # Adam's first step is ~lr * sign(grad), whatever the gradient scale.
        step = np.median(np.abs(delta[np.abs(delta) > 0]))
        expected = lr * EXPECTED_SCALE[_group(path)]
        assert abs(step / expected - 1) < 0.1, (path, step, expected)


def test_lr_range_like_fastai_slice():
    model = _tiny_model()
    model.unfreeze("all")
    opt = discriminative_optimizer(keras.optimizers.SGD(1.0), model, lr_range=(1e-4, 1e-2))
    rates = sorted(float(np.array(o.learning_rate)) for o in opt.optimizers)
    np.testing.assert_allclose(rates[0], 1e-4, rtol=1e-6)
    np.testing.assert_allclose(rates[-1], 1e-2, rtol=1e-6)


def test_gradual_unfreezing_with_multi_optimizer():
    model = _tiny_model()
    x, y = _data()
    history = model.fit(
        x,
        y,
        epochs=4,
        batch_size=8,
        verbose=0,
        callbacks=[GradualUnfreezing(every=1, verbose=0)],
    )
    params = history.history["trainable_params"]
    assert params[0] < params[1] < params[2] < params[3]
    assert isinstance(model.optimizer, keras.optimizers.MultiOptimizer)
    rates = {o.name: float(np.array(o.learning_rate)) for o in model.optimizer.optimizers}
    np.testing.assert_allclose(rates["adam_block1"] / rates["adam_block0"], 1 / 2.6, rtol=1e-5)
    np.testing.assert_allclose(rates["adam_block0"] / rates["adam"], 1 / 2.6, rtol=1e-5)


def test_schedule_keeps_working_with_a_compiled_multi_optimizer_and_schedule(tmp_path):
    decay = keras.optimizers.schedules.ExponentialDecay(1e-2, 10, 0.5)
    model = keras_tl.TransferClassifier(tiny_backbone(), 3, preprocessing="tf")
    model.compile(
        optimizer=discriminative_optimizer(keras.optimizers.Adam(decay), model),
        loss="sparse_categorical_crossentropy",
    )
    snaps = Snapshots()
    x, y = _data()
    model.fit(
        x,
        y,
        epochs=3,
        batch_size=8,
        verbose=0,
        callbacks=[FreezeSchedule({0: "head", 1: "all"}), snaps],
    )
    assert "conv0/kernel" in snaps.changed(1)
    assert isinstance(model.optimizer, keras.optimizers.MultiOptimizer)
    model.save(tmp_path / "multi.keras")
    loaded = keras.models.load_model(tmp_path / "multi.keras")
    assert isinstance(loaded.optimizer, keras.optimizers.MultiOptimizer)


def test_step_unit_switches_mid_epoch():
    model = _tiny_model()
    snaps = Snapshots()
    x, y = _data()
    history = model.fit(
        x,
        y,
        epochs=1,
        batch_size=4,
        verbose=0,
        callbacks=[FreezeSchedule({0: "head", 2: {"blocks": 1}}, unit="step"), snaps],
    )
    assert {"conv2/kernel", "predictions/kernel"} <= snaps.changed(0)
    assert "conv1/kernel" not in snaps.changed(0)
    assert history.history["trainable_params"][0] > 51


def test_warmup_with_lr_ratio_runs_and_ramps():
    from keras_tl.optimizers import WarmupSchedule

    ramp = WarmupSchedule(0.1, warmup_steps=4)
    values = [float(np.array(ramp(s))) for s in range(6)]
    np.testing.assert_allclose(values, [0.025, 0.05, 0.075, 0.1, 0.1, 0.1], rtol=1e-6)
    model = _tiny_model()
    x, y = _data()
    model.fit(
        x,
        y,
        epochs=2,
        batch_size=8,
        verbose=0,
        callbacks=[FreezeSchedule({1: {"blocks": 1}}, lr_ratio=0.1, warmup_steps=3, verbose=0)],
    )
    assert isinstance(model.optimizer, keras.optimizers.MultiOptimizer)


def test_unfreeze_on_plateau():
    model = _tiny_model(keras.optimizers.SGD(0.0))  # loss cannot improve
    x, y = _data()
    history = model.fit(
        x,
        y,
        epochs=4,
        batch_size=8,
        verbose=0,
        callbacks=[UnfreezeOnPlateau("loss", patience=1, verbose=0)],
    )
    params = history.history["trainable_params"]
    assert params[0] == params[1] < params[2] < params[3]


def test_unfreeze_on_plateau_waits_through_epochs_without_its_metric():
    model = _tiny_model(keras.optimizers.SGD(0.0))  # val_loss cannot improve
    x, y = _data()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(
            x,
            y,
            epochs=5,
            batch_size=8,
            verbose=0,
            validation_data=(x, y),
            validation_freq=2,  # val_loss in epochs 2 and 4 only
            callbacks=[UnfreezeOnPlateau("val_loss", patience=1, verbose=0)],
        )
    messages = [str(w.message) for w in caught if "UnfreezeOnPlateau" in str(w.message)]
    assert len(messages) == 3, messages  # once per epoch without val_loss
    for epoch, message in zip((1, 3, 5), messages):
        assert f"epoch {epoch}." in message and "`val_loss`" in message
        assert "Available metrics are: " in message and "loss" in message
    params = history.history["trainable_params"]
    # Best at epoch 2, no better at epoch 4: the top block opens for epoch 5.
    assert params[0] == params[1] == params[2] == params[3] < params[4]


class OpenAllAt(FineTuningCallback):
    """A policy written with the hook alone: head only, then everything."""

    def __init__(self, at, unit="epoch", **kwargs):
        super().__init__(**kwargs)
        self.at, self.unit, self.calls = at, unit, []

    def spec_at(self, epoch, step, logs):
        self.calls.append((epoch, step, logs is None or "loss" in logs))
        when = epoch if self.unit == "epoch" else step
        return "head" if when < self.at else "all"


def test_a_custom_policy_needs_only_spec_at():
    model = _tiny_model()
    snaps = Snapshots()
    policy = OpenAllAt(2, verbose=0)
    x, y = _data()
    history = model.fit(x, y, epochs=3, batch_size=4, verbose=0, callbacks=[policy, snaps])
    head = {"predictions/kernel", "predictions/bias"}
    assert snaps.changed(0) == snaps.changed(1) == head
    assert "conv0/kernel" in snaps.changed(2)
    params = history.history["trainable_params"]
    assert params[0] == params[1] < params[2]
    # Asked once per epoch: the first with no logs, then at each epoch's
    # end (for the next one) with that epoch's logs; 4 steps an epoch.
    assert policy.calls == [(0, 0, True), (1, 4, True), (2, 8, True), (3, 12, True)]
    assert [(e, s, kind) for e, s, (kind, _), _ in policy.changes] == [
        (2, None, "all")
    ]  # "head" at epoch 0 changed nothing: the backbone was frozen
    # unit="step": the same policy switches mid-epoch, before step 2.
    model, snaps = _tiny_model(), Snapshots()
    policy = OpenAllAt(2, unit="step", verbose=0)
    model.fit(x, y, epochs=1, batch_size=4, verbose=0, callbacks=[policy, snaps])
    assert "conv0/kernel" in snaps.changed(0)
    assert [c[:2] for c in policy.changes] == [(0, 2)]
    assert [s for _, s, _ in policy.calls] == [0, 1, 2, 3]


def test_bad_schedules_fail_before_training():
    with pytest.raises(ValueError, match="numbers >= 0"):
        FreezeSchedule({-1: "head"})
    with pytest.raises(ValueError, match="non-empty dict"):
        FreezeSchedule({})
    with pytest.raises(ValueError, match="allowed keys"):
        FreezeSchedule({0: {"block": 1}})
    with pytest.raises(ValueError, match="unit"):
        FreezeSchedule({0: "head"}, unit="batch")
    with pytest.raises(ValueError, match="mode"):
        UnfreezeOnPlateau(mode="up")
    with pytest.raises(ValueError, match="warmup_steps"):
        FreezeSchedule({0: "all"}, warmup_steps=5)
    x, y = _data(n=4)
    for schedule, message in [
        ({0: "head", 1: {"from_layer": "conv9"}}, "no layer named 'conv9'"),
        ({0: "head", 1: {"blocks": 4}}, "has 3 blocks"),
    ]:
        model = _tiny_model()
        before = [np.array(w) for w in model.weights]
        with pytest.raises(ValueError, match=message):
            model.fit(x, y, epochs=2, verbose=0, callbacks=[FreezeSchedule(schedule)])
        for a, w in zip(before, model.weights):
            np.testing.assert_array_equal(a, np.array(w))
    inputs = keras.Input((32, 32, 3))
    plain = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(inputs)))
    plain.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="which part of the model is the backbone"):
        plain.fit(x, np.zeros((4, 2)), verbose=0, callbacks=[FreezeSchedule({0: "head"})])
    with pytest.raises(ValueError, match="no layer named 'base'"):
        plain.fit(
            x, np.zeros((4, 2)), verbose=0, callbacks=[FreezeSchedule({0: "head"}, backbone="base")]
        )
