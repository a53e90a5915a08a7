"""Listing image files and catching the ones that are not images, without
decoding them (and without TensorFlow)."""

import logging
import numbers
import os
import random

logger = logging.getLogger("keras_tl")

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
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
    JPEG and PNG the end marker that a truncated file lacks (for WebP, the
    size its RIFF header announces).
    """
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(16)
            f.seek(max(0, size - 1024))
            tail = f.read()
    except OSError as error:
        return f"cannot be read ({error.strerror})"
    kind = next((k for k, magics in _MAGIC.items() if head.startswith(magics)), None)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        kind = "webp"
    if kind is None:
        return "is not an image (unknown file signature)"
    if kind == "jpeg" and b"\xff\xd9" not in tail:
        return "is a truncated JPEG (no end-of-image marker)"
    if kind == "png" and b"IEND" not in tail:
        return "is a truncated PNG (no IEND chunk)"
    if kind == "webp" and size < 8 + int.from_bytes(head[4:8], "little"):
        return "is a truncated WebP (shorter than its RIFF header says)"
    return None


def check_on_error(on_error):
    if on_error not in ON_ERROR:
        raise ValueError(f"`on_error` must be one of {ON_ERROR}. Received: {on_error!r}")


def filter_images(paths, labels, on_error, decode_errors=None, select=None):
    """Drop (or raise for) files that are not readable images.

    Args:
        paths, labels: Parallel lists.
        on_error: `"skip"` or `"raise"`.
        decode_errors: Optional full check, run on the files that pass the
            header check: a function of a list of paths returning
            `{index: reason}` for the ones that do not decode. A corrupt
            JPEG body passes the header check and would otherwise stop
            training mid-epoch.
        select: Optional function `(paths, labels) -> (paths, labels)`
            applied between the two checks: the validation split, so that
            each subset decodes only its own files.

    Returns `(paths, labels, skipped)` with `skipped` a list of
    `(path, reason)`.
    """
    kept_paths, kept_labels, skipped = [], [], []

    def reject(path, reason):
        if on_error == "raise":
            raise ValueError(f"{path} {reason}. Pass on_error='skip' to skip it.")
        skipped.append((path, reason))

    for path, label in zip(paths, labels):
        reason = None
        if not path.lower().endswith(IMAGE_EXTENSIONS):
            reason = "is not an image (extension not in %s)" % (", ".join(IMAGE_EXTENSIONS))
        else:
            reason = check_image_file(path)
        if reason is None:
            kept_paths.append(path)
            kept_labels.append(label)
        else:
            reject(path, reason)
    if select is not None:
        kept_paths, kept_labels = select(kept_paths, kept_labels)
    if decode_errors is not None and kept_paths:
        bad = decode_errors(kept_paths)
        for i in sorted(bad):
            reject(kept_paths[i], bad[i])
        kept_paths = [p for i, p in enumerate(kept_paths) if i not in bad]
        kept_labels = [y for i, y in enumerate(kept_labels) if i not in bad]
    if skipped:
        logger.warning(
            "keras_tl skipped %d file(s) that are not readable images, e.g. "
            "%s %s. The list is in dataset.skipped_files.",
            len(skipped),
            skipped[0][0],
            skipped[0][1],
        )
    return kept_paths, kept_labels, skipped


def list_class_folders(directory, class_names=None):
    """`(paths, labels, class_names)` from one sub-folder per class.

    Links are followed, but every real folder and file is listed once, and
    a link back into the dataset (to its root or into another class's
    folder) is not followed, with a warning: it would list the same images
    many times, or under a second label.
    """
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            f"Image folder not found: {directory!r}. Pass a folder with one "
            "sub-folder per class (e.g. data/cat/*.jpg, data/dog/*.jpg)."
        )
    found = sorted(
        d
        for d in os.listdir(directory)
        if os.path.isdir(os.path.join(directory, d)) and not d.startswith(".")
    )
    if class_names is None:
        class_names = found
    else:
        class_names = list(class_names)
        repeated = sorted({c for c in class_names if class_names.count(c) > 1})
        if repeated:
            raise ValueError(
                f"`class_names` must not repeat a class; {repeated} appear "
                f"more than once. Received: class_names={class_names}"
            )
        missing = [c for c in class_names if c not in found]
        if missing:
            raise ValueError(
                f"class_names {missing} have no folder in {directory!r}; its folders are {found}."
            )
    if not class_names:
        raise ValueError(
            f"{directory!r} has no class sub-folders. Put each class's "
            "images in a folder named after the class."
        )
    root = os.path.realpath(directory)
    seen_dirs, seen_files, not_followed = set(), set(), []
    paths, labels, empty = [], [], []
    for index, name in enumerate(class_names):
        files = _walk(
            os.path.join(directory, name),
            root,
            seen_dirs,
            seen_files,
            not_followed,
        )
        if not files:
            empty.append(name)
        paths.extend(files)
        labels.extend([index] * len(files))
    if not_followed:
        logger.warning(
            "keras_tl did not follow %d link(s) or repeated path(s) in %r, e.g. %s %s.",
            len(not_followed),
            directory,
            *not_followed[0],
        )
    if empty:
        raise ValueError(
            f"Class folder(s) {empty} in {directory!r} hold no files. Remove them or add images."
        )
    return paths, labels, list(class_names)


def _inside(path, folder):
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _link_problem(target, root, home):
    """Why a link to real path `target`, met in the class folder whose real
    path is `home`, must not be followed; `None` if it may. Links out of
    the dataset (e.g. to shared storage) are fine."""
    if _inside(root, target):
        return "leads to the dataset root or above it"
    if _inside(target, root) and not _inside(target, home):
        return "leads out of its class folder into the dataset"
    return None


def _walk(folder, root, seen_dirs, seen_files, not_followed):
    """The files under one class folder, in `os.walk` order.

    `root` is the dataset's real path; `seen_dirs` and `seen_files` are the
    real paths listed so far (shared by all classes), and `(path, reason)`
    is appended to `not_followed` for each entry left out. Tracking real
    paths ends link cycles (two links to their own folder would otherwise
    make an endless, exponential walk).
    """
    home = os.path.realpath(folder)
    problem = _link_problem(home, root, home)  # a class folder linked to the root
    if problem:
        not_followed.append((folder, problem))
        return []
    groups, stack = [], [(folder, home)]
    while stack:
        top, real = stack.pop()
        if real in seen_dirs:
            not_followed.append((top, "is a folder already listed"))
            continue
        seen_dirs.add(real)
        try:
            entries = sorted(os.scandir(top), key=lambda e: e.name)
        except OSError:  # unreadable folder: skipped, as os.walk does
            continue
        names, subdirs = [], []
        for entry in entries:
            target = os.path.join(real, entry.name)
            if entry.is_symlink():
                target = os.path.realpath(entry.path)
                problem = _link_problem(target, root, home)
                if problem:
                    not_followed.append((entry.path, problem))
                    continue
            if entry.is_dir():
                subdirs.append((entry.path, target))
            elif not entry.name.startswith("."):
                if target in seen_files:
                    not_followed.append((entry.path, "is a file already listed"))
                    continue
                seen_files.add(target)
                names.append(entry.path)
        groups.append((top, names))
        stack.extend(reversed(subdirs))
    return [path for _, names in sorted(groups) for path in names]


def split(paths, labels, validation_split, subset, seed):
    """Keras's deterministic split: shuffle with `seed`, last part = val.

    The validation part has `int(validation_split * n)` files, as in Keras;
    a split that rounds down to no file is an error rather than an empty
    subset.
    """
    if not validation_split:
        if subset is not None:
            raise ValueError("`subset` needs `validation_split`.")
        return paths, labels
    if not isinstance(validation_split, numbers.Real) or not 0 < validation_split < 1:
        raise ValueError(f"`validation_split` must be in (0, 1). Received: {validation_split!r}")
    if subset not in ("training", "validation"):
        raise ValueError(
            "With validation_split, `subset` must be 'training' or "
            f"'validation'. Received: subset={subset!r}"
        )
    if seed is None:
        raise ValueError(
            "With validation_split, pass the same `seed` for both subsets so they do not overlap."
        )
    order = list(range(len(paths)))
    random.Random(seed).shuffle(order)
    n_val = int(validation_split * len(order))
    if n_val == 0 and order:
        raise ValueError(
            f"`validation_split`={validation_split} of {len(order)} image(s) "
            "selects no validation image (the count rounds down). Use a "
            f"validation_split of at least {1 / len(order):.3g} or more images."
        )
    chosen = order[-n_val:] if subset == "validation" else order[:-n_val]
    chosen = sorted(chosen)
    return [paths[i] for i in chosen], [labels[i] for i in chosen]
