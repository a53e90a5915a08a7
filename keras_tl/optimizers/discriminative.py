import re

import keras
from keras import ops

from keras_tl import _compat
from keras_tl.models.target import resolve_target


def _rate_config(rate):
    """A float stays a float; a schedule becomes its serialized config."""
    if isinstance(rate, (int, float)):
        return rate
    return keras.saving.serialize_keras_object(rate)


def _rate_from_config(rate):
    if isinstance(rate, dict):
        return keras.saving.deserialize_keras_object(rate)
    return rate


def _rate_at(rate, step):
    if isinstance(rate, keras.optimizers.schedules.LearningRateSchedule):
        return rate(step)
    return rate


@keras.saving.register_keras_serializable(package="keras_tl")
class ScaledSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """`factor * schedule(step)`: one schedule, shared by every group.

    Args:
        schedule: A `LearningRateSchedule` (or a float).
        factor: The multiplier for this group.
    """

    def __init__(self, schedule, factor):
        self.schedule = schedule
        self.factor = float(factor)

    def __call__(self, step):
        return ops.multiply(_rate_at(self.schedule, step), self.factor)

    def get_config(self):
        return {"schedule": _rate_config(self.schedule), "factor": self.factor}

    @classmethod
    def from_config(cls, config):
        return cls(_rate_from_config(config["schedule"]), config["factor"])


@keras.saving.register_keras_serializable(package="keras_tl")
class WarmupSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from `target / warmup_steps` to `target`, then flat.

    Counts the steps of the optimizer that owns it, so a block's optimizer
    (whose steps start when the block is unfrozen) warms up from then.

    Args:
        target: The learning rate reached after `warmup_steps` (a float or a
            `LearningRateSchedule`).
        warmup_steps: Number of steps of the ramp.
    """

    def __init__(self, target, warmup_steps):
        if int(warmup_steps) < 1:
            raise ValueError(f"`warmup_steps` must be >= 1. Received: {warmup_steps!r}")
        self.target = target
        self.warmup_steps = int(warmup_steps)

    def __call__(self, step):
        target = _rate_at(self.target, step)
        step = ops.cast(step, "float32")
        ramp = ops.minimum(1.0, (step + 1.0) / float(self.warmup_steps))
        return ops.multiply(target, ramp)

    def get_config(self):
        return {"target": _rate_config(self.target), "warmup_steps": self.warmup_steps}

    @classmethod
    def from_config(cls, config):
        return cls(_rate_from_config(config["target"]), config["warmup_steps"])


def block_learning_rates(num_blocks, lr_ratio=1.0, lr_factor=2.6, lr_range=None):
    """Learning-rate multipliers per block, top block first.

    The top block gets `lr_ratio` times the head's learning rate and each
    block below it `1 / lr_factor` of the one above (ULMFiT: `lr_factor=2.6`).
    With `lr_range=(lo, hi)` (fastai's `slice(lo, hi)`), the head gets `hi`,
    the bottom block `lo`, spaced geometrically, and the multipliers are
    relative to `hi`.
    """
    if num_blocks < 1:
        return []
    if lr_range is not None:
        lo, hi = (float(v) for v in lr_range)
        if not 0 < lo <= hi:
            raise ValueError(
                f"`lr_range` must be (lo, hi) with 0 < lo <= hi. Received: {lr_range!r}"
            )
        # head = hi, bottom block = lo: num_blocks steps below the head.
        step = (lo / hi) ** (1.0 / num_blocks)
        return [step ** (d + 1) for d in range(num_blocks)]
    if lr_ratio <= 0 or lr_factor <= 0:
        raise ValueError(
            "`lr_ratio` and `lr_factor` must be positive. Received: "
            f"lr_ratio={lr_ratio!r}, lr_factor={lr_factor!r}"
        )
    return [lr_ratio / lr_factor**d for d in range(num_blocks)]


def discriminative_optimizer(
    optimizer,
    model,
    backbone=None,
    lr_ratio=1.0,
    lr_factor=2.6,
    lr_range=None,
    warmup_steps=0,
    block_starts=None,
):
    """A `keras.optimizers.MultiOptimizer` with one learning rate per block.

    The head (everything outside the backbone) keeps `optimizer`'s learning
    rate; backbone block `d` (0 = top) gets it times
    `block_learning_rates(...)[d]`; the stem shares the bottom block's.
    Scaling learning rates (not gradients) is what makes it right under
    Adam, whose step size ignores the gradient's scale.

    Args:
        optimizer: The base optimizer (instance or name); its learning rate
            may be a float or a `LearningRateSchedule`.
        model: The model to be compiled with the result.
        backbone: For a plain Keras model, the backbone layer or its name
            (a `TransferClassifier` knows its own).
        lr_ratio: Top block's rate relative to the head's.
        lr_factor: Each block deeper divides the rate by this.
        lr_range: `(lo, hi)` instead of ratio/factor, as fastai's
            `slice(lo, hi)`; the head gets `hi`.
        warmup_steps: Ramp each block's rate up linearly over this many of
            its own steps (0: no ramp).
        block_starts: Layer names where blocks begin, for a backbone
            keras_tl does not know.

    Example:

    ```python
    model = keras_tl.TransferClassifier("resnet50", 5)
    model.unfreeze(blocks=2)
    opt = keras_tl.optimizers.discriminative_optimizer(
        keras.optimizers.Adam(1e-3), model, lr_factor=2.6)
    model.compile(opt, "sparse_categorical_crossentropy")
    ```
    """
    base = keras.optimizers.get(optimizer)
    if isinstance(base, keras.optimizers.MultiOptimizer):
        raise ValueError(
            "`optimizer` is already a MultiOptimizer; pass the base "
            "optimizer (e.g. keras.optimizers.Adam(1e-3))."
        )
    if isinstance(base, keras.optimizers.LossScaleOptimizer):
        base = base.inner_optimizer
    target = resolve_target(model, backbone, block_starts)
    groups = target.layer_groups()  # top block first, stem merged at bottom
    rates = block_learning_rates(len(groups), lr_ratio, lr_factor, lr_range)
    if lr_range is not None:
        head_lr = float(lr_range[1])
    else:
        head_lr = _base_rate(base)
    config = base.get_config()
    head = base.__class__.from_config(dict(config, learning_rate=head_lr))
    optimizer_map = keras.optimizers.OptimizerMap(default_optimizer=head)
    for depth, (names, rate) in enumerate(zip(groups, rates)):
        lr = _scaled(head_lr, rate)
        if warmup_steps:
            lr = WarmupSchedule(lr, warmup_steps)
        group = base.__class__.from_config(
            dict(config, learning_rate=lr, name=f"{base.name}_block{depth}")
        )
        pattern = "(?:" + "|".join(re.escape(n) for n in names) + ")/.+"
        optimizer_map[pattern] = group
    return keras.optimizers.MultiOptimizer(optimizer_map, name=base.name + "_multi")


def _base_rate(optimizer):
    lr = _compat.optimizer_learning_rate(optimizer)  # a schedule stays one
    if isinstance(lr, keras.optimizers.schedules.LearningRateSchedule):
        return lr
    return float(keras.ops.convert_to_numpy(lr))


def _scaled(lr, factor):
    if isinstance(lr, keras.optimizers.schedules.LearningRateSchedule):
        return ScaledSchedule(lr, factor)
    return lr * factor
