"""NumPy arrays in, with or without TensorFlow: `from_arrays` (tf.data),
`ArrayDataset` and `load_image_folder` (Pillow, no TensorFlow)."""

import math
import warnings

import numpy as np

import keras

from keras_tl.data import files
from keras_tl.data import pipeline
from keras_tl.data._tf import require_tensorflow
from keras_tl.data.class_weights import class_indices
from keras_tl.distribution import last_batch_plan


def from_arrays(
    images,
    labels=None,
    batch_size=32,
    shuffle=True,
    seed=None,
    augment=None,
    class_names=None,
    prefetch=True,
    augment_eval=False,
    drop_remainder=None,
):
    """A `tf.data.Dataset` from NumPy arrays, with optional augmentation.

    Args:
        images: `(n, height, width, channels)` array in `[0, 255]`.
        labels: `(n,)` class indices or `(n, k)` one-hot array, or `None`.
        batch_size, shuffle, seed, augment, prefetch, augment_eval,
            drop_remainder: As in `image_dataset_from_directory`.
        class_names: Optional names, kept as `dataset.class_names`; labels
            must then be in `[0, len(class_names))`.
    """
    tf = require_tensorflow("keras_tl.data.from_arrays")
    images = check_images(images).astype("float32", copy=False)
    batch_size = pipeline.check_batch_size(batch_size)
    augment = pipeline.make_augment(augment, shuffle, augment_eval=augment_eval)
    if labels is not None:
        labels = np.asarray(labels)
        check_lengths(images, labels)
        flat = class_indices(labels, len(class_names) if class_names else None)
    tensors = images if labels is None else (images, labels)
    ds = tf.data.Dataset.from_tensor_slices(tensors)
    if shuffle:
        ds = ds.shuffle(len(images), seed=seed)
    ds = pipeline.finish(
        tf,
        ds,
        len(images),
        batch_size,
        augment,
        shuffle,
        labeled=labels is not None,
        prefetch=prefetch,
        drop_remainder=drop_remainder,
    )
    if class_names is not None or labels is not None:
        flat = flat if labels is not None else np.zeros(0, int)
        names = class_names or [str(i) for i in range(int(flat.max()) + 1)]
        pipeline.annotate(ds, names, flat.tolist())
    return ds


def check_images(images):
    """`images` as an `(n, height, width, channels)` array, checked: a
    ValueError for any other shape, no images, NaN or inf, and a warning
    for floats in [0, 1] where [0, 255] is expected."""
    try:
        images = np.asarray(images)
    except ValueError:  # a ragged list
        raise ValueError(
            "`images` must be one array of images of equal size, shape "
            "(N, height, width, channels); resize them to one size first."
        ) from None
    if images.ndim != 4:
        raise ValueError(
            "`images` must have shape (N, height, width, channels). Received "
            f"shape {images.shape}. For one image pass images[None]; for "
            "grayscale without a channel axis pass images[..., None]."
        )
    if len(images) == 0:
        raise ValueError(f"`images` is empty (shape {images.shape}).")
    if np.issubdtype(images.dtype, np.floating):
        # A float64 sum (no temporary the size of the images) is finite
        # unless some value is NaN or inf; count them only then.
        if not np.isfinite(images.sum(dtype="float64")):
            bad = np.size(images) - np.count_nonzero(np.isfinite(images))
            if bad:
                raise ValueError(f"`images` must be finite; {bad} values are NaN or infinite.")
        if images.min() >= 0 and images.max() <= 1:
            warnings.warn(
                "`images` are floats in [0, 1], but the model expects [0, 255] "
                "(TransferClassifier applies the backbone's preprocessing "
                "itself). If they were scaled down, pass images * 255.",
                stacklevel=3,
            )
    return images


def check_lengths(images, labels):
    if len(images) != len(labels):
        raise ValueError(
            "`images` and `labels` must have the same length; got "
            f"{len(images)} images and {len(labels)} labels."
        )


class ArrayDataset(keras.utils.PyDataset):
    """Batches from NumPy arrays with augmentation, and no TensorFlow.

    The input path for a JAX-only machine: `model.fit(ArrayDataset(...))`.
    Augmentation layers run on the active backend. With `on_device=True`
    the (decoded, cached) images are copied to the accelerator once and
    each batch is gathered there: no host-to-device copy per step. Keep
    images as uint8 (4x less memory) and put the augmentation inside the
    model (`TransferClassifier(augmentation=...)`) so it is compiled into
    the train step.

    Args:
        images: `(n, height, width, channels)` array in `[0, 255]`.
        labels: `(n,)` or `(n, k)` array.
        batch_size: Batch size.
        shuffle: Reshuffle every epoch.
        seed: Shuffle seed.
        augment: A layer or a dict of `ImageDataGenerator` keywords.
        on_device: Keep the arrays on the default accelerator.
        augment_eval: Allow `augment` with `shuffle=False` (an evaluation
            set), refused otherwise.
        drop_remainder: Drop the last partial batch. `None`: only for a
            training set (`shuffle=True`) under a `keras.distribution` that
            splits batches across devices, which needs even batches; an
            evaluation set there must have a length whose last batch splits
            evenly (an error says so).
        **kwargs: `keras.utils.PyDataset` arguments (`workers`, ...).
    """

    def __init__(
        self,
        images,
        labels,
        batch_size=32,
        shuffle=True,
        seed=None,
        augment=None,
        on_device=False,
        augment_eval=False,
        drop_remainder=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.images = check_images(images)
        self.labels = np.asarray(labels)
        self.on_device = on_device
        check_lengths(self.images, self.labels)
        class_indices(self.labels)
        self.batch_size = pipeline.check_batch_size(batch_size, allow_none=False)
        self.shuffle = shuffle
        self.rng = np.random.default_rng(seed)
        self.augment = pipeline.make_augment(augment, shuffle, augment_eval=augment_eval)
        self.order = np.arange(len(self.images))
        self.drop_remainder = _array_drop_remainder(
            len(self.images), self.batch_size, shuffle, drop_remainder
        )
        if on_device:
            self.images = keras.ops.convert_to_tensor(self.images)
            self.labels = keras.ops.convert_to_tensor(self.labels)
        self.on_epoch_end()

    def __len__(self):
        batches = len(self.images) / self.batch_size
        return math.floor(batches) if self.drop_remainder else math.ceil(batches)

    def __getitem__(self, index):
        rows = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        if self.on_device:
            rows = keras.ops.convert_to_tensor(rows)
            x = keras.ops.take(self.images, rows, axis=0)
            y = keras.ops.take(self.labels, rows, axis=0)
        else:
            x, y = self.images[rows], self.labels[rows]
        if self.augment is not None:
            x = self.augment(x, training=True)
        return x, y

    def on_epoch_end(self):
        if self.shuffle:
            self.rng.shuffle(self.order)


def _array_drop_remainder(count, batch_size, shuffle, drop_remainder):
    drop_remainder, pad, replicas = last_batch_plan(count, batch_size, shuffle, drop_remainder)
    if pad:  # a PyDataset cannot add sample weights to one batch
        raise ValueError(
            f"{count} images in batches of {batch_size} end with a batch of "
            f"{count % batch_size}, which does not split across "
            f"{replicas} devices. Pass drop_remainder=True, or "
            "use keras_tl.data.from_arrays, which pads an evaluation set's "
            "last batch with zero-weight images."
        )
    return drop_remainder


def load_image_folder(
    directory, image_size=(224, 224), color_mode="rgb", class_names=None, on_error="skip"
):
    """Read a folder of class sub-folders into NumPy arrays, with Pillow
    and no TensorFlow.

    Returns:
        `(images, labels, class_names)`: float32 `[0, 255]` images of
        `image_size`, int labels, and the class names.
    """
    try:
        from PIL import Image  # noqa: F401  (a clear error before any work)
    except ImportError as error:
        raise ImportError("load_image_folder needs Pillow: pip install pillow") from error
    image_size = pipeline.check_image_size(image_size)
    files.check_on_error(on_error)
    modes = {"rgb": "RGB", "grayscale": "L", "rgba": "RGBA"}
    if color_mode not in modes:
        raise ValueError(f"`color_mode` must be one of {tuple(modes)}. Received: {color_mode!r}")
    paths, labels, class_names = files.list_class_folders(str(directory), class_names)
    images = []

    def decode_errors(kept):
        # The check is the loading: each file is decoded once. Pillow
        # raises OSError, or SyntaxError for e.g. a PNG chunk's bad CRC.
        errors = {}
        for i, path in enumerate(kept):
            try:
                images.append(read_image(path, image_size, modes[color_mode]))
            except (OSError, SyntaxError, ValueError) as error:
                errors[i] = f"cannot be decoded ({error})"
        return errors

    paths, labels, _ = files.filter_images(paths, labels, on_error, decode_errors)
    if not images:
        raise ValueError(f"No readable images found in {str(directory)!r}.")
    return np.stack(images), np.asarray(labels), class_names


def read_image(path, image_size, mode="RGB"):
    """One image file as a float32 `(height, width, channels)` array in
    `[0, 255]`, resized bilinearly with Pillow (no TensorFlow)."""
    from PIL import Image

    with Image.open(path) as img:
        if img.mode.startswith("I"):
            # 16-bit grayscale PNG ("I;16" or "I"): convert() would clip
            # every value above 255 to white; scale 0-65535 to 0-255.
            levels = np.asarray(img, dtype="float32") / 257.0
            img = Image.fromarray(np.clip(levels.round(), 0, 255).astype("uint8"))
        img = img.convert(mode).resize((image_size[1], image_size[0]), Image.BILINEAR)
        array = np.asarray(img, dtype="float32")
    return array[..., None] if array.ndim == 2 else array
