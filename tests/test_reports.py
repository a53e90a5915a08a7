"""keras_tl.evaluation: metrics, the text tables and the plots (checked
through the matplotlib figure they draw, not by eye)."""

import os
import sys

import numpy as np
import pytest

import keras
from keras_tl import evaluation
from keras_tl.evaluation import plots

pytest.importorskip("sklearn")

LONG_NAMES = [f"class_{i}_with_a_rather_long_folder_name" for i in range(20)]


def _result(names, n=200, seed=0):
    rng = np.random.default_rng(seed)
    k = len(names)
    y = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), y] += 3
    probs = evaluation.probabilities_from_logits(logits)
    result = evaluation.metrics_from_predictions(y, probs, names)
    result["y_true"], result["probabilities"] = y, probs
    return result


@pytest.fixture
def saved_figures(monkeypatch):
    """The figures the plot functions save, to inspect after drawing."""
    figures = []
    save = plots._save

    def keep(fig, path):
        figures.append(fig)
        return save(fig, path)

    monkeypatch.setattr(plots, "_save", keep)
    return figures


def test_compare_models_and_report_values():
    x = np.random.default_rng(0).uniform(0, 255, (12, 32, 32, 3)).astype("float32")
    y = np.array([0, 1, 2] * 4)

    class Oracle(keras.Model):  # predicts the true class with p=0.8
        def call(self, inputs):
            return keras.ops.one_hot(keras.ops.convert_to_tensor(y), 3) * 0.7 + 0.1

    rows = evaluation.compare_models({"oracle": Oracle()}, (x, y))
    assert rows[0]["accuracy"] == 1.0 and rows[0]["auc"] == 1.0
    assert rows[0]["loss"] == pytest.approx(-np.log(0.8), rel=1e-3)
    table = evaluation.format_table(rows)
    assert "oracle" in table and "1.0000" in table
    result = evaluation.metrics_from_predictions(
        np.array([0, 0, 1, 1]),
        np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.7, 0.3]]),
        ["neg", "pos"],
    )
    assert result["accuracy"] == 0.5 and result["confusion_matrix"] == [[1, 1], [1, 1]]
    assert result["auc"] == pytest.approx(0.75)
    assert result["per_class"]["pos"]["recall"] == 0.5


def test_logits_become_probabilities():
    p = evaluation.probabilities_from_logits([[1000.0, 0.0], [0.0, 0.0]])
    np.testing.assert_allclose(p, [[1, 0], [0.5, 0.5]])
    # One column is a sigmoid; large logits of either sign do not overflow.
    with np.errstate(over="raise"):
        p = evaluation.probabilities_from_logits(np.array([[-1000.0], [0.0], [1000.0]]))
    np.testing.assert_allclose(p[:, 0], [0, 0.5, 1])

    class Logits(keras.Model):
        from_logits = True

        def call(self, inputs):
            return keras.ops.zeros((keras.ops.shape(inputs)[0], 1))

    _, probs = evaluation.predict_with_labels(Logits(), (np.zeros((3, 4)), np.array([0, 1, 1])))
    np.testing.assert_allclose(probs, 0.5)


def test_format_table_aligns_text_left_and_numbers_right():
    table = evaluation.format_table(
        [
            {"model": "vgg16", "accuracy": 0.9, "auc": None},
            {"model": "mobilenet_v2", "accuracy": 0.85, "auc": 0.95},
        ],
        ["model", "accuracy", "auc"],
    )
    assert table.splitlines() == [
        "model         accuracy     auc",
        "vgg16           0.9000       -",
        "mobilenet_v2    0.8500  0.9500",
    ]
    # Sequence rows, a header, another number format: the demo's table.
    table = evaluation.format_table(
        [("5", 0.5, 12)], headers=["k", "accuracy", "n"], number_format=".3f"
    )
    assert table.splitlines() == ["k  accuracy   n", "5     0.500  12"]
    markdown = evaluation.format_table(
        [{"a": "x", "b": 1.5}], ["a", "b"], number_format=lambda v: f"{v:.1f}", markdown=True
    )
    assert markdown.splitlines() == ["| a |   b |", "|---|----:|", "| x | 1.5 |"]


def test_benchmark_markdown_table_uses_the_shared_formatter():
    from benchmarks import common

    table = common.markdown_table(
        [{"input": "full", "seconds": 1234.5, "ratio": 0.01234}, {"input": "cached"}],
        ["input", "seconds", "ratio"],
    )
    assert table.splitlines() == [
        "| input  | seconds |  ratio |",
        "|--------|--------:|-------:|",
        "| full   | 1,234.5 | 0.0123 |",
        "| cached |         |        |",
    ]


def test_report_text_has_every_class_and_count():
    result = _result(["cat", "dog", "a_long_bird_name"], n=30)
    text = result["text"]
    for name in ("cat", "dog", "a_long_bird_name"):
        assert name in text
    matrix = text.split("confusion matrix (rows: true, columns: predicted)\n")[1]
    rows = [line.split()[1:] for line in matrix.splitlines()[1:]]
    assert [[int(v) for v in row] for row in rows] == result["confusion_matrix"]


# Plots --------------------------------------------------------------------


def test_evaluation_leaves_the_matplotlib_backend_alone(tmp_path, monkeypatch):
    matplotlib = pytest.importorskip("matplotlib")
    import importlib

    before = matplotlib.get_backend()
    figures = (
        len(sys.modules["matplotlib.pyplot"].get_fignums())
        if ("matplotlib.pyplot" in sys.modules)
        else 0
    )

    def refuse(*args, **kwargs):
        raise AssertionError(f"keras_tl switched the backend: matplotlib.use{args}")

    monkeypatch.setattr(matplotlib, "use", refuse)
    importlib.reload(plots)  # importing it must not switch either
    result = _result(["cat", "dog"], n=20)
    evaluation.plot_confusion_matrix(result, str(tmp_path / "cm.png"))
    evaluation.plot_roc(result, str(tmp_path / "roc.png"))
    evaluation.plot_history({"loss": [1.0, 0.5]}, str(tmp_path / "h.png"))
    assert matplotlib.get_backend() == before
    # No figures left open in pyplot for the user to close.
    if "matplotlib.pyplot" in sys.modules:
        assert len(sys.modules["matplotlib.pyplot"].get_fignums()) == figures


def test_plots_are_written(tmp_path):
    pytest.importorskip("matplotlib")
    result = evaluation.metrics_from_predictions(
        np.array([0, 1, 2, 1]), np.eye(3)[[0, 1, 2, 2]] * 0.7 + 0.1
    )
    result["y_true"], result["probabilities"] = (
        np.array([0, 1, 2, 1]),
        np.eye(3)[[0, 1, 2, 2]] * 0.7 + 0.1,
    )
    for fn, name in (
        (evaluation.plot_confusion_matrix, "cm.png"),
        (evaluation.plot_roc, "roc.png"),
    ):
        paths = fn(result, str(tmp_path / name))
        assert paths == [str(tmp_path / name)]
        assert open(paths[0], "rb").read(4) == b"\x89PNG"
    paths = evaluation.plot_history(
        {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}, str(tmp_path / "h.png")
    )
    assert paths == [str(tmp_path / "h.png")] and os.path.getsize(paths[0]) > 0


def test_confusion_matrix_title_names_the_split(tmp_path, saved_figures):
    pytest.importorskip("matplotlib")
    result = _result(["cat", "dog", "bird"], n=250)
    evaluation.plot_confusion_matrix(result, str(tmp_path / "cm.png"), split="test")
    evaluation.plot_roc(result, str(tmp_path / "roc.png"), split="test")
    result["split"] = "validation"  # as evaluate(..., split="validation") keeps it
    evaluation.plot_confusion_matrix(result, str(tmp_path / "cm_val.png"))
    titles = [fig.axes[0].get_title() for fig in saved_figures]
    assert titles[0] == "Confusion matrix — test split (n=250)"
    assert titles[1].startswith("ROC curves") and "test split (n=250)" in titles[1]
    assert titles[2] == "Confusion matrix — validation split (n=250)"


def test_confusion_matrix_counts_contrast_with_their_cells(tmp_path, saved_figures):
    pytest.importorskip("matplotlib")
    from matplotlib.colors import to_rgba

    result = {
        "confusion_matrix": [[90, 0, 5], [1, 45, 0], [3, 2, 70]],
        "class_names": ["cat", "dog", "bird"],
    }
    evaluation.plot_confusion_matrix(result, str(tmp_path / "cm.png"))
    ax = saved_figures[0].axes[0]
    image = ax.get_images()[0]
    colors = {}
    for text in ax.texts:
        i, j = (int(round(v)) for v in text.get_position()[::-1])
        cell = image.cmap(image.norm(result["confusion_matrix"][i][j]))
        ink = to_rgba(text.get_color())
        # WCAG contrast ratio of the count against its cell; 4.5 is AA
        lum = sorted([plots._luminance(cell), plots._luminance(ink)])
        assert (lum[1] + 0.05) / (lum[0] + 0.05) >= 4.5, (text.get_text(), cell, ink)
        colors[text.get_text()] = text.get_color()
    assert colors["90"] != colors["0"]  # darkest and lightest cell


@pytest.mark.parametrize("names", [["cat", "dog", "bird"], LONG_NAMES], ids=["3", "20"])
def test_confusion_matrix_class_names_fit_in_the_picture(tmp_path, saved_figures, names):
    pytest.importorskip("matplotlib")
    result = _result(names)
    evaluation.plot_confusion_matrix(result, str(tmp_path / "cm.png"), split="test")
    fig = saved_figures[0]
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    # What savefig(bbox_inches="tight") keeps: the union of every artist.
    picture = fig.get_tightbbox(renderer)
    labels = ax.get_xticklabels() + ax.get_yticklabels()
    assert sorted(t.get_text() for t in ax.get_xticklabels()) == sorted(names)
    for label in labels:
        box = label.get_window_extent(renderer).transformed(fig.dpi_scale_trans.inverted())
        assert picture.x0 <= box.x0 and box.x1 <= picture.x1, label.get_text()
        assert picture.y0 <= box.y0 and box.y1 <= picture.y1, label.get_text()
    # Neighbouring x labels do not overlap.
    boxes = sorted(
        (t.get_window_extent(renderer) for t in ax.get_xticklabels()), key=lambda b: b.x0
    )
    assert all(a.x1 <= b.x0 + 1 for a, b in zip(boxes, boxes[1:]))


def _history_figure(tmp_path, saved_figures, history, **kwargs):
    paths = evaluation.plot_history(history, str(tmp_path / "history.png"), **kwargs)
    assert all(os.path.exists(p) for p in paths)
    fig = saved_figures[-1]
    fig.canvas.draw()
    return fig


HISTORY = {
    "loss": [1.9, 1.2, 0.9, 0.8, 0.55, 0.42, 0.35, 0.31],
    "val_loss": [1.5, 1.1, 0.95, 0.9, 0.7, 0.62, 0.6, 0.61],
    "accuracy": [0.41, 0.6, 0.7, 0.72, 0.82, 0.87, 0.9, 0.915],
    "val_accuracy": [0.5, 0.63, 0.69, 0.7, 0.78, 0.8, 0.81, 0.805],
}


def test_history_has_a_title_and_integer_epochs_from_one(tmp_path, saved_figures):
    pytest.importorskip("matplotlib")
    fig = _history_figure(tmp_path, saved_figures, HISTORY)
    assert fig.get_suptitle() == "Training history (8 epochs)"
    for ax in fig.axes:
        ticks = [float(t) for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks and all(t == int(t) for t in ticks) and min(ticks) >= 1
        assert [line.get_xdata()[0] for line in ax.get_lines()[:2]] == [1, 1]
        assert ax.get_title() in ("Loss", "Accuracy")
    # Three epochs: no 0.5 ticks. Values 1e-5 apart: no "1e-5+1" offset.
    fig = _history_figure(tmp_path, saved_figures, {"loss": [1.00001, 1.00003, 1.00002]})
    ax = fig.axes[0]
    low, high = ax.get_xlim()
    shown = [t.get_text() for t in ax.get_xticklabels() if low <= t.get_position()[0] <= high]
    assert shown == ["1", "2", "3"]
    assert ax.yaxis.get_offset_text().get_text() == ""
    assert ax.xaxis.get_offset_text().get_text() == ""
    fig = _history_figure(tmp_path, saved_figures, {"loss": [0.7]})
    ax = fig.axes[0]
    low, high = ax.get_xlim()
    assert [t for t in ax.get_xticks() if low <= t <= high] == [1]


def _markers(fig):
    ax = fig.axes[0]
    return [line.get_xdata()[0] for line in ax.get_lines() if line.get_linestyle() == "--"]


def test_history_marks_the_unfreeze_epochs(tmp_path, saved_figures):
    pytest.importorskip("matplotlib")
    fig = _history_figure(tmp_path, saved_figures, HISTORY, unfreeze_epochs=[4])
    assert _markers(fig) == [3.5]  # the start of epoch 4, between points 3 and 4
    # keras_tl's callbacks log trainable_params each epoch: found without help.
    logged = dict(HISTORY, trainable_params=[10] * 3 + [900] * 5)
    assert evaluation.trainable_changes(logged) == [(4, "unfrozen")]
    fig = _history_figure(tmp_path, saved_figures, logged)
    assert _markers(fig) == [3.5]
    fig = _history_figure(tmp_path, saved_figures, logged, unfreeze_epochs=[])
    assert _markers(fig) == []


def test_history_legend_is_one_and_hides_nothing(tmp_path, saved_figures):
    pytest.importorskip("matplotlib")
    logged = dict(HISTORY, trainable_params=[10] * 3 + [900] * 5)
    fig = _history_figure(tmp_path, saved_figures, logged)
    assert [ax.get_legend() for ax in fig.axes] == [None, None]
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == [
        "training",
        "validation",
        "backbone unfrozen",
    ]
    renderer = fig.canvas.get_renderer()
    box = legend.get_window_extent(renderer)
    picture = fig.get_tightbbox(renderer).transformed(fig.dpi_scale_trans)
    assert picture.x0 <= box.x0 and box.x1 <= picture.x1 and picture.y0 <= box.y0
    for ax in fig.axes:  # below every panel: no curve, label or tick under it
        assert box.y1 <= ax.get_tightbbox(renderer).y0
        assert [t.get_text() for t in ax.texts] == ["unfreeze\nepoch 4"]


def test_history_numbers_epochs_from_a_resumed_fit(tmp_path, saved_figures):
    pytest.importorskip("matplotlib")

    class History:  # fit(initial_epoch=5, epochs=8)
        history = {"loss": [0.5, 0.4, 0.3], "trainable_params": [1, 5, 5]}
        epoch = [5, 6, 7]

    fig = _history_figure(tmp_path, saved_figures, History())
    assert list(fig.axes[0].get_lines()[0].get_xdata()) == [6, 7, 8]
    assert _markers(fig) == [6.5]
