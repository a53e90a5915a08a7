"""Argument checks shared by the fine-tuning callbacks."""

import math

UNITS = ("epoch", "step")


def check_unit(unit):
    """`unit` is "epoch" or "step", else a ValueError."""
    if unit not in UNITS:
        raise ValueError(f"`unit` must be one of {UNITS}. Received: {unit!r}")
    return unit


def check_int(name, value, low, alternative=""):
    """`value` is an integer >= `low` (bools are not), else a ValueError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(
            f"`{name}` must be an integer >= {low}{alternative}. Received: {name}={value!r}"
        )


def check_positive(name, value):
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"`{name}` must be a finite number > 0. Received: {name}={value!r}")
