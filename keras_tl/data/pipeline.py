"""The tf.data pipeline shared by the folder, DataFrame and array loaders."""

import collections

from keras_tl.data._tf import require_tensorflow

LABEL_MODES = ("int", "categorical", "binary", None)
COLOR_MODES = {"rgb": 3, "grayscale": 1, "rgba": 4}
INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3")


def check_image_size(image_size):
    if (
        not isinstance(image_size, (tuple, list))
        or len(image_size) != 2
        or not all(isinstance(v, int) and v > 0 for v in image_size)
    ):
        raise ValueError(
            "`image_size` must be (height, width) with positive integers, "
            f"e.g. (224, 224). Received: image_size={image_size!r}"
        )
    return tuple(image_size)


def check_options(label_mode, color_mode, interpolation, batch_size, num_classes):
    if label_mode not in LABEL_MODES:
        raise ValueError(
            f"`label_mode` must be one of {LABEL_MODES}. Received: {label_mode!r}"
        )
    if label_mode == "binary" and num_classes != 2:
        raise ValueError(
            f"label_mode='binary' needs exactly 2 classes; found {num_classes}."
        )
    if color_mode not in COLOR_MODES:
        raise ValueError(
            f"`color_mode` must be one of {tuple(COLOR_MODES)}. Received: "
            f"{color_mode!r}"
        )
    if interpolation not in INTERPOLATIONS:
        raise ValueError(
            f"`interpolation` must be one of {INTERPOLATIONS}. Received: "
            f"{interpolation!r}"
        )
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(
            f"`batch_size` must be a positive integer or None. Received: {batch_size!r}"
        )


def make_augment(augment):
    """A layer from `augment`: a layer, a dict of ImageDataGenerator
    keywords, or None."""
    if augment is None or callable(augment):
        return augment
    if isinstance(augment, dict):
        from keras_tl.layers import ImageDataGeneratorAugmentation

        return ImageDataGeneratorAugmentation(**augment)
    raise ValueError(
        "`augment` must be a Keras layer, a dict of ImageDataGenerator "
        f"keywords, or None. Received: {augment!r}"
    )


def decode_image(tf, contents, image_size, channels, interpolation, fast_jpeg):
    """Decode and resize one image. JPEGs at least twice the target size
    are decoded at 1/2, 1/4 or 1/8 scale in the DCT domain (as PIL's
    `draft()` does): far less work, same result after resizing."""
    height, width = image_size

    def generic():
        image = tf.io.decode_image(
            contents, channels=channels, expand_animations=False
        )
        image.set_shape([None, None, channels])
        return image

    if not fast_jpeg:
        image = generic()
    else:
        def jpeg():
            shape = tf.image.extract_jpeg_shape(contents)
            fits = tf.minimum(shape[0] // height, shape[1] // width)
            branches = [
                lambda r=r: tf.io.decode_jpeg(
                    contents, channels=channels, ratio=r,
                    dct_method="INTEGER_FAST",
                )
                for r in (1, 2, 4, 8)
            ]  # fmt: skip
            index = tf.cast(
                tf.math.floor(tf.math.log(tf.cast(tf.maximum(fits, 1), tf.float32))
                              / tf.math.log(2.0)), tf.int32
            )  # fmt: skip
            image = tf.switch_case(tf.minimum(index, 3), branches)
            image.set_shape([None, None, channels])
            return image

        image = tf.cond(tf.io.is_jpeg(contents), jpeg, generic)
    image = tf.image.resize(image, image_size, method=interpolation)
    image.set_shape([height, width, channels])
    return image


def build(
    paths,
    labels,
    class_names,
    image_size,
    batch_size=32,
    label_mode="int",
    color_mode="rgb",
    shuffle=True,
    seed=None,
    augment=None,
    cache=False,
    interpolation="bilinear",
    fast_jpeg=True,
    prefetch=True,
    skipped=(),
):
    """A batched `tf.data.Dataset` of `(images, labels)` in `[0, 255]`."""
    tf = require_tensorflow("The keras_tl input path")
    autotune = tf.data.AUTOTUNE
    num_classes = len(class_names)
    channels = COLOR_MODES[color_mode]
    augment = make_augment(augment)
    ds = tf.data.Dataset.from_tensor_slices(
        (tf.constant(paths, tf.string), tf.constant(labels, tf.int64))
    )
    # Shuffling file names (not pixels) is free; do it before decoding
    # unless decoded images are cached, when it must come after the cache.
    if shuffle and not cache:
        ds = ds.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)

    def load(path, label):
        image = decode_image(
            tf, tf.io.read_file(path), image_size, channels, interpolation,
            fast_jpeg,
        )  # fmt: skip
        return image, label

    # Out-of-order decoding is faster; keep order when asked not to shuffle.
    ds = ds.map(load, num_parallel_calls=autotune, deterministic=not shuffle)
    if cache:
        ds = ds.cache("" if cache is True else str(cache))
        if shuffle:
            ds = ds.shuffle(min(len(paths), 4096), seed=seed)
    if label_mode == "categorical":
        ds = ds.map(lambda x, y: (x, tf.one_hot(y, num_classes)))
    elif label_mode == "binary":
        ds = ds.map(lambda x, y: (x, tf.cast(tf.expand_dims(y, -1), tf.float32)))
    elif label_mode is None:
        ds = ds.map(lambda x, y: x)
    if batch_size is not None:
        ds = ds.batch(batch_size)
    if augment is not None:
        if label_mode is None:
            ds = ds.map(lambda x: augment(x, training=True), num_parallel_calls=autotune)
        else:
            ds = ds.map(
                lambda x, y: (augment(x, training=True), y),
                num_parallel_calls=autotune,
            )
    if prefetch:
        ds = ds.prefetch(autotune)
    return annotate(ds, class_names, labels, paths, skipped)


def annotate(ds, class_names, labels, paths=None, skipped=()):
    counts = collections.Counter(labels)
    ds.class_names = list(class_names)
    ds.class_counts = {name: counts.get(i, 0) for i, name in enumerate(class_names)}
    ds.file_paths = list(paths) if paths is not None else None
    ds.skipped_files = list(skipped)
    return ds
