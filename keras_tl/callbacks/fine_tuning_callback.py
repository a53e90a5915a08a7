import contextlib
import math

import keras

from keras_tl.models import freezing
from keras_tl.models.target import resolve_target
from keras_tl.optimizers.discriminative import discriminative_optimizer


class FineTuningCallback(keras.callbacks.Callback):
    """Base class: changes what trains in the middle of `fit()`.

    Setting `layer.trainable` inside `fit()` is not enough in Keras 3: the
    compiled train function and the optimizer were built for the old set
    of trainable variables (and the JAX backend holds the live values
    outside the variables). On every change this class syncs the backend
    state, rebuilds the optimizer for the new variables — copying every
    slot that already existed, so the head's Adam moments survive — and
    recompiles the train function.

    Args:
        backbone: For a plain Keras model, the backbone layer or its name.
        block_starts: Layer names where blocks begin, for a backbone
            keras_tl does not know.
        train_batchnorm: Let BatchNorm layers train when unfrozen (`None`:
            the `TransferClassifier`'s setting, else False).
        lr_ratio: If set, the optimizer becomes a per-block
            `MultiOptimizer` (see `keras_tl.optimizers`): an unfrozen
            block's learning rate is `lr_ratio` times the head's ...
        lr_factor: ... divided by `lr_factor` for each block deeper.
        warmup_steps: Ramp each newly unfrozen block's rate up linearly
            over this many steps.
        verbose: Print each change.
    """

    def __init__(
        self,
        backbone=None,
        block_starts=None,
        train_batchnorm=None,
        lr_ratio=None,
        lr_factor=1.0,
        warmup_steps=0,
        verbose=1,
    ):
        super().__init__()
        if lr_ratio is not None:
            _check_positive("lr_ratio", lr_ratio)
        _check_positive("lr_factor", lr_factor)
        check_int("warmup_steps", warmup_steps, 0)
        if warmup_steps and lr_ratio is None:
            raise ValueError(
                "`warmup_steps` needs `lr_ratio` (the warm-up applies to the "
                "per-block learning rates). Pass e.g. lr_ratio=1.0."
            )
        self.backbone_arg = backbone
        self.block_starts = block_starts
        self.train_batchnorm = train_batchnorm
        self.lr_ratio = lr_ratio
        self.lr_factor = float(lr_factor)
        self.warmup_steps = int(warmup_steps)
        self.verbose = verbose
        self.target = None
        self.changes = []  # (epoch, step, spec, trainable params)

    # Subclasses validate their specs against the target here.
    def check_target(self, target):
        pass

    @staticmethod
    def check_max_blocks(max_blocks):
        """`max_blocks` is None (all blocks) or an integer >= 1."""
        if max_blocks is not None:
            check_int("max_blocks", max_blocks, 1, " or None (all blocks)")
        return max_blocks

    def check_blocks(self, target, max_blocks):
        """For callbacks that open blocks one by one."""
        if target.num_blocks == 0:
            raise ValueError(
                f"The backbone '{target.backbone.name}' has no blocks to "
                "unfreeze; pass block_starts=[layer names]."
            )
        if max_blocks is not None and max_blocks > target.num_blocks:
            raise ValueError(
                f"max_blocks={max_blocks} but the backbone "
                f"'{target.backbone.name}' has {target.num_blocks} blocks."
            )

    def on_train_begin(self, logs=None):
        self.target = resolve_target(
            self.model, self.backbone_arg, self.block_starts,
            self.train_batchnorm,
        )  # fmt: skip
        self.check_target(self.target)
        self._step = 0  # counted from the start of this fit()
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1

    def set_trainable(self, spec, epoch, step=None):
        """Apply `spec` now; rebuild the optimizer if anything changed."""
        model = self.model
        parsed = spec if isinstance(spec, tuple) else freezing.parse_spec(spec)
        if hasattr(model, "jax_state_sync"):
            # The live weights are in model._jax_state during fit.
            model.jax_state_sync()
        if not self.target.apply(parsed):
            return False
        # Under tf.distribute the new optimizer's variables (step counter,
        # slots) must be made in the strategy's scope: outside it they are
        # single-device variables that every replica updates.
        with _strategy_scope(model):
            _swap_optimizer(model, self._new_optimizer())
        model.make_train_function(force=True)
        params = freezing.count_params(model.trainable_weights)
        self.changes.append((epoch, step, parsed, params))
        if self.verbose:
            where = f"epoch {epoch + 1}" + (f" step {step}" if step else "")
            print(
                f"{type(self).__name__}: {where}: backbone -> "
                f"{_describe(parsed)}; {params:,} trainable parameters"
            )
        return True

    def _new_optimizer(self):
        old = self.model.optimizer
        inner = old
        if isinstance(old, keras.optimizers.LossScaleOptimizer):
            inner = old.inner_optimizer
        if self.lr_ratio is not None and not isinstance(
            inner, keras.optimizers.MultiOptimizer
        ):
            new = discriminative_optimizer(
                inner, self.model, self.target.backbone,
                lr_ratio=self.lr_ratio, lr_factor=self.lr_factor,
                warmup_steps=self.warmup_steps,
                block_starts=self.block_starts,
            )  # fmt: skip
        else:
            new = _clone(inner)
        if inner is not old:
            new = keras.optimizers.LossScaleOptimizer(
                new,
                initial_scale=old.initial_scale,
                dynamic_growth_steps=old.dynamic_growth_steps,
                name=old.name,
            )
        return new

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["trainable_params"] = freezing.count_params(
                self.model.trainable_weights
            )


def check_int(name, value, low, alternative=""):
    """`value` is an integer >= `low` (bools are not), else a ValueError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(
            f"`{name}` must be an integer >= {low}{alternative}. Received: "
            f"{name}={value!r}"
        )


def _check_positive(name, value):
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(
            f"`{name}` must be a finite number > 0. Received: {name}={value!r}"
        )


def _strategy_scope(model):
    strategy = getattr(model, "distribute_strategy", None)
    return strategy.scope() if strategy is not None else contextlib.nullcontext()


def _clone(optimizer):
    return optimizer.__class__.from_config(optimizer.get_config())


def _swap_optimizer(model, new):
    """Build `new` for the model's trainable variables, carry over every
    optimizer variable (slot, step count, loss scale) the old one had,
    and install it."""
    old = model.optimizer
    new.build(model.trainable_variables)
    old_values = {v.path: v for v in old.variables}
    for variable in new.variables:
        previous = old_values.get(variable.path)
        if previous is not None and tuple(previous.shape) == tuple(
            variable.shape
        ):
            variable.assign(previous.value)
    model.optimizer = new
    compile_config = getattr(model, "_compile_config", None)
    if compile_config is not None and "optimizer" in compile_config.config:
        # So model.save() records the optimizer that is really in use.
        compile_config.config["optimizer"] = new


def _describe(spec):
    kind, value = spec
    if kind == "head":
        return "frozen (head only)"
    if kind == "all":
        return "all layers trainable"
    return f"{kind}={value!r} trainable"
