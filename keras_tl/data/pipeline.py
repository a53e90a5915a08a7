"""The tf.data pipeline shared by the folder, DataFrame and array loaders."""

import collections
import numbers
import re
import warnings

from keras_tl.data._tf import require_tensorflow
from keras_tl.distribution import last_batch_plan

LABEL_MODES = ("int", "categorical", "binary", None)
COLOR_MODES = {"rgb": 3, "grayscale": 1, "rgba": 4}
INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3")
# ImageDataGenerator keywords that scale or normalize images rather than
# augment them (see `make_augment`). The layer turns centering on along
# with ZCA and std normalization, so those are looked for first.
STANDARDIZATION = (
    "rescale",
    "zca_whitening",
    "featurewise_std_normalization",
    "samplewise_std_normalization",
    "featurewise_center",
    "samplewise_center",
)


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
        raise ValueError(f"`label_mode` must be one of {LABEL_MODES}. Received: {label_mode!r}")
    if label_mode == "binary" and num_classes != 2:
        raise ValueError(f"label_mode='binary' needs exactly 2 classes; found {num_classes}.")
    if color_mode not in COLOR_MODES:
        raise ValueError(
            f"`color_mode` must be one of {tuple(COLOR_MODES)}. Received: {color_mode!r}"
        )
    if interpolation not in INTERPOLATIONS:
        raise ValueError(
            f"`interpolation` must be one of {INTERPOLATIONS}. Received: {interpolation!r}"
        )
    check_batch_size(batch_size)


def check_batch_size(batch_size, allow_none=True):
    """`batch_size` as an int (or None where allowed), else a ValueError."""
    if batch_size is None and allow_none:
        return None
    if (
        not isinstance(batch_size, numbers.Integral)
        or isinstance(batch_size, bool)
        or batch_size < 1
    ):
        raise ValueError(
            "`batch_size` must be a positive integer"
            + (" or None" if allow_none else "")
            + f". Received: batch_size={batch_size!r}"
        )
    return int(batch_size)


def make_augment(augment, shuffle=True, subset=None, augment_eval=False):
    """A layer from `augment`: a layer, a dict of ImageDataGenerator
    keywords, a list of those (run in order, as a `keras.layers.Pipeline`),
    or None.

    A dataset's `augment` runs on its training batches only, so it must
    not standardize (the model would see differently scaled images at
    inference), and a dataset built for evaluation (`subset="validation"`
    or `shuffle=False`) gets random transforms only with `augment_eval`.
    """
    if augment is None:
        return None
    if isinstance(augment, (list, tuple)):
        import keras

        augment = keras.layers.Pipeline([_as_layer(a) for a in augment])
    augment = _as_layer(augment)
    found = _standardization(augment)
    if found:
        raise ValueError(
            f"`augment` must not standardize images; it sets {found}. A "
            "dataset's augment runs on training batches only. "
            "TransferClassifier takes [0, 255] images and applies the "
            f"backbone's preprocessing; drop {found}, or put standardization "
            "in the model, e.g. TransferClassifier(augmentation=...) / a "
            "layer at the model's input, so training and inference match."
        )
    if not augment_eval and (subset == "validation" or not shuffle):
        built_for = "subset='validation'" if subset == "validation" else "shuffle=False"
        raise ValueError(
            f"`augment` applies random transforms, but this dataset is built "
            f"for evaluation ({built_for}): validation and test images are "
            "normally not augmented. Drop `augment`, or pass "
            "`augment_eval=True` if that is really wanted."
        )
    return augment


def _as_layer(augment):
    if isinstance(augment, dict):
        from keras_tl.layers import ImageDataGeneratorAugmentation

        return ImageDataGeneratorAugmentation(**augment)
    if not callable(augment):
        raise ValueError(
            "`augment` must be a Keras layer, a dict of ImageDataGenerator "
            f"keywords, a list of those, or None. Received: {augment!r}"
        )
    return augment


def _standardization(augment):
    """The standardizing setting in `augment` (a dict of keywords or a
    layer, searched into `layers` of a Sequential/Pipeline), or None."""
    import keras

    from keras_tl.layers import ImageDataGeneratorAugmentation

    if isinstance(augment, (keras.layers.Rescaling, keras.layers.Normalization)):
        return f"a {type(augment).__name__} layer"
    if isinstance(augment, ImageDataGeneratorAugmentation):
        augment = {key: getattr(augment, key) for key in STANDARDIZATION}
    if not isinstance(augment, dict):
        inner = (_standardization(layer) for layer in getattr(augment, "layers", ()))
        return next((found for found in inner if found), None)
    for key in STANDARDIZATION:
        value = augment.get(key)
        if value and (key != "rescale" or value != 1):
            return f"{key}={value!r}"
    return None


def decode_image(tf, contents, image_size, channels, interpolation, fast_jpeg):
    """Decode and resize one image. JPEGs at least twice the target size
    are decoded at 1/2, 1/4 or 1/8 scale in the DCT domain (as PIL's
    `draft()` does): far less work, same result after resizing."""
    height, width = image_size

    def jpeg():
        if not fast_jpeg:
            return _decode_jpeg(tf, contents, channels)
        shape = tf.image.extract_jpeg_shape(contents)
        fits = tf.minimum(shape[0] // height, shape[1] // width)
        branches = [
            lambda r=r: _decode_jpeg(tf, contents, channels, ratio=r, fast=True)
            for r in (1, 2, 4, 8)
        ]
        index = tf.cast(
            tf.math.floor(tf.math.log(tf.cast(tf.maximum(fits, 1), tf.float32)) / tf.math.log(2.0)),
            tf.int32,
        )
        return tf.switch_case(tf.minimum(index, 3), branches)

    image = tf.cond(tf.io.is_jpeg(contents), jpeg, lambda: _decode_other(tf, contents, channels))
    image = tf.image.resize(image, image_size, method=interpolation)
    image.set_shape([height, width, channels])
    return image


def _decode_jpeg(tf, contents, channels, ratio=1, fast=False):
    # JPEG has no alpha channel: TF refuses channels=4, so add an opaque one.
    image = tf.io.decode_jpeg(
        contents,
        channels=min(channels, 3),
        ratio=ratio,
        dct_method="INTEGER_FAST" if fast else "",
    )
    if channels == 4:
        image = _to_channels(tf, image, 4)
    image.set_shape([None, None, channels])
    return image


def _decode_other(tf, contents, channels):
    """PNG, GIF, BMP and WebP as uint8 with `channels`. They are decoded
    with their own channels and converted here: TF's GIF and WebP decoders
    refuse any other count (an RGBA WebP in RGB, any GIF in grayscale)."""
    image = tf.cond(
        _is_palette_bmp(tf, contents),
        lambda: _decode_palette_bmp(tf, contents),
        lambda: tf.io.decode_image(contents, expand_animations=False),
    )
    image = _to_channels(tf, image, channels)
    image.set_shape([None, None, channels])
    return image


def _to_channels(tf, image, channels):
    """Gray, gray+alpha, RGB or RGBA `image` with `channels` channels, as
    Pillow's `convert("L" / "RGB" / "RGBA")` does."""
    n = tf.shape(image)[-1]
    rgb = tf.cond(n >= 3, lambda: image[..., :3], lambda: tf.tile(image[..., :1], [1, 1, 3]))
    if channels == 3:
        return rgb
    if channels == 1:  # ITU-R 601-2 luma, rounded as Pillow does
        luma = tf.reduce_sum(
            tf.cast(rgb, tf.int32) * tf.constant([19595, 38470, 7471]),
            -1,
            keepdims=True,
        )
        return tf.cast((luma + 32768) // 65536, tf.uint8)
    alpha = tf.cond(
        n % 2 == 0,
        lambda: image[..., -1:],
        lambda: tf.fill(tf.shape(image[..., :1]), tf.constant(255, tf.uint8)),
    )
    return tf.concat([rgb, alpha], -1)


def _bmp_field(tf, contents, offset, dtype):
    # Padded so a file shorter than the header reads zeros, not an error.
    head = tf.strings.join([tf.strings.substr(contents, 0, 54), "\0" * 54])
    return tf.io.decode_raw(tf.strings.substr(head, offset, dtype.size), dtype)[0]


def _is_palette_bmp(tf, contents):
    return tf.logical_and(
        tf.strings.substr(contents, 0, 2) == "BM",
        tf.logical_and(
            tf.equal(_bmp_field(tf, contents, 28, tf.uint16), 8),  # bits/pixel
            _bmp_field(tf, contents, 14, tf.int32) >= 40,  # a Windows header
        ),
    )


def _decode_palette_bmp(tf, contents):
    """An 8-bit BMP as RGB. `tf.io.decode_bmp` returns its palette indices
    as gray levels; look the colours up in the palette (B, G, R, 0 entries
    after the header)."""
    used = _bmp_field(tf, contents, 46, tf.int32)
    count = tf.where(tf.logical_and(used > 0, used < 256), used, 256)
    start = 14 + _bmp_field(tf, contents, 14, tf.int32)
    palette = tf.reshape(
        tf.io.decode_raw(tf.strings.substr(contents, start, 4 * count), tf.uint8),
        [-1, 4],
    )
    indices = tf.cast(tf.io.decode_bmp(contents, channels=0)[..., 0], tf.int32)
    return tf.gather(tf.reverse(palette[:, :3], [1]), indices)


def decode_errors(paths, channels=3):
    """`{index: reason}` for the files in `paths` that TensorFlow cannot
    decode (a corrupt JPEG body passes the header check), from one
    parallel tf.data pass. JPEGs are decoded at 1/8 scale: the whole
    entropy-coded scan, where corruption shows, is still read."""
    tf = require_tensorflow("The keras_tl input path")
    table = tf.constant(paths, tf.string)

    def decode(i):
        contents = tf.io.read_file(table[i])
        image = tf.cond(
            tf.io.is_jpeg(contents),
            lambda: _decode_jpeg(tf, contents, channels, ratio=8, fast=True),
            lambda: _decode_other(tf, contents, channels),
        )
        # The shape is returned so that the decoding cannot be pruned.
        return i, tf.shape(image)

    ds = tf.data.Dataset.range(len(paths)).map(
        decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=False
    )
    decoded = set()
    for i, _ in ds.ignore_errors().batch(4096):
        decoded.update(i.numpy().tolist())
    errors = {}
    for i in sorted(set(range(len(paths))) - decoded):
        reason = "cannot be decoded"
        try:  # again, eagerly, for TensorFlow's message
            decode(tf.constant(i, tf.int64))
        except tf.errors.OpError as error:
            message = re.sub(r"\{\{.*?\}\}\s*|\s*\[Op:.*", "", error.message)
            reason += f" ({message.strip()})"
        errors[i] = reason
    return errors


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
    subset=None,
    augment_eval=False,
    drop_remainder=None,
):
    """A batched `tf.data.Dataset` of `(images, labels)` in `[0, 255]`."""
    tf = require_tensorflow("The keras_tl input path")
    autotune = tf.data.AUTOTUNE
    num_classes = len(class_names)
    channels = COLOR_MODES[color_mode]
    augment = make_augment(augment, shuffle, subset, augment_eval)
    ds = tf.data.Dataset.from_tensor_slices(
        (tf.constant(paths, tf.string), tf.constant(labels, tf.int64))
    )
    # Shuffling file names (not pixels) is free; do it before decoding
    # unless decoded images are cached, when it must come after the cache.
    if shuffle and not cache:
        ds = ds.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)

    def load(path, label):
        image = decode_image(
            tf,
            tf.io.read_file(path),
            image_size,
            channels,
            interpolation,
            fast_jpeg,
        )
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
    ds = finish(
        tf,
        ds,
        len(paths),
        batch_size,
        augment,
        shuffle,
        labeled=label_mode is not None,
        prefetch=prefetch,
        drop_remainder=drop_remainder,
    )
    return annotate(ds, class_names, labels, paths, skipped)


def finish(tf, ds, count, batch_size, augment, shuffle, labeled, prefetch, drop_remainder=None):
    """Batch, augment per batch, prefetch: the tail every loader shares.

    `batch_size` is the global batch. Under a `keras.distribution` that
    splits batches across N devices (JAX), every batch must divide by N, and
    under an open `tf.distribute` scope no replica may get an empty batch:
    `drop_remainder=None` then drops the last partial batch of a training
    set (`shuffle=True`; a different partial batch is dropped each epoch) and
    keeps every image of an evaluation set, padding its last batch with
    copies that carry a sample weight of 0 — `(images, labels, weights)` —
    so `evaluate()` and `keras_tl.evaluation` count each real image once.
    """
    if batch_size is None:
        if drop_remainder:
            raise ValueError("`drop_remainder=True` needs a `batch_size`.")
    else:
        drop_remainder, pad, replicas = last_batch_plan(count, batch_size, shuffle, drop_remainder)
        if pad and not labeled:
            raise ValueError(
                f"An images-only dataset of {count} images in batches of "
                f"{batch_size} ends with a batch that does not split across "
                f"{replicas} devices. Pass drop_remainder=True, a batch_size "
                f"that divides {count}, or predict on arrays with "
                "TransferClassifier.predict, which pads and trims them."
            )
        if pad:
            ds = _pad_with_zero_weights(tf, ds, pad)
            warnings.warn(
                f"The last batch of this evaluation set is padded with {pad} "
                f"zero-weight copies so that {replicas} devices can split it. "
                "The loss and keras_tl.evaluation skip them; Keras counts them "
                "in `metrics=` but not in `weighted_metrics=`: compile with "
                "weighted_metrics=['accuracy', ...] for exact figures.",
                stacklevel=3,
            )
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    if augment is not None:

        def run(x, *rest):
            return (augment(x, training=True), *rest) if rest else augment(x, training=True)

        ds = ds.map(run, num_parallel_calls=tf.data.AUTOTUNE)
    if prefetch:
        ds = ds.prefetch(tf.data.AUTOTUNE)
    return ds


def _pad_with_zero_weights(tf, ds, pad):
    """Append `pad` copies of the first element with weight 0; real
    elements get weight 1."""
    ds = ds.map(lambda x, y: (x, y, tf.constant(1.0)))
    filler = ds.take(1).map(lambda x, y, w: (x, y, tf.constant(0.0))).repeat(pad)
    return ds.concatenate(filler)


def annotate(ds, class_names, labels, paths=None, skipped=()):
    counts = collections.Counter(labels)
    ds.class_names = list(class_names)
    ds.class_counts = {name: counts.get(i, 0) for i, name in enumerate(class_names)}
    ds.file_paths = list(paths) if paths is not None else None
    ds.skipped_files = list(skipped)
    return ds
