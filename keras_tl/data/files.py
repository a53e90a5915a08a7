"""Listing image files and catching the ones that are not images, without
decoding them (and without TensorFlow)."""

import logging
import os
import random

logger = logging.getLogger("keras_tl")

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
ON_ERROR = ("skip", "raise")
_MAGIC = {
    "jpeg": (b"\xff\xd8\xff",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "gif": (b"GIF87a", b"GIF89a"),
    "bmp": (b"BM",),
}


def check_image_file(path):
    """Why `path` is not a readable image, or `None` if it looks fine.

    Reads the first and last bytes only: the format's magic number, and for
    JPEG and PNG the end marker that a truncated file lacks.
    """
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(16)
            f.seek(max(0, size - 1024))
            tail = f.read()
    except OSError as error:
        return f"cannot be read ({error.strerror})"
    kind = next(
        (k for k, magics in _MAGIC.items() if head.startswith(magics)), None
    )
    if kind is None:
        return "is not an image (unknown file signature)"
    if kind == "jpeg" and b"\xff\xd9" not in tail:
        return "is a truncated JPEG (no end-of-image marker)"
    if kind == "png" and b"IEND" not in tail:
        return "is a truncated PNG (no IEND chunk)"
    return None


def check_on_error(on_error):
    if on_error not in ON_ERROR:
        raise ValueError(
            f"`on_error` must be one of {ON_ERROR}. Received: {on_error!r}"
        )


def filter_images(paths, labels, on_error):
    """Drop (or raise for) files that are not readable images.

    Returns `(paths, labels, skipped)` with `skipped` a list of
    `(path, reason)`.
    """
    kept_paths, kept_labels, skipped = [], [], []
    for path, label in zip(paths, labels):
        reason = None
        if not path.lower().endswith(IMAGE_EXTENSIONS):
            reason = "is not an image (extension not in %s)" % (
                ", ".join(IMAGE_EXTENSIONS)
            )
        else:
            reason = check_image_file(path)
        if reason is None:
            kept_paths.append(path)
            kept_labels.append(label)
            continue
        if on_error == "raise":
            raise ValueError(f"{path} {reason}. Pass on_error='skip' to skip it.")
        skipped.append((path, reason))
    if skipped:
        logger.warning(
            "keras_tl skipped %d file(s) that are not readable images, e.g. "
            "%s %s. The list is in dataset.skipped_files.",
            len(skipped), skipped[0][0], skipped[0][1],
        )
    return kept_paths, kept_labels, skipped


def list_class_folders(directory, class_names=None):
    """`(paths, labels, class_names)` from one sub-folder per class."""
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            f"Image folder not found: {directory!r}. Pass a folder with one "
            "sub-folder per class (e.g. data/cat/*.jpg, data/dog/*.jpg)."
        )
    found = sorted(
        d for d in os.listdir(directory)
        if os.path.isdir(os.path.join(directory, d)) and not d.startswith(".")
    )  # fmt: skip
    if class_names is None:
        class_names = found
    else:
        missing = [c for c in class_names if c not in found]
        if missing:
            raise ValueError(
                f"class_names {missing} have no folder in {directory!r}; "
                f"its folders are {found}."
            )
    if not class_names:
        raise ValueError(
            f"{directory!r} has no class sub-folders. Put each class's "
            "images in a folder named after the class."
        )
    paths, labels, empty = [], [], []
    for index, name in enumerate(class_names):
        folder = os.path.join(directory, name)
        files = []
        for root, _, names in sorted(os.walk(folder, followlinks=True)):
            files.extend(
                os.path.join(root, n) for n in sorted(names)
                if not n.startswith(".")
            )  # fmt: skip
        if not files:
            empty.append(name)
        paths.extend(files)
        labels.extend([index] * len(files))
    if empty:
        raise ValueError(
            f"Class folder(s) {empty} in {directory!r} hold no files. Remove "
            "them or add images."
        )
    return paths, labels, list(class_names)


def split(paths, labels, validation_split, subset, seed):
    """Keras's deterministic split: shuffle with `seed`, last part = val."""
    if not validation_split:
        if subset is not None:
            raise ValueError("`subset` needs `validation_split`.")
        return paths, labels
    if not 0 < validation_split < 1:
        raise ValueError(
            f"`validation_split` must be in (0, 1). Received: {validation_split!r}"
        )
    if subset not in ("training", "validation"):
        raise ValueError(
            "With validation_split, `subset` must be 'training' or "
            f"'validation'. Received: subset={subset!r}"
        )
    if seed is None:
        raise ValueError(
            "With validation_split, pass the same `seed` for both subsets so "
            "they do not overlap."
        )
    order = list(range(len(paths)))
    random.Random(seed).shuffle(order)
    n_val = int(validation_split * len(order))
    chosen = order[-n_val:] if subset == "validation" else order[:-n_val]
    chosen = sorted(chosen)
    return [paths[i] for i in chosen], [labels[i] for i in chosen]
