"""The offline demo: transfer learning on scikit-learn's shipped `digits`.

A small CNN is pre-trained on digits 0-4, then transferred to digits 5-9
with a few labelled images per class, three ways: from scratch, feature
extraction (frozen backbone) and fine-tuning (`TransferClassifier.fine_tune`).
The digits are drawn with a random position, rotation, zoom and pixel
noise, as photos of handwriting would be: on the clean 8x8 digits a CNN
trained from scratch nearly keeps up with transfer, which hides what a
pre-trained backbone is for (`benchmarks/demo_transfer_gap.py` measures
both). Each label count is drawn several times (different labelled images
and seeds; one pre-training) and the table gives the mean, the spread and
the gap between the best transfer method and scratch. Test accuracy on
held-out images of 5-9. Uses only keras_tl's public pieces: the directory
input path, the augmentation layer, `TransferClassifier` with a custom
backbone and evaluation. No download: the images ship with scikit-learn
and are written to a temporary folder of PNGs, removed at the end.
"""

import json
import os
import statistics
import tempfile
import time

import numpy as np

import keras

from keras_tl import _quiet
from keras_tl import data
from keras_tl.evaluation import evaluate
from keras_tl.evaluation import format_table
from keras_tl.layers import ImageDataGeneratorAugmentation
from keras_tl.models import TransferClassifier

IMAGE_SIZE = (32, 32)
VARIANTS = ("scratch", "feature_extraction", "fine_tuning")
TRANSFER = ("feature_extraction", "fine_tuning")
# Labelled images per class are drawn from the first POOL images of each
# class of 5-9; the rest of 5-9 is the test set, the same for every draw.
POOL = 40


def load_digits():
    """scikit-learn's 1797 digits: `(images (N, 8, 8) in [0, 16], target)`."""
    try:
        from sklearn.datasets import load_digits as sk_load_digits
    except ImportError as error:
        raise ImportError(
            "The demo needs scikit-learn and Pillow: pip install keras_tl[report]"
        ) from error
    digits = sk_load_digits()
    return digits.images.astype("float32"), digits.target


def render(images, rng, noise=0.0, contrast=0.0, jitter=False):
    """8x8 digits in [0, 16] -> 32x32x3 uint8, with optional random
    geometry (one fixed draw per image), contrast and pixel noise."""
    x = keras.ops.image.resize(images[..., None] * (255.0 / 16.0), IMAGE_SIZE)
    x = keras.ops.convert_to_numpy(x)
    if jitter:
        layer = ImageDataGeneratorAugmentation(
            rotation_range=15,
            width_shift_range=0.15,
            height_shift_range=0.15,
            zoom_range=(1.0, 1.6),
            seed=int(rng.integers(1 << 30)),
        )
        x = keras.ops.convert_to_numpy(layer(x, training=True))
    x = x / 255.0
    if contrast:
        lo = rng.uniform(0, contrast, (len(x), 1, 1, 1))
        hi = rng.uniform(1 - contrast, 1, (len(x), 1, 1, 1))
        x = lo + (hi - lo) * x
    if noise:
        x = x + rng.normal(0, noise, x.shape)
    x = (np.clip(x, 0, 1) * 255).astype("uint8")
    return np.repeat(x, 3, axis=-1)


def draw_indices(target, labels_per_class, draws, seed=0):
    """Which images go where: `{"pretrain", "test", (draw, k): indices}`.

    Every few-shot set comes from the pool, so none meets the test set.
    """
    largest = max(labels_per_class)
    if largest > POOL:
        raise ValueError(
            f"`labels_per_class` can be at most {POOL}. Received: {labels_per_class!r}"
        )
    rng = np.random.default_rng(seed)
    order = {c: rng.permutation(np.flatnonzero(target == c)) for c in range(5, 10)}
    out = {
        "pretrain": np.flatnonzero(target < 5),
        "test": np.concatenate([order[c][POOL:] for c in order]),
    }
    for d in range(draws):
        draw_rng = np.random.default_rng([seed, d])
        for k in labels_per_class:
            out[d, k] = np.concatenate(
                [draw_rng.choice(order[c][:POOL], k, replace=False) for c in order]
            )
    return out


def write_folder(root, images, target, indices):
    """Write `images[indices]` as `root/<label>/<index>.png`."""
    from PIL import Image

    for i in indices:
        path = os.path.join(root, str(target[i]))
        os.makedirs(path, exist_ok=True)
        Image.fromarray(images[i]).save(os.path.join(path, f"{i}.png"))


def demo_backbone(name="digits_cnn", filters=(16, 32, 64), convs_per_block=3):
    """Three blocks of `convs_per_block` convolutions with BatchNorm: small
    enough for a laptop CPU, deep enough that 10 images cannot train it.

    BatchNorm's moving averages use momentum 0.9 (PyTorch's default) rather
    than Keras's 0.99: the few-shot runs take about 60 steps, after which
    0.99's averages are still half their initial values and would cripple
    whichever model trains its BatchNorm from scratch at test time.
    """
    inputs = keras.Input(IMAGE_SIZE + (3,))
    x = inputs
    for i, width in enumerate(filters):
        for j in range(convs_per_block):
            tag = f"{i}" if convs_per_block == 1 else f"{i}_{j}"
            x = keras.layers.Conv2D(width, 3, padding="same", name=f"block{tag}_conv")(x)
            x = keras.layers.BatchNormalization(momentum=0.9, name=f"block{tag}_bn")(x)
            x = keras.layers.ReLU(name=f"block{tag}_relu")(x)
        x = keras.layers.MaxPooling2D(name=f"block{i}_pool")(x)
    return keras.Model(inputs, x, name=name)


def _augment(seed):
    return ImageDataGeneratorAugmentation(
        rotation_range=10,
        width_shift_range=0.1,
        height_shift_range=0.1,
        zoom_range=0.1,
        seed=seed,
    )


def pretrain_backbone(x, y=None, epochs=8, seed=0, batch_size=None, **backbone_kwargs):
    """Train `demo_backbone` on digits 0-4 (a dataset, or arrays `x, y`)
    and return its weights: the "scratch" variant on the source task."""
    model = fit_variant(
        "scratch", None, x, y, epochs=epochs, seed=seed, batch_size=batch_size, **backbone_kwargs
    )
    return model.backbone.get_weights()


def fit_variant(
    variant,
    pretrained,
    x,
    y=None,
    epochs=30,
    seed=0,
    batch_size=None,
    class_names=None,
    **backbone_kwargs,
):
    """Train one of `VARIANTS` on the few-shot set and return the model.

    The three share the architecture, augmentation, optimizer and number
    of epochs; only the starting weights and what trains differ.
    """
    if variant not in VARIANTS:
        raise ValueError(f"`variant` must be one of {VARIANTS}. Received: {variant!r}")
    keras.utils.set_random_seed(seed)
    backbone = demo_backbone(**backbone_kwargs)
    if variant != "scratch":
        backbone.set_weights(pretrained)
    # Flatten keeps where the strokes are; global pooling loses it. A model
    # trained from scratch learns its BatchNorm statistics too. Augmentation
    # sits in the model, not in tf.data: with a few dozen images an epoch is
    # 2-7 steps, and a new tf.data iterator per epoch would pay the
    # augmentation's set-up every time (3x slower here).
    model = TransferClassifier(
        backbone,
        5,
        preprocessing="tf",
        pooling="flatten",
        class_names=class_names,
        augmentation=_augment(seed),
        train_batchnorm=variant == "scratch",
    )
    model.compile(
        optimizer=keras.optimizers.Adam(2e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    # A dataset shuffles itself; fit() warns when asked to shuffle one.
    fit = dict(batch_size=batch_size, verbose=0, shuffle=isinstance(x, np.ndarray))
    if variant == "fine_tuning":
        half = epochs // 2
        model.fine_tune(x, y, epochs=epochs - half, freeze_epochs=half, lr_ratio=0.1, **fit)
        return model
    if variant == "scratch":
        model.unfreeze("all")
    model.fit(x, y, epochs=epochs, **fit)
    return model


def summarize(per_draw):
    """`{k: [{method: accuracy}, ...]}` -> the `--json` table and spreads.

    The gap is the transfer method with the better mean minus scratch,
    paired by draw (same labelled images and seed): its mean, min and max.
    """
    table, spread, gaps = {}, {}, {}
    for k, rows in per_draw.items():
        values = {m: [r[m] for r in rows] for m in VARIANTS}
        table[k] = {m: statistics.fmean(v) for m, v in values.items()}
        spread[k] = {
            m: {"std": statistics.pstdev(v), "min": min(v), "max": max(v)}
            for m, v in values.items()
        }
        best = max(TRANSFER, key=lambda m: table[k][m])
        diff = [r[best] - r["scratch"] for r in rows]
        gaps[k] = {
            "method": best,
            "mean": statistics.fmean(diff),
            "min": min(diff),
            "max": max(diff),
        }
    return {"labels_per_class": table, "spread": spread, "gap": gaps}


def run(
    labels_per_class=(2, 5),
    draws=3,
    epochs=30,
    pretrain_epochs=8,
    seed=0,
    workdir=None,
    verbose=True,
    deterministic=True,
    workers=1,
):
    """Run the demo and return its results.

    Returns a dict with `"labels_per_class"`: `{k: {method: mean test
    accuracy over the draws}}`, `"spread"` (std, min, max per method),
    `"gap"` (best transfer method minus scratch: mean, min, max in
    accuracy), `"per_draw"`, `"test_images"` and `"seconds"`.

    Args:
        labels_per_class: Labelled images per class of 5-9, each at most 40.
        draws: How many times each label count is drawn (other images,
            other seed); the backbone is pre-trained once.
        epochs: Training epochs of each method on the few-shot set.
        pretrain_epochs: Epochs on digits 0-4.
        seed: Seeds the rendering, the draws and the training.
        workdir: Where to write the image folders (kept); default a
            temporary folder, removed at the end.
        verbose: Print progress and the table.
        deterministic: Same seed, same table on the same machine: turns on
            `tf.config.experimental.enable_op_determinism()` for the rest
            of the process (TensorFlow has no public switch back), about
            10 % slower. Without it, parallel kernels and the input
            pipeline reorder work and move accuracies by points.
        workers: Processes for the few-shot runs; 1 (default) runs them in
            this process. Tracing each new model's training step is
            single-threaded Python and most of a run's time, so 2 workers
            use both cores of a laptop (`keras-tl demo` does). They are
            started with "spawn": a script calling this with workers > 1
            needs the `if __name__ == "__main__":` guard. Each run seeds
            itself, so the table does not depend on this number.
    """
    labels_per_class = tuple(labels_per_class)
    if not labels_per_class or any(
        isinstance(k, bool) or not isinstance(k, int) or k < 1 for k in labels_per_class
    ):
        raise ValueError(
            "`labels_per_class` must be positive integers such as "
            f"(2, 5). Received: {labels_per_class!r}"
        )
    for name, value in (("draws", draws), ("epochs", epochs), ("pretrain_epochs", pretrain_epochs)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"`{name}` must be an integer >= 1. Received: {value!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"`workers` must be an integer >= 1. Received: {workers!r}")
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="keras_tl_demo_") as tmp:
            return run(
                labels_per_class,
                draws,
                epochs,
                pretrain_epochs,
                seed,
                tmp,
                verbose,
                deterministic,
                workers,
            )
    start = time.time()
    _determinism(deterministic)
    keras.utils.set_random_seed(seed)
    say = print if verbose else (lambda *a, **k: None)
    images, target = load_digits()
    rendered = render(images, np.random.default_rng(seed), noise=0.15, jitter=True)
    split = draw_indices(target, labels_per_class, draws, seed)
    for name, indices in split.items():
        folder = name if isinstance(name, str) else f"fewshot_draw{name[0]}_k{name[1]}"
        write_folder(os.path.join(workdir, folder), rendered, target, indices)
    jobs = [(d, k) for d in range(draws) for k in labels_per_class]
    with _pool(workers, len(jobs)) as pool:
        pretrain = data.image_dataset_from_directory(
            os.path.join(workdir, "pretrain"),
            IMAGE_SIZE,
            batch_size=64,
            seed=seed,
            cache=True,
        )
        pretrained = pretrain_backbone(pretrain, epochs=pretrain_epochs, seed=seed)
        say(
            f"pre-trained the backbone on digits 0-4 ({len(split['pretrain'])} images, "
            f"{pretrain_epochs} epochs) in {time.time() - start:.0f}s"
        )
        args = (workdir, pretrained, epochs, seed, deterministic)
        if pool is None:
            rows = (few_shot_run(*args, d, k) for d, k in jobs)
        else:
            rows = pool.map(few_shot_run, *zip(*[args + job for job in jobs]))
        per_draw = {str(k): [] for k in labels_per_class}
        for (d, k), row in zip(jobs, rows):
            per_draw[str(k)].append(row)
            say(
                f"draw {d + 1}/{draws}, {k:>2} labels/class: "
                + "  ".join(f"{v} {row[v]:.3f}" for v in VARIANTS)
            )
    result = summarize(per_draw)
    result.update(
        per_draw=per_draw,
        draws=draws,
        test_images=len(split["test"]),
        seconds=round(time.time() - start, 1),
    )
    say("\n" + format_result(result))
    return result


def few_shot_run(workdir, pretrained, epochs, seed, deterministic, draw, k):
    """The three methods on one few-shot draw: `{method: test accuracy}`.

    A module-level function so that worker processes can run it.
    """
    _determinism(deterministic)
    # tf.data's shuffle mixes its own seed with TF's global one: set both
    # here, so a run gives the same order in any process, after any run.
    keras.utils.set_random_seed(seed + draw)
    test = data.image_dataset_from_directory(
        os.path.join(workdir, "test"), IMAGE_SIZE, batch_size=128, shuffle=False
    )
    train = data.image_dataset_from_directory(
        os.path.join(workdir, f"fewshot_draw{draw}_k{k}"),
        IMAGE_SIZE,
        batch_size=16,
        seed=seed + draw,
        cache=True,
    )
    row = {}
    for variant in VARIANTS:
        model = fit_variant(
            variant,
            pretrained,
            train,
            epochs=epochs,
            seed=seed + draw,
            class_names=train.class_names,
        )
        row[variant] = evaluate(model, test)["accuracy"]
    return row


def _determinism(on):
    if on:  # the input path is tf.data on either backend
        from keras_tl.data._tf import require_tensorflow

        require_tensorflow("The demo").config.experimental.enable_op_determinism()


def _pool(workers, jobs):
    """A process pool, started before the pre-training so that its
    imports overlap it; a null context for one worker. Tracing a new
    model's training step is single-threaded Python and most of a
    few-shot run's time: two processes use both cores."""
    import contextlib

    if workers <= 1 or jobs <= 1:
        return contextlib.nullcontext()
    import concurrent.futures
    import multiprocessing

    pool = concurrent.futures.ProcessPoolExecutor(
        min(workers, jobs),
        mp_context=multiprocessing.get_context("spawn"),
        # The worker imports the demo through a light module, with
        # TensorFlow's start-up lines kept off the user's terminal.
        initializer=_quiet.demo_worker,
    )
    # The pool starts a process per submit when none is idle: a no-op each
    # starts them now, so that their imports (the initializer) overlap the
    # pre-training instead of following it.
    for _ in range(min(workers, jobs)):
        pool.submit(int)
    return pool


def format_result(result):
    """The demo's table: mean ± std per method, and the gap in points."""
    rows = []
    for k, row in result["labels_per_class"].items():
        spread, gap = result["spread"][k], result["gap"][k]
        rows.append(
            [k]
            + [f"{row[m]:.3f} ± {spread[m]['std']:.3f}" for m in VARIANTS]
            + [f"{gap['mean'] * 100:+.1f} ({gap['min'] * 100:+.1f} to {gap['max'] * 100:+.1f})"]
        )
    headers = [
        "labels/class",
        "scratch",
        "feature extraction",
        "fine-tuning",
        "gap, points (min to max)",
    ]
    return "\n".join(
        [
            f"test accuracy on {result['test_images']} held-out digits 5-9, mean ± std "
            f"over {result['draws']} few-shot draws; gap = best transfer - scratch",
            format_table(rows, headers),
            f"total time {result['seconds']:.0f}s",
        ]
    )


def write_json(result, path):
    """`{"labels_per_class": {k: {method: mean}}, "spread", "gap", ...}`."""
    keys = ("labels_per_class", "spread", "gap", "per_draw", "draws", "test_images")
    with open(path, "w") as f:
        json.dump({key: result[key] for key in keys}, f, indent=2)
