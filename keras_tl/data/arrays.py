import math

import numpy as np

import keras

from keras_tl.data import files
from keras_tl.data import pipeline
from keras_tl.data._tf import require_tensorflow


def from_arrays(images, labels=None, batch_size=32, shuffle=True, seed=None,
                augment=None, class_names=None, prefetch=True):  # fmt: skip
    """A `tf.data.Dataset` from NumPy arrays, with optional augmentation.

    Args:
        images: `(n, height, width, channels)` array in `[0, 255]`.
        labels: `(n,)` or `(n, k)` array, or `None`.
        batch_size, shuffle, seed, augment, prefetch: As in
            `image_dataset_from_directory`.
        class_names: Optional names, kept as `dataset.class_names`.
    """
    tf = require_tensorflow("keras_tl.data.from_arrays")
    images = np.asarray(images, dtype="float32")
    augment = pipeline.make_augment(augment)
    tensors = images if labels is None else (images, np.asarray(labels))
    ds = tf.data.Dataset.from_tensor_slices(tensors)
    if shuffle:
        ds = ds.shuffle(len(images), seed=seed)
    ds = ds.batch(batch_size)
    if augment is not None:
        if labels is None:
            ds = ds.map(lambda x: augment(x, training=True))
        else:
            ds = ds.map(lambda x, y: (augment(x, training=True), y))
    if prefetch:
        ds = ds.prefetch(tf.data.AUTOTUNE)
    if class_names is not None or labels is not None:
        flat = np.asarray(labels) if labels is not None else np.zeros(0)
        if flat.ndim == 2:
            flat = flat.argmax(-1)
        names = class_names or [str(i) for i in range(int(flat.max()) + 1)]
        pipeline.annotate(ds, names, flat.astype(int).tolist())
    return ds


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
        **kwargs: `keras.utils.PyDataset` arguments (`workers`, ...).
    """

    def __init__(self, images, labels, batch_size=32, shuffle=True, seed=None,
                 augment=None, on_device=False, **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        self.images = np.asarray(images)
        self.labels = np.asarray(labels)
        self.on_device = on_device
        if len(self.images) != len(self.labels):
            raise ValueError(
                f"{len(self.images)} images but {len(self.labels)} labels."
            )
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.rng = np.random.default_rng(seed)
        self.augment = pipeline.make_augment(augment)
        self.order = np.arange(len(self.images))
        if on_device:
            self.images = keras.ops.convert_to_tensor(self.images)
            self.labels = keras.ops.convert_to_tensor(self.labels)
        self.on_epoch_end()

    def __len__(self):
        return math.ceil(len(self.images) / self.batch_size)

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


def load_image_folder(directory, image_size=(224, 224), color_mode="rgb",
                      class_names=None, on_error="skip"):  # fmt: skip
    """Read a folder of class sub-folders into NumPy arrays, with Pillow
    and no TensorFlow.

    Returns:
        `(images, labels, class_names)`: float32 `[0, 255]` images of
        `image_size`, int labels, and the class names.
    """
    try:
        from PIL import Image
    except ImportError as error:
        raise ImportError(
            "load_image_folder needs Pillow: pip install pillow"
        ) from error
    image_size = pipeline.check_image_size(image_size)
    files.check_on_error(on_error)
    modes = {"rgb": "RGB", "grayscale": "L", "rgba": "RGBA"}
    if color_mode not in modes:
        raise ValueError(
            f"`color_mode` must be one of {tuple(modes)}. Received: {color_mode!r}"
        )
    paths, labels, class_names = files.list_class_folders(str(directory), class_names)
    paths, labels, _ = files.filter_images(paths, labels, on_error)
    images = [read_image(p, image_size, modes[color_mode]) for p in paths]
    return np.stack(images), np.asarray(labels), class_names


def read_image(path, image_size, mode="RGB"):
    """One image file as a float32 `(height, width, channels)` array in
    `[0, 255]`, resized bilinearly with Pillow (no TensorFlow)."""
    from PIL import Image

    with Image.open(path) as img:
        img = img.convert(mode).resize((image_size[1], image_size[0]), Image.BILINEAR)
        array = np.asarray(img, dtype="float32")
    return array[..., None] if array.ndim == 2 else array
