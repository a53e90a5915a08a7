from keras_tl.callbacks.checks import check_int
from keras_tl.callbacks.checks import check_unit
from keras_tl.callbacks.fine_tuning_callback import FineTuningCallback


class GradualUnfreezing(FineTuningCallback):
    """ULMFiT-style gradual unfreezing: one more block every `every` epochs
    (or steps), each deeper block with a lower learning rate.

    The head trains alone until `start`; then the top block joins, and one
    more block every `every` units, up to `max_blocks`. With the defaults
    each block's learning rate is the head's divided by 2.6 per level
    (ULMFiT's discriminative fine-tuning), through a Keras
    `MultiOptimizer` that the callback builds.

    Args:
        every: Units between unfreezing steps.
        unit: `"epoch"` or `"step"` (counted from the start of `fit()`).
        start: Unit at which the first block is unfrozen.
        max_blocks: Stop after this many blocks (default: all).
        lr_ratio: Top block's learning rate relative to the head's
            (default `1 / 2.6`); `None` keeps one learning rate for all.
        lr_factor: Divide the rate by this for each block deeper (2.6).
        **kwargs: `backbone`, `block_starts`, `train_batchnorm`,
            `warmup_steps`, `verbose`.

    Example:

    ```python
    model.fit(train_ds, epochs=6,
              callbacks=[keras_tl.callbacks.GradualUnfreezing(every=1)])
    ```
    """

    def __init__(
        self,
        every=1,
        unit="epoch",
        start=1,
        max_blocks=None,
        lr_ratio=1 / 2.6,
        lr_factor=2.6,
        **kwargs,
    ):
        super().__init__(lr_ratio=lr_ratio, lr_factor=lr_factor, **kwargs)
        check_unit(unit)
        check_int("every", every, 1)
        check_int("start", start, 0)
        self.check_max_blocks(max_blocks)
        self.every = every
        self.unit = unit
        self.start = start
        self.max_blocks = max_blocks

    def check_target(self, target):
        self.check_blocks(target, self.max_blocks)

    def spec_at(self, epoch, step, logs):
        return {"blocks": self.blocks_at(epoch if self.unit == "epoch" else step)}

    def blocks_at(self, when):
        if when < self.start:
            return 0
        limit = self.max_blocks or self.target.num_blocks
        return min(limit, (when - self.start) // self.every + 1)
