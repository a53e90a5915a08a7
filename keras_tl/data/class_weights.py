"""Balanced class weights, and the label checks shared with the array
loaders."""

import collections

import numpy as np


def class_weights(data, num_classes=None):
    """Balanced class weights for `fit(class_weight=...)`.

    `weight[c] = total / (num_classes * count[c])` — scikit-learn's
    "balanced" rule: rare classes weigh more and the average weight per
    sample stays 1. (The birds tutorial's `total / count[c]` is the same
    up to the constant `num_classes`.)

    Args:
        data: Integer or one-hot labels (array or list), a dict of counts
            per class index, or a dataset from `keras_tl.data` (its
            `class_counts` are used, no pass over the data).
        num_classes: Number of classes (default: inferred). Labels outside
            `[0, num_classes)` are an error.

    Returns:
        A dict `{class_index: weight}`.
    """
    if hasattr(data, "class_counts"):
        counts = dict(enumerate(data.class_counts.values()))
    elif isinstance(data, dict):
        counts = dict(data)
        check_class_indices(np.asarray(list(counts), dtype=object), num_classes)
    else:
        labels = class_indices(data, num_classes)
        counts = collections.Counter(labels.tolist())
    if not counts:
        raise ValueError("class_weights got no labels.")
    n = num_classes or max(counts) + 1
    missing = [c for c in range(n) if counts.get(c, 0) == 0]
    if missing:
        raise ValueError(
            f"Classes {missing} have no examples; a balanced weight for them "
            "is undefined. Check the labels or pass the right num_classes."
        )
    total = sum(counts.get(c, 0) for c in range(n))
    return {c: total / (n * counts[c]) for c in range(n)}


def class_indices(labels, num_classes=None):
    """Integer class indices from `(n,)` indices or `(n, k)` one-hot labels,
    checked: integers in `[0, num_classes)` (`>= 0` if not known)."""
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] > 1:
        if num_classes and labels.shape[1] != num_classes:
            raise ValueError(
                f"One-hot `labels` must have {num_classes} columns, one per "
                f"class. Received shape {labels.shape}."
            )
        return labels.argmax(-1)
    if labels.ndim > 2 or (labels.ndim == 2 and labels.shape[1] != 1):
        raise ValueError(
            "`labels` must be class indices of shape (n,) or one-hot labels "
            f"of shape (n, num_classes). Received shape {labels.shape}."
        )
    labels = labels.reshape(-1)
    check_class_indices(labels, num_classes)
    return labels.astype(int)


def check_class_indices(labels, num_classes=None):
    """A ValueError naming `labels` if any is not an integer in
    `[0, num_classes)` (`>= 0` when `num_classes` is not known)."""
    if labels.size == 0:
        return
    valid = ">= 0" if not num_classes else f"in [0, {num_classes})"
    try:
        as_float = labels.astype(float)
    except (TypeError, ValueError):
        as_float = None
    if as_float is None or not np.all(as_float == np.round(as_float)):
        bad = labels if as_float is None else labels[as_float != np.round(as_float)]
        raise ValueError(
            f"`labels` must be integer class indices {valid}. "
            f"Received labels such as {bad[:5].tolist()}."
        )
    bad = labels[(as_float < 0) | (as_float >= (num_classes or np.inf))]
    if bad.size:
        raise ValueError(
            f"`labels` must be class indices {valid}; {bad.size} are not, "
            f"e.g. {np.unique(bad)[:5].tolist()}."
        )
