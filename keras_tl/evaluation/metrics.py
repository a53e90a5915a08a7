"""Metrics of a classifier on a data split: predictions, scikit-learn
metrics, the comparison table and the text report."""

import numpy as np

from keras_tl.evaluation.tables import COMPARISON_COLUMNS, format_table


def _sklearn():
    try:
        from sklearn import metrics
    except ImportError as error:
        raise ImportError(
            "keras_tl.evaluation needs scikit-learn: pip install keras_tl[report]"
        ) from error
    return metrics


def predict_with_labels(model, data, batch_size=32):
    """Run `model` over `data` and return `(y_true, probabilities)`.

    `data` is a dataset/iterable of `(images, labels)` batches or a tuple
    `(images, labels)` of arrays. One-hot labels become indices; binary
    sigmoid outputs become two columns `[1 - p, p]`.
    """
    if isinstance(data, tuple) and len(data) == 2 and hasattr(data[0], "shape"):
        probs = np.asarray(model.predict(data[0], batch_size=batch_size, verbose=0))
        labels = np.asarray(data[1])
    else:
        ys, ps = [], []
        for batch in data:
            x, y = batch[0], batch[1]
            # tf.data yields TF tensors; other backends want NumPy. predict()
            # rather than predict_on_batch(): under tf.distribute the latter
            # gives every replica the whole batch.
            x = np.asarray(x)
            p = np.asarray(model.predict(x, batch_size=len(x), verbose=0))
            y = np.asarray(y)
            if len(batch) > 2:  # padding for even device splits has weight 0
                real = np.asarray(batch[2]).reshape(-1) > 0
                p, y = p[real], y[real]
            ps.append(p)
            ys.append(y)
        probs, labels = np.concatenate(ps), np.concatenate(ys)
    if getattr(model, "from_logits", False):
        probs = probabilities_from_logits(probs)
    if labels.ndim == 2 and labels.shape[1] > 1:
        labels = labels.argmax(-1)
    labels = labels.reshape(-1).astype(int)
    if probs.ndim == 2 and probs.shape[1] == 1:
        probs = np.concatenate([1 - probs, probs], axis=1)
    probs = probs.astype("float64")
    # float16/32 softmax rows sum to 1 only up to rounding
    probs = probs / probs.sum(-1, keepdims=True)
    return labels, probs


def _clipped(probs, eps=1e-7):
    p = np.clip(probs, eps, 1.0)
    return p / p.sum(-1, keepdims=True)


def probabilities_from_logits(logits):
    """Softmax over the last axis, or a sigmoid for one output column.

    Args:
        logits: A NumPy array (or anything `np.asarray` takes) of shape
            `(batch, classes)`; `classes == 1` is a binary sigmoid output.

    Returns:
        A float NumPy array of the same shape.

    Example:

    ```python
    probabilities_from_logits([[0.0, 0.0]])  # [[0.5, 0.5]]
    probabilities_from_logits([[0.0]])       # [[0.5]]
    ```
    """
    z = np.asarray(logits)
    z = z.astype(np.result_type(z.dtype, np.float32))  # float16 would overflow
    if z.shape[-1] == 1:
        # exp of a non-positive number only: no overflow for large |z|
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1 / (1 + e), e / (1 + e))
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def metrics_from_predictions(y_true, probs, class_names=None):
    """Accuracy, per-class and macro precision/recall/F1, confusion matrix,
    log loss and ROC AUC (binary, or one-vs-rest macro)."""
    m = _sklearn()
    n = probs.shape[1]
    names = list(class_names) if class_names else [str(i) for i in range(n)]
    y_pred = probs.argmax(-1)
    labels = list(range(n))
    p, r, f, support = m.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    out = {
        "accuracy": float(m.accuracy_score(y_true, y_pred)),
        "precision": float(p.mean()),
        "recall": float(r.mean()),
        "f1": float(f.mean()),
        "loss": float(m.log_loss(y_true, _clipped(probs), labels=labels)),
        "per_class": {
            name: {
                "precision": float(p[i]),
                "recall": float(r[i]),
                "f1": float(f[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(names)
        },
        "confusion_matrix": m.confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "class_names": names,
    }
    present = np.unique(y_true)
    if len(present) < 2:
        out["auc"] = None  # undefined with one class present
    elif n == 2:
        out["auc"] = float(m.roc_auc_score(y_true, probs[:, 1]))
    else:
        out["auc"] = float(
            m.roc_auc_score(y_true, probs, multi_class="ovr", labels=labels, average="macro")
        )
    out["text"] = report_text(out)
    return out


def evaluate(model, data, class_names=None, batch_size=32, split=None):
    """Metrics of `model` on `data` (see `metrics_from_predictions`).

    Args:
        model: A Keras classifier (softmax, sigmoid or `from_logits`).
        data: As `predict_with_labels`.
        class_names: Names for the report (default: `data.class_names`,
            then `model.class_names`, then indices).
        batch_size: For array input.
        split: The data split's name (`"test"`, `"validation"`), kept as
            `result["split"]` for the plots' titles.

    Returns:
        The dict of `metrics_from_predictions` plus `y_true`,
        `probabilities` and `split`.

    Example:

    ```python
    result = evaluate(model, test_ds, split="test")
    print(result["text"])
    ```
    """
    y_true, probs = predict_with_labels(model, data, batch_size)
    names = class_names or getattr(data, "class_names", None) or getattr(model, "class_names", None)
    result = metrics_from_predictions(y_true, probs, names)
    result["y_true"], result["probabilities"] = y_true, probs
    result["split"] = split
    return result


def compare_models(models, data, class_names=None):
    """The X-ray tutorial's comparison table: one row per model with loss,
    accuracy, precision, recall, F1 and AUC.

    Args:
        models: A dict `{name: model}`.
        data: As `evaluate`.
    """
    rows = []
    for name, model in models.items():
        result = evaluate(model, data, class_names)
        rows.append({"model": name, **{k: result[k] for k in COMPARISON_COLUMNS[1:]}})
    return rows


def report_text(result):
    """The text report of a `metrics_from_predictions` result: overall
    metrics, the per-class table and the confusion matrix."""
    lines = [
        f"accuracy {result['accuracy']:.4f}   macro precision {result['precision']:.4f}"
        f"   macro recall {result['recall']:.4f}   macro F1 {result['f1']:.4f}"
        + (f"   ROC AUC {result['auc']:.4f}" if result.get("auc") is not None else ""),
        "",
    ]
    columns = ("class", "precision", "recall", "f1", "support")
    rows = [{"class": name, **vals} for name, vals in result["per_class"].items()]
    lines.append(format_table(rows, columns))
    lines += ["", "confusion matrix (rows: true, columns: predicted)"]
    names = result["class_names"]
    # Column headers cut to 6 characters keep 20 classes within a terminal.
    lines.append(
        format_table(
            [[name, *row] for name, row in zip(names, result["confusion_matrix"])],
            headers=["", *(n[:6] for n in names)],
        )
    )
    return "\n".join(lines)
