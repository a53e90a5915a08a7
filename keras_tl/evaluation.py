"""Evaluation reports: the metrics table, confusion matrix, ROC and
history plots the tutorials write by hand. Metrics come from
scikit-learn and plots from matplotlib (`pip install keras_tl[report]`).

Example:

```python
report = keras_tl.evaluation.evaluate(model, test_ds)
print(report["text"])
rows = keras_tl.evaluation.compare_models({"vgg16": m1, "mobilenet": m2}, test_ds)
print(keras_tl.evaluation.format_table(rows))
```
"""

import numpy as np


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
        probs = _softmax(probs) if probs.shape[-1] > 1 else 1 / (1 + np.exp(-probs))
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


def _softmax(z):
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
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
            name: {"precision": float(p[i]), "recall": float(r[i]),
                   "f1": float(f[i]), "support": int(support[i])}
            for i, name in enumerate(names)
        },  # fmt: skip
        "confusion_matrix": m.confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "class_names": names,
    }
    present = np.unique(y_true)
    if len(present) < 2:
        out["auc"] = None  # undefined with one class present
    elif n == 2:
        out["auc"] = float(m.roc_auc_score(y_true, probs[:, 1]))
    else:
        out["auc"] = float(m.roc_auc_score(
            y_true, probs, multi_class="ovr", labels=labels, average="macro"))  # fmt: skip
    out["text"] = report_text(out)
    return out


def evaluate(model, data, class_names=None, batch_size=32):
    """Metrics of `model` on `data` (see `metrics_from_predictions`)."""
    y_true, probs = predict_with_labels(model, data, batch_size)
    names = class_names or getattr(data, "class_names", None) or getattr(
        model, "class_names", None
    )
    result = metrics_from_predictions(y_true, probs, names)
    result["y_true"], result["probabilities"] = y_true, probs
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
        rows.append({"model": name, **{k: result[k] for k in
                     ("loss", "accuracy", "precision", "recall", "f1", "auc")}})  # fmt: skip
    return rows


def format_table(rows, columns=("model", "loss", "accuracy", "precision", "recall", "f1", "auc")):
    """Rows of dicts as an aligned text table."""
    cells = [[str(c) for c in columns]]
    for row in rows:
        cells.append([
            "-" if row.get(c) is None else
            f"{row[c]:.4f}" if isinstance(row.get(c), float) else str(row[c])
            for c in columns
        ])  # fmt: skip
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in cells)


def report_text(result):
    lines = [
        f"accuracy {result['accuracy']:.4f}   macro precision {result['precision']:.4f}"
        f"   macro recall {result['recall']:.4f}   macro F1 {result['f1']:.4f}"
        + (f"   ROC AUC {result['auc']:.4f}" if result.get("auc") is not None else ""),
        "",
    ]
    rows = [{"model": name, **vals} for name, vals in result["per_class"].items()]
    lines.append(format_table(rows, ("model", "precision", "recall", "f1", "support"))
                 .replace("model", "class", 1))  # fmt: skip
    lines += ["", "confusion matrix (rows: true, columns: predicted)"]
    names = result["class_names"]
    width = max(len(n) for n in names) + 1
    lines.append(" " * width + " ".join(n[:6].rjust(6) for n in names))
    for name, row in zip(names, result["confusion_matrix"]):
        lines.append(name.ljust(width) + " ".join(str(v).rjust(6) for v in row))
    return "\n".join(lines)


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError("Plots need matplotlib: pip install keras_tl[report]") from error
    return plt


def plot_confusion_matrix(result, path):
    """Save the confusion matrix of an `evaluate` result as a PNG."""
    plt = _pyplot()
    cm = np.asarray(result["confusion_matrix"])
    names = result["class_names"]
    fig, ax = plt.subplots(figsize=(1 + 0.6 * len(names), 1 + 0.6 * len(names)))
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    for i in range(len(names)):
        for j in range(len(names)):
            ax.text(j, i, cm[i, j], ha="center", va="center")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    return _save(fig, path)


def _save(fig, path):
    fig.tight_layout()
    fig.savefig(path)
    _pyplot().close(fig)
    return path


def plot_roc(result, path):
    """Save ROC curves (one per class, one-vs-rest) as a PNG."""
    m = _sklearn()
    plt = _pyplot()
    y, probs, names = result["y_true"], result["probabilities"], result["class_names"]
    fig, ax = plt.subplots(figsize=(5, 5))
    classes = [1] if probs.shape[1] == 2 else range(probs.shape[1])
    for c in classes:
        if len(np.unique(y == c)) < 2:
            continue
        fpr, tpr, _ = m.roc_curve(y == c, probs[:, c])
        ax.plot(fpr, tpr, label=f"{names[c]} (AUC {m.auc(fpr, tpr):.3f})")
    ax.plot([0, 1], [0, 1], "k--", lw=0.5)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.legend(loc="lower right", fontsize="small")
    return _save(fig, path)


def plot_history(history, path):
    """Save loss and accuracy curves from `fit()`'s History (or its dict)."""
    plt = _pyplot()
    hist = getattr(history, "history", history)
    keys = [k for k in ("loss", "accuracy") if k in hist]
    fig, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 4), squeeze=False)
    for ax, key in zip(axes[0], keys):
        ax.plot(hist[key], label=key)
        if f"val_{key}" in hist:
            ax.plot(hist[f"val_{key}"], label=f"val_{key}")
        ax.set_xlabel("epoch")
        ax.legend()
    return _save(fig, path)
