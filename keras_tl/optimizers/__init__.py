"""Per-group learning rates for fine-tuning (discriminative fine-tuning).

Builds Keras's own `keras.optimizers.MultiOptimizer`: the head keeps the
base optimizer's learning rate, each backbone block gets a lower one.
"""

from keras_tl.optimizers.discriminative import ScaledSchedule
from keras_tl.optimizers.discriminative import WarmupSchedule
from keras_tl.optimizers.discriminative import block_learning_rates
from keras_tl.optimizers.discriminative import discriminative_optimizer

__all__ = [
    "ScaledSchedule",
    "WarmupSchedule",
    "block_learning_rates",
    "discriminative_optimizer",
]
