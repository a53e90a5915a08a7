from keras_tl.callbacks.checks import check_unit
from keras_tl.callbacks.fine_tuning_callback import FineTuningCallback
from keras_tl.models import freezing


class FreezeSchedule(FineTuningCallback):
    """Change what trains at given epochs (or steps) inside one `fit()`.

    Args:
        schedule: Dict from epoch (or step) number to an unfreeze spec:
            `"head"` (backbone frozen), `"all"`, `{"blocks": N}`,
            `{"layers": N}` or `{"from_layer": name_or_index}` — the forms
            `TransferClassifier.unfreeze` takes. Each spec holds until the
            next key. Before the first key the model is left as it is.
        unit: `"epoch"` (default) or `"step"` (counted from the start of
            this `fit()` call).
        **kwargs: `backbone`, `block_starts`, `train_batchnorm`, `lr_ratio`,
            `lr_factor`, `warmup_steps`, `verbose`; see
            `keras_tl.callbacks.FineTuningCallback`.

    Example:

    ```python
    model.fit(train_ds, epochs=8, callbacks=[
        keras_tl.callbacks.FreezeSchedule(
            {0: "head", 3: {"blocks": 1}, 6: {"blocks": 3}}, lr_ratio=0.1),
    ])
    ```

    Resuming with `fit(initial_epoch=k)` applies the spec in force at
    epoch `k`.
    """

    def __init__(self, schedule, unit="epoch", **kwargs):
        super().__init__(**kwargs)
        check_unit(unit)
        if not isinstance(schedule, dict) or not schedule:
            raise ValueError(
                "`schedule` must be a non-empty dict such as "
                f"{{0: 'head', 3: {{'blocks': 1}}}}. Received: {schedule!r}"
            )
        parsed = {}
        for when, spec in schedule.items():
            if isinstance(when, bool) or not isinstance(when, int) or when < 0:
                raise ValueError(f"Schedule keys are {unit} numbers >= 0. Received: {when!r}")
            parsed[when] = freezing.parse_spec(spec)
        self.schedule = dict(sorted(parsed.items()))
        self.unit = unit

    def check_target(self, target):
        for spec in self.schedule.values():
            target.start_index(spec)  # raises for unknown layers, too many blocks

    def spec_at(self, epoch, step, logs):
        when = epoch if self.unit == "epoch" else step
        current = None
        for key, spec in self.schedule.items():
            if key <= when:
                current = spec
        return current

    def missed(self, reached):
        return {k: s for k, s in self.schedule.items() if k > reached}
