import warnings

import numpy as np

from keras_tl.callbacks.checks import check_int
from keras_tl.callbacks.fine_tuning_callback import FineTuningCallback

MODES = ("auto", "min", "max")


class UnfreezeOnPlateau(FineTuningCallback):
    """Unfreeze the next block(s) when a metric stops improving.

    The "unfreeze callback" to pair with `EarlyStopping`: train the head
    until `monitor` plateaus, then open the top block, and so on. Give
    `EarlyStopping` a larger patience than this callback so unfreezing gets
    its chance first.

    Args:
        monitor: The metric to watch, e.g. `"val_loss"`.
        patience: Epochs without improvement before unfreezing.
        min_delta: Smallest change that counts as an improvement.
        mode: `"min"`, `"max"` or `"auto"` (from the metric's name).
        blocks_per_step: Blocks to add each time.
        max_blocks: Stop after this many blocks (default: all).
        **kwargs: `backbone`, `block_starts`, `train_batchnorm`, `lr_ratio`,
            `lr_factor`, `warmup_steps`, `verbose`.

    Example:

    ```python
    model.fit(train_ds, validation_data=val_ds, epochs=30, callbacks=[
        keras_tl.callbacks.UnfreezeOnPlateau("val_loss", patience=2),
        keras.callbacks.EarlyStopping("val_loss", patience=5,
                                      restore_best_weights=True),
    ])
    ```
    """

    def __init__(
        self,
        monitor="val_loss",
        patience=2,
        min_delta=0.0,
        mode="auto",
        blocks_per_step=1,
        max_blocks=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(f"`mode` must be one of {MODES}. Received: {mode!r}")
        check_int("patience", patience, 0)
        check_int("blocks_per_step", blocks_per_step, 1)
        if mode == "auto":
            mode = (
                "max"
                if any(k in monitor for k in ("acc", "auc", "precision", "recall", "f1"))
                else "min"
            )
        self.monitor = monitor
        self.patience = patience
        self.min_delta = abs(float(min_delta))
        self.mode = mode
        self.blocks_per_step = blocks_per_step
        self.max_blocks = self.check_max_blocks(max_blocks)

    def check_target(self, target):
        self.check_blocks(target, self.max_blocks)

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self.best = np.inf if self.mode == "min" else -np.inf
        self.wait = 0
        self.blocks = 0

    def _improved(self, value):
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def spec_at(self, epoch, step, logs):
        if logs is None:  # the first epoch: nothing measured yet
            return None
        value = logs.get(self.monitor)
        if value is None:
            # Warn and wait, as EarlyStopping does: with validation_freq > 1
            # the val_ metrics are only in some epochs' logs. (`epoch`, the
            # next one from 0, is the one that ended counted from 1.)
            warnings.warn(
                f"UnfreezeOnPlateau monitors `{self.monitor}`, which is not "
                f"in the logs of epoch {epoch}. Available metrics are: "
                f"{','.join(logs)}. Pass validation_data or monitor a "
                "training metric.",
                stacklevel=2,
            )
            return None
        if self._improved(float(value)):
            self.best = float(value)
            self.wait = 0
            return None
        self.wait += 1
        limit = self.max_blocks or self.target.num_blocks
        if self.wait > self.patience - 1 and self.blocks < limit:
            self.blocks = min(limit, self.blocks + self.blocks_per_step)
            self.wait = 0
            return {"blocks": self.blocks}
        return None
