"""The offline demo: transfer learning on scikit-learn's shipped `digits`.

A small CNN is pre-trained on digits 0-4, then transferred to digits 5-9
with 5, 10 or 20 labelled images per class, three ways: from scratch,
feature extraction (frozen backbone) and fine-tuning with a
`FreezeSchedule`. Test accuracy on the held-out images of 5-9. Uses only
keras_tl's public pieces: the directory input path, the augmentation layer,
`TransferClassifier` with a custom backbone, the callbacks and evaluation.
No download: the images ship with scikit-learn and are written to disk as
a real image folder.
"""

import json
import os
import tempfile
import time

import numpy as np

import keras

from keras_tl import data
from keras_tl.callbacks import FreezeSchedule
from keras_tl.evaluation import evaluate
from keras_tl.layers import ImageDataGeneratorAugmentation
from keras_tl.models import TransferClassifier

IMAGE_SIZE = (32, 32)
VARIANTS = ("scratch", "feature_extraction", "fine_tuning")


def write_digits(root, labels_per_class=(5, 10, 20), seed=0):
    """Write the digits as PNG folders: `pretrain/` (0-4), `fewshot_<k>/`
    and `test/` (5-9, disjoint from every few-shot set)."""
    try:
        from PIL import Image
        from sklearn.datasets import load_digits
    except ImportError as error:
        raise ImportError("The demo needs scikit-learn and Pillow: "
                          "pip install keras_tl[report]") from error  # fmt: skip
    digits = load_digits()
    images = (digits.images * (255.0 / 16.0)).astype("uint8")
    rng = np.random.default_rng(seed)
    largest = max(labels_per_class)

    def save(folder, label, index):
        path = os.path.join(root, folder, str(label))
        os.makedirs(path, exist_ok=True)
        Image.fromarray(images[index], mode="L").save(os.path.join(path, f"{index}.png"))

    for digit in range(10):
        idx = rng.permutation(np.flatnonzero(digits.target == digit))
        if digit < 5:
            for i in idx:
                save("pretrain", digit, i)
            continue
        for k in labels_per_class:
            for i in idx[:k]:
                save(f"fewshot_{k}", digit, i)
        for i in idx[largest:]:
            save("test", digit, i)


def demo_backbone(name="digits_cnn", filters=(32, 64, 128), convs_per_block=1):
    """Conv blocks with BatchNorm: small enough for a laptop CPU."""
    inputs = keras.Input(IMAGE_SIZE + (3,))
    x = inputs
    for i, width in enumerate(filters):
        for j in range(convs_per_block):
            tag = f"{i}" if convs_per_block == 1 else f"{i}_{j}"
            x = keras.layers.Conv2D(width, 3, padding="same", name=f"block{tag}_conv")(x)
            x = keras.layers.BatchNormalization(name=f"block{tag}_bn")(x)
            x = keras.layers.ReLU(name=f"block{tag}_relu")(x)
        x = keras.layers.MaxPooling2D(name=f"block{i}_pool")(x)
    return keras.Model(inputs, x, name=name)


def _augment(seed):
    return ImageDataGeneratorAugmentation(
        rotation_range=10, width_shift_range=0.1, height_shift_range=0.1,
        zoom_range=0.1, seed=seed,
    )  # fmt: skip


def _compile(model, lr):
    model.compile(optimizer=keras.optimizers.Adam(lr),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])  # fmt: skip
    return model


def pretrain_backbone(x, y=None, epochs=8, seed=0, batch_size=None, **backbone_kwargs):
    """Train `demo_backbone` on digits 0-4 (a dataset, or arrays `x, y`)
    and return its weights: the "scratch" variant on the source task."""
    model = fit_variant("scratch", None, x, y, epochs=epochs, seed=seed,
                        batch_size=batch_size, **backbone_kwargs)  # fmt: skip
    return model.backbone.get_weights()


def fit_variant(variant, pretrained, x, y=None, epochs=30, seed=0, batch_size=None,
                class_names=None, **backbone_kwargs):  # fmt: skip
    """Train one of `VARIANTS` on the few-shot set and return the model."""
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
        backbone, 5, preprocessing="tf", pooling="flatten", class_names=class_names,
        augmentation=_augment(seed), train_batchnorm=variant == "scratch",
    )  # fmt: skip
    callbacks = []
    if variant == "scratch":
        model.unfreeze("all")
    if variant == "fine_tuning":
        callbacks = [FreezeSchedule({0: "head", epochs // 2: "all"}, lr_ratio=0.1, verbose=0)]
    _compile(model, 2e-3).fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0,
                              callbacks=callbacks)  # fmt: skip
    return model


def run(labels_per_class=(5, 10, 20), epochs=30, pretrain_epochs=8, seed=0,
        workdir=None, verbose=True, deterministic=True):  # fmt: skip
    """Run the demo and return `{"labels_per_class": {k: {variant: acc}}}`.

    With `deterministic=True` the same seed gives the same table: it turns
    on `tf.config.experimental.enable_op_determinism()` for the rest of the
    process (TensorFlow has no public switch back) and costs about 10 % in
    time. Without it, TensorFlow's parallel input
    pipeline and CPU kernels reorder work from run to run, and with 25-100
    training images that moves accuracies by several points.
    """
    start = time.time()
    if deterministic:  # the input path is tf.data on either backend
        from keras_tl.data._tf import require_tensorflow

        require_tensorflow("The demo").config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(seed)
    root = workdir or tempfile.mkdtemp(prefix="keras_tl_demo_")
    write_digits(root, labels_per_class, seed)
    say = print if verbose else (lambda *a, **k: None)
    say(f"digits written as image folders under {root}")

    pretrain = data.image_dataset_from_directory(
        os.path.join(root, "pretrain"), IMAGE_SIZE, batch_size=64, seed=seed,
        cache=True,
    )  # fmt: skip
    pretrained = pretrain_backbone(pretrain, epochs=pretrain_epochs, seed=seed)
    say(f"pre-trained the backbone on digits 0-4 ({sum(pretrain.class_counts.values())} "
        f"images, {pretrain_epochs} epochs) in {time.time() - start:.0f}s")  # fmt: skip

    test = data.image_dataset_from_directory(
        os.path.join(root, "test"), IMAGE_SIZE, batch_size=128, shuffle=False
    )
    table = {}
    for k in labels_per_class:
        train = data.image_dataset_from_directory(
            os.path.join(root, f"fewshot_{k}"), IMAGE_SIZE, batch_size=16,
            seed=seed, cache=True,
        )  # fmt: skip
        row = {}
        for variant in VARIANTS:
            model = fit_variant(variant, pretrained, train, epochs=epochs, seed=seed,
                                class_names=train.class_names)  # fmt: skip
            row[variant] = evaluate(model, test)["accuracy"]
        table[str(k)] = row
        say(f"{k:>3} labels/class: " + "  ".join(f"{v} {row[v]:.3f}" for v in VARIANTS))
    result = {"labels_per_class": table, "seconds": round(time.time() - start, 1),
              "test_images": sum(test.class_counts.values())}  # fmt: skip
    say("\n" + format_result(result))
    return result


def format_result(result):
    header = f"{'labels/class':>12}  " + "  ".join(f"{v:>18}" for v in VARIANTS)
    lines = ["test accuracy on held-out digits 5-9 "
             f"({result['test_images']} images)", header]  # fmt: skip
    for k, row in result["labels_per_class"].items():
        lines.append(f"{k:>12}  " + "  ".join(f"{row[v]:>18.3f}" for v in VARIANTS))
    lines.append(f"total time {result['seconds']:.0f}s")
    return "\n".join(lines)


def write_json(result, path):
    with open(path, "w") as f:
        json.dump({"labels_per_class": result["labels_per_class"]}, f, indent=2)
