"""Callbacks that change what trains inside one `fit()` call."""

from keras_tl.callbacks.fine_tuning_callback import FineTuningCallback
from keras_tl.callbacks.freeze_schedule import FreezeSchedule
from keras_tl.callbacks.gradual_unfreezing import GradualUnfreezing
from keras_tl.callbacks.unfreeze_on_plateau import UnfreezeOnPlateau

__all__ = [
    "FineTuningCallback",
    "FreezeSchedule",
    "GradualUnfreezing",
    "UnfreezeOnPlateau",
]
