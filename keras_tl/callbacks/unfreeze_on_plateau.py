import numpy as np

import keras

from keras_tl.callbacks.fine_tuning_callback import FineTuningCallback
from keras_tl.callbacks.fine_tuning_callback import check_int

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
            mode = "max" if any(
                k in monitor for k in ("acc", "auc", "precision", "recall", "f1")
            ) else "min"
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
        self._pending = None

    def _improved(self, value):
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_begin(self, epoch, logs=None):
        super().on_epoch_begin(epoch, logs)
        if self._pending is not None:
            self.set_trainable({"blocks": self._pending}, epoch)
            self._pending = None

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        value = (logs or {}).get(self.monitor)
        if value is None:
            raise ValueError(
                f"UnfreezeOnPlateau monitors '{self.monitor}', which is not "
                f"in the logs: {sorted(logs or {})}. Pass validation_data "
                "or monitor a training metric."
            )
        if self._improved(float(value)):
            self.best = float(value)
            self.wait = 0
            return
        self.wait += 1
        limit = self.max_blocks or self.target.num_blocks
        if self.wait > self.patience - 1 and self.blocks < limit:
            self.blocks = min(limit, self.blocks + self.blocks_per_step)
            self._pending = self.blocks
            self.wait = 0
