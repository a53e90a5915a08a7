import contextlib
import warnings

import keras

from keras_tl.callbacks.checks import check_int
from keras_tl.callbacks.checks import check_positive
from keras_tl.callbacks.checks import check_unit
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

    A subclass only says what should train when, in one method (the
    mechanism, counting epochs and steps, resuming with `initial_epoch`
    and the warnings stay here):

    - `spec_at(epoch, step, logs)`: the unfreeze spec (`"head"`, `"all"`,
      `{"blocks": N}`, `{"layers": N}`, `{"from_layer": name}`) that should
      train from `epoch` on (from step `step` with `unit = "step"`), or
      `None` to leave the model as it is. `step` counts batches from the
      start of this `fit()`. With `unit = "epoch"` it is called once per
      epoch: for the first epoch of `fit()` (`initial_epoch` when resuming)
      with `logs=None`, for each later one at the end of the epoch
      before, with that epoch's logs. With `unit = "step"` it is called
      before each batch, with the last batch's logs. A spec equal to the
      one in force changes nothing.
    - `check_target(target)` (optional): validate the specs against the
      resolved backbone before training starts.
    - `missed(reached)` (optional): the changes planned after the last
      epoch (or step) `reached`, as `{epoch_or_step: spec}`, for the
      warning when `fit()` ends first.

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

    Example:

    ```python
    class UnfreezeAllAt(keras_tl.callbacks.FineTuningCallback):
        def __init__(self, epoch, **kwargs):
            super().__init__(**kwargs)
            self.epoch = epoch

        def spec_at(self, epoch, step, logs):
            return "all" if epoch >= self.epoch else "head"

    model.fit(train_ds, epochs=6, callbacks=[UnfreezeAllAt(3, lr_ratio=0.1)])
    ```
    """

    unit = "epoch"  # or "step": when `spec_at` is asked

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
            check_positive("lr_ratio", lr_ratio)
        check_positive("lr_factor", lr_factor)
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

    def spec_at(self, epoch, step, logs):
        """What should train from (`epoch`, `step`) on; None: as it is."""
        return None

    def check_target(self, target):
        """Validate the specs against the backbone before training."""

    def missed(self, reached):
        """{epoch_or_step: spec} planned after `reached`, never applied."""
        return {}

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
        check_unit(self.unit)
        self.target = resolve_target(
            self.model,
            self.backbone_arg,
            self.block_starts,
            self.train_batchnorm,
        )
        self.check_target(self.target)
        self._step = 0  # counted from the start of this fit()
        self._epoch = 0
        self._logs = None  # of the last finished step (unit="step")
        self._next = None  # (epoch, spec) decided at the previous epoch's end
        self._in_force = None  # the last spec applied in this fit()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        if self.unit != "epoch":
            return
        if self._next is not None and self._next[0] == epoch:
            spec = self._next[1]
        else:  # the first epoch of this fit()
            spec = self.spec_at(epoch, self._step, None)
        self._next = None
        self._apply(spec, epoch)

    def on_train_batch_begin(self, batch, logs=None):
        if self.unit == "step":
            spec = self.spec_at(self._epoch, self._step, self._logs)
            self._apply(spec, self._epoch, self._step)

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        if self.unit == "step":
            self._logs = logs

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["trainable_params"] = freezing.count_params(self.model.trainable_weights)
        if self.unit == "epoch":
            # Decided now, so the last epoch's logs are seen too (as
            # EarlyStopping does); applied when the next epoch begins.
            self._next = (epoch + 1, self.spec_at(epoch + 1, self._step, logs))

    def on_train_end(self, logs=None):
        # A change planned past the end of fit() (too few epochs, or
        # EarlyStopping stopped first): say so rather than end silently.
        reached = self._epoch if self.unit == "epoch" else self._step - 1
        missed = self.missed(reached)
        if missed:
            unit = self.unit
            what = ", ".join(_describe(_parse(s)) for s in missed.values())
            warnings.warn(
                f"{type(self).__name__}: fit() ended at {unit} {reached} "
                f"before the schedule's {unit}(s) {list(missed)} ({what}); "
                "those changes never happened. Train for more epochs, or "
                "let EarlyStopping's patience cover the schedule.",
                stacklevel=2,
            )

    def _apply(self, spec, epoch, step=None):
        if spec is None:
            return
        parsed = _parse(spec)
        if parsed != self._in_force:
            self._in_force = parsed
            self.set_trainable(parsed, epoch, step)

    def set_trainable(self, spec, epoch, step=None):
        """Apply `spec` now; rebuild the optimizer if anything changed."""
        model = self.model
        parsed = _parse(spec)
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
        if self.lr_ratio is not None and not isinstance(inner, keras.optimizers.MultiOptimizer):
            new = discriminative_optimizer(
                inner,
                self.model,
                self.target.backbone,
                lr_ratio=self.lr_ratio,
                lr_factor=self.lr_factor,
                warmup_steps=self.warmup_steps,
                block_starts=self.block_starts,
            )
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
        if previous is not None and tuple(previous.shape) == tuple(variable.shape):
            variable.assign(previous.value)
    model.optimizer = new
    from keras_tl._compat import compile_config as private_compile_config

    compile_config = private_compile_config(model)
    if compile_config is not None and "optimizer" in compile_config.config:
        # So model.save() records the optimizer that is really in use.
        compile_config.config["optimizer"] = new


def _parse(spec):
    return spec if isinstance(spec, tuple) else freezing.parse_spec(spec)


def _describe(spec):
    kind, value = spec
    if kind == "head":
        return "frozen (head only)"
    if kind == "all":
        return "all layers trainable"
    return f"{kind}={value!r} trainable"
