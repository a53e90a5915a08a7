"""PNG plots of an evaluation result and a training history.

Figures are drawn on `matplotlib.figure.Figure` with an Agg canvas, never
through pyplot: a library must not switch the user's backend or leave
figures in pyplot's list.
"""

import numpy as np

from keras_tl.evaluation.metrics import _sklearn

# Names longer than this end in "…": one 80-character folder name would
# otherwise take most of the picture.
MAX_LABEL_CHARS = 40


def _figure(width, height):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError("Plots need matplotlib: pip install keras_tl[report]") from error
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path):
    # "tight" grows the picture to hold every label and outside legend.
    fig.savefig(path, bbox_inches="tight", pad_inches=0.1)
    return [path]


def split_title(what, split=None, n=None):
    """`"Confusion matrix — test split (n=250)"`: what a plot shows, on
    which data."""
    text = what
    if split:
        text += f" — {split} split"
    if n is not None:
        text += f" (n={n})"
    return text


def _short(name):
    name = str(name)
    return name if len(name) <= MAX_LABEL_CHARS else name[: MAX_LABEL_CHARS - 1] + "…"


def _luminance(rgba):
    """Relative luminance (WCAG) of an RGB(A) colour in 0..1."""
    rgb = np.asarray(rgba)[:3]
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return float(linear @ [0.2126, 0.7152, 0.0722])


def text_color(rgba):
    """Black or white, whichever contrasts more with `rgba`."""
    # Black and white contrast equally (4.58:1) at luminance 0.179, so
    # every cell gets at least that: WCAG's 4.5:1 for normal text.
    return "black" if _luminance(rgba) > 0.179 else "white"


def plot_confusion_matrix(result, path, *, split=None, title=None, cmap="Blues"):
    """Save the confusion matrix of an `evaluate` result as a PNG.

    Counts are printed in every cell, black on light cells and white on
    dark ones; the class names are rotated and sized to fit.

    Args:
        result: A dict from `evaluate` or `metrics_from_predictions`.
        path: Where to write the PNG.
        split: The data split's name for the title (`"test"`); default
            `result["split"]`.
        title: The whole title instead (default: "Confusion matrix —
            {split} split (n=...)").
        cmap: A matplotlib colormap name.

    Returns:
        `[path]`, the files written.

    Example:

    ```python
    result = evaluate(model, test_ds, split="test")
    plot_confusion_matrix(result, "confusion_matrix.png")
    ```
    """
    cm = np.asarray(result["confusion_matrix"])
    names = [_short(n) for n in result["class_names"]]
    k = len(names)
    # Fonts shrink from 10 pt (up to 10 classes) to 6 pt (30 or more).
    size = float(np.clip(10 - 0.2 * (k - 10), 6, 10))
    cell = 0.055 * size  # inches: room for a 4-digit count
    label = max(len(n) for n in names) * size * 0.6 / 72  # longest name, inches
    rotation = 0 if label <= cell else (45 if k <= 10 else 90)
    below = {0: 0.2, 45: 0.75 * label, 90: label}[rotation]
    # At least 5 x 4 inches: room for the title with 2 or 3 classes.
    fig = _figure(max(5, 1.9 + label + k * cell), max(4, 1.0 + below + k * cell))
    ax = fig.add_subplot()
    image = ax.imshow(cm, cmap=cmap, vmin=0)
    bar = fig.colorbar(image, ax=ax, shrink=0.8, label="images")
    from matplotlib.ticker import MaxNLocator

    bar.locator = MaxNLocator(integer=True)  # counts, not 12.5
    bar.update_ticks()
    ax.set_xticks(
        range(k),
        names,
        rotation=rotation,
        fontsize=size,
        ha="right" if rotation == 45 else "center",
        rotation_mode="anchor" if rotation == 45 else "default",
    )
    ax.set_yticks(range(k), names, fontsize=size)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    for i in range(k):
        for j in range(k):
            color = text_color(image.cmap(image.norm(cm[i, j])))
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=size, color=color)
    split = result.get("split") if split is None else split
    ax.set_title(title or split_title("Confusion matrix", split, int(cm.sum())))
    return _save(fig, path)


def plot_roc(result, path, *, split=None, title=None):
    """Save ROC curves (one per class, one-vs-rest) as a PNG.

    Args:
        result: A dict from `evaluate` (it needs `y_true` and
            `probabilities`).
        path: Where to write the PNG.
        split: The data split's name for the title; default
            `result["split"]`.
        title: The whole title instead.

    Returns:
        `[path]`, the files written.

    Example:

    ```python
    plot_roc(evaluate(model, val_ds, split="validation"), "roc.png")
    ```
    """
    m = _sklearn()
    y, probs = result["y_true"], result["probabilities"]
    names = [_short(n) for n in result["class_names"]]
    classes = [1] if probs.shape[1] == 2 else range(probs.shape[1])
    many = len(classes) > 8
    fig = _figure(8 if many else 5.5, 5.5)
    ax = fig.add_subplot()
    # tab10 repeats after 10 classes; tab20 and then line styles keep
    # 40 curves apart.
    colors = [f"C{i}" for i in range(10)] if len(classes) <= 10 else [_tab20(i) for i in range(20)]
    for i, c in enumerate(classes):
        if len(np.unique(y == c)) < 2:
            continue  # ROC needs both positives and negatives
        fpr, tpr, _ = m.roc_curve(y == c, probs[:, c])
        ax.plot(
            fpr,
            tpr,
            color=colors[i % len(colors)],
            linestyle=("-", "--", ":", "-.")[i // len(colors) % 4],
            label=f"{names[c]} (AUC {m.auc(fpr, tpr):.3f})",
        )
    ax.plot([0, 1], [0, 1], "k--", lw=0.5, label="chance")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_aspect("equal")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    if many:  # a legend of 20 lines would hide the curves
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), fontsize="x-small")
    else:
        ax.legend(loc="lower right", fontsize="small")
    split = result.get("split") if split is None else split
    what = "ROC curve" if probs.shape[1] == 2 else "ROC curves (one-vs-rest)"
    ax.set_title(title or split_title(what, split, len(y)))
    return _save(fig, path)


def _tab20(i):
    from matplotlib import colormaps

    return colormaps["tab20"](i)


def trainable_changes(history):
    """Epochs (1-based) at whose start the number of trainable parameters
    changed, read from the `trainable_params` that keras_tl's fine-tuning
    callbacks log each epoch.

    Args:
        history: `fit()`'s History or its `.history` dict.

    Returns:
        A list of `(epoch, direction)`, direction `"unfrozen"` or
        `"frozen"`; empty when nothing was logged.

    Example:

    ```python
    trainable_changes({"trainable_params": [10, 10, 90]})  # [(3, "unfrozen")]
    ```
    """
    hist = getattr(history, "history", history)
    counts = hist.get("trainable_params")
    epochs = _epochs(history, len(counts or ()))
    return [
        (epochs[i], "unfrozen" if counts[i] > counts[i - 1] else "frozen")
        for i in range(1, len(counts or ()))
        if counts[i] != counts[i - 1]
    ]


def _epochs(history, n):
    # History.epoch holds the 0-based epochs run; fit(initial_epoch=k)
    # starts it at k.
    epoch = getattr(history, "epoch", None)
    if epoch is not None and len(epoch) == n:
        return [int(e) + 1 for e in epoch]
    return list(range(1, n + 1))


def plot_history(history, path, *, unfreeze_epochs=None, title=None):
    """Save loss and accuracy curves from `fit()`'s History (or its dict).

    Epochs are numbered from 1 as Keras prints them. A dashed line marks
    the start of each epoch where the backbone was unfrozen.

    Args:
        history: `fit()`'s History or its `.history` dict.
        path: Where to write the PNG.
        unfreeze_epochs: 1-based epochs at whose start layers were
            unfrozen (e.g. `[4]` for `FreezeSchedule({0: "head", 3:
            "all"})`, whose keys are 0-based). None: read them from the
            `trainable_params` the keras_tl callbacks log; `[]`: none.
        title: The figure title (default "Training history (N epochs)").

    Returns:
        `[path]`, the files written.

    Example:

    ```python
    history = model.fit(train_ds, epochs=8, callbacks=[
        keras_tl.callbacks.FreezeSchedule({0: "head", 3: "all"})])
    plot_history(history, "history.png")  # marker before epoch 4
    ```
    """
    from matplotlib.ticker import MaxNLocator, ScalarFormatter

    hist = getattr(history, "history", history)
    keys = [k for k in ("loss", "accuracy") if k in hist]
    n = len(hist[keys[0]]) if keys else 0
    epochs = _epochs(history, n)
    if unfreeze_epochs is None:
        markers = trainable_changes(history)
    else:
        markers = [(int(e), "unfrozen") for e in unfreeze_epochs]
    fig = _figure(5 * max(len(keys), 1), 4)
    axes = [fig.add_subplot(1, max(len(keys), 1), i + 1) for i in range(len(keys))]
    for ax, key in zip(axes, keys):
        style = dict(marker="o", markersize=3)
        ax.plot(epochs, hist[key], label="training", **style)
        if f"val_{key}" in hist:
            ax.plot(epochs, hist[f"val_{key}"], label="validation", **style)
        for i, (epoch, direction) in enumerate(markers):
            # The change happens at the epoch's start: between two points.
            ax.axvline(
                epoch - 0.5,
                color="0.4",
                linestyle="--",
                linewidth=1,
                label=f"backbone {direction}" if i == 0 else None,
            )
            verb = "unfreeze" if direction == "unfrozen" else "freeze"
            ax.annotate(
                f"{verb}\nepoch {epoch}",
                (epoch - 0.5, 1),
                xycoords=("data", "axes fraction"),
                xytext=(3, -3),
                textcoords="offset points",
                va="top",
                fontsize="x-small",
                color="0.3",
            )
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        formatter = ScalarFormatter(useOffset=False)
        formatter.set_scientific(False)
        ax.yaxis.set_major_formatter(formatter)
        if epochs:
            ax.set_xlim(epochs[0] - 0.5, epochs[-1] + 0.5)
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.set_title(key.capitalize())
        ax.grid(alpha=0.3)
    if axes:
        # One legend under the panels: inside a panel it can hide the
        # curves or the unfreeze label at the top.
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), fontsize="small")
    fig.suptitle(title or f"Training history ({n} epoch{'s' if n != 1 else ''})")
    return _save(fig, path)
