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
        num_classes: Number of classes (default: inferred).

    Returns:
        A dict `{class_index: weight}`.
    """
    if hasattr(data, "class_counts"):
        counts = dict(enumerate(data.class_counts.values()))
    elif isinstance(data, dict):
        counts = dict(data)
    else:
        labels = np.asarray(data)
        if labels.ndim == 2 and labels.shape[1] > 1:
            labels = labels.argmax(-1)
        counts = collections.Counter(labels.reshape(-1).astype(int).tolist())
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
