import math
import warnings

import numpy as np

import keras
from keras import ops

try:  # Keras's base for layers that also run inside tf.data / grain.
    from keras.src.layers.preprocessing.data_layer import DataLayer
except ImportError:  # pragma: no cover - older Keras 3
    from keras.src.layers.preprocessing.tf_data_layer import (
        TFDataLayer as DataLayer,
    )
from keras.src.random.seed_generator import SeedGenerator

from keras_tl.layers.resampling import affine_resample

FILL_MODES = ("nearest", "constant", "reflect", "wrap")
UNSUPPORTED = {
    "preprocessing_function": (
        "a Python function cannot be saved with the layer; apply it in your "
        "tf.data map, or wrap it in a registered keras layer placed before "
        "this one"
    ),
    "validation_split": (
        "splitting is the input path's job: use keras_tl.data."
        "image_dataset_from_directory(..., validation_split=0.2, "
        "subset='training'|'validation', seed=...)"
    ),
}


@keras.saving.register_keras_serializable(package="keras_tl")
class ImageDataGeneratorAugmentation(DataLayer):
    """`ImageDataGenerator`'s augmentation, as one Keras 3 layer.

    Takes every `ImageDataGenerator` keyword with the same meaning, so a
    Keras 2 recipe moves over by changing one name. The geometric
    arguments (rotation, shifts, shear, zoom) are fused into **one** affine
    resampling per image, as `ImageDataGenerator` itself does — not four,
    as a chain of `RandomRotation`, `RandomTranslation`, `RandomShear` and
    `RandomZoom` would. Random transforms run only when `training=True`;
    standardization (`rescale`, centering, normalization, ZCA) runs always,
    as it did for the validation generator. Works inside a model, in a
    `tf.data` map (on any backend) and on JAX arrays.

    Order of operations, as in `ImageDataGenerator.flow`: affine transform
    → channel shift → flips → brightness → rescale → sample-wise
    centering/normalization → feature-wise centering/normalization → ZCA.

    Args:
        rotation_range: Degrees; angle drawn from `[-r, r]`.
        width_shift_range, height_shift_range: A float below 1 is a fraction
            of the width/height (shift drawn from `[-f, f]`); a float >= 1 is
            pixels from `[-p, p]`; an int `n` draws whole pixels from
            `{-(n-1), ..., n-1}`; a list draws one of its values with a
            random sign.
        shear_range: Shear angle in degrees, drawn from `[-s, s]`.
        zoom_range: A float `z` means `[1 - z, 1 + z]`, or `[lower, upper]`.
            Height and width factors are drawn independently. A factor above
            1 zooms *out* (shows more of the image), as in
            `ImageDataGenerator`.
        horizontal_flip, vertical_flip: Flip with probability 0.5.
        brightness_range: `(lo, hi)`: multiply the image by a factor from
            that range, clipped to `[0, 255]`.
        channel_shift_range: Add one offset from `[-c, c]` to all channels,
            clipped to the image's own min and max.
        fill_mode: `"nearest"`, `"constant"`, `"reflect"` or `"wrap"`.
        cval: Fill value for `fill_mode="constant"`.
        interpolation_order: 0 (nearest) or 1 (bilinear).
        rescale: Multiply by this after the random transforms.
        samplewise_center, samplewise_std_normalization: Per-image mean and
            std over all pixels and channels.
        featurewise_center, featurewise_std_normalization: Per-channel mean
            and std learned by `adapt(data)`.
        zca_whitening: ZCA whitening learned by `adapt(data)`.
        zca_epsilon: Epsilon of the ZCA.
        data_format: Only `"channels_last"` is supported.
        seed: Seed for the random transforms.
        **kwargs: Base layer arguments (`name`, `dtype`).

    Example:

    ```python
    # Keras 2:  ImageDataGenerator(rotation_range=40, width_shift_range=0.2,
    #                              shear_range=0.2, zoom_range=0.2,
    #                              horizontal_flip=True, fill_mode="nearest")
    augment = keras_tl.layers.ImageDataGeneratorAugmentation(
        rotation_range=40, width_shift_range=0.2, shear_range=0.2,
        zoom_range=0.2, horizontal_flip=True, fill_mode="nearest", seed=1)
    train_ds = train_ds.map(lambda x, y: (augment(x, training=True), y))
    ```
    """

    def __init__(
        self,
        featurewise_center=False,
        samplewise_center=False,
        featurewise_std_normalization=False,
        samplewise_std_normalization=False,
        zca_whitening=False,
        zca_epsilon=1e-6,
        rotation_range=0.0,
        width_shift_range=0.0,
        height_shift_range=0.0,
        brightness_range=None,
        shear_range=0.0,
        zoom_range=0.0,
        channel_shift_range=0.0,
        fill_mode="nearest",
        cval=0.0,
        horizontal_flip=False,
        vertical_flip=False,
        rescale=None,
        interpolation_order=1,
        data_format=None,
        seed=None,
        **kwargs,
    ):
        for name, why in UNSUPPORTED.items():
            if kwargs.pop(name, None):
                raise ValueError(f"`{name}` is not supported here: {why}.")
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last"):
            raise ValueError(
                "`data_format` must be 'channels_last' (or None). Received: "
                f"data_format={data_format!r}"
            )
        if fill_mode not in FILL_MODES:
            raise ValueError(
                f"`fill_mode` must be one of {FILL_MODES}. Received: "
                f"fill_mode={fill_mode!r}"
            )
        if interpolation_order not in (0, 1):
            raise ValueError(
                "`interpolation_order` must be 0 (nearest) or 1 (bilinear); "
                "spline orders 2-5 of scipy have no GPU-friendly equivalent. "
                f"Received: interpolation_order={interpolation_order!r}"
            )
        for name, value in (
            ("rotation_range", rotation_range),
            ("shear_range", shear_range),
            ("channel_shift_range", channel_shift_range),
        ):
            if not _is_number(value) or value < 0:
                raise ValueError(
                    f"`{name}` must be a number >= 0. Received: {name}={value!r}"
                )
        self.width_shift_range = _check_shift("width_shift_range", width_shift_range)
        self.height_shift_range = _check_shift("height_shift_range", height_shift_range)
        self.zoom_range = _check_zoom(zoom_range)
        for name, value in (("cval", cval), ("zca_epsilon", zca_epsilon)):
            if not _is_number(value):
                raise ValueError(
                    f"`{name}` must be a number. Received: {name}={value!r}"
                )
        if rescale is not None and (not _is_number(rescale) or rescale < 0):
            raise ValueError(
                "`rescale` must be None or a number >= 0, e.g. 1/255 (written "
                f"as a number, not a string). Received: rescale={rescale!r}"
            )
        for name, value in (
            ("featurewise_center", featurewise_center),
            ("samplewise_center", samplewise_center),
            ("featurewise_std_normalization", featurewise_std_normalization),
            ("samplewise_std_normalization", samplewise_std_normalization),
            ("zca_whitening", zca_whitening),
            ("horizontal_flip", horizontal_flip),
            ("vertical_flip", vertical_flip),
        ):
            if not isinstance(value, (bool, np.bool_)) and value not in (0, 1):
                raise ValueError(
                    f"`{name}` must be True or False. Received: {name}={value!r}"
                )
        if brightness_range is not None:
            if (
                not isinstance(brightness_range, (list, tuple, np.ndarray))
                or len(brightness_range) != 2
                or not all(_is_number(b) for b in brightness_range)
                or not 0 <= brightness_range[0] <= brightness_range[1]
            ):
                raise ValueError(
                    "`brightness_range` must be (lo, hi) with 0 <= lo <= hi, "
                    f"e.g. (0.8, 1.2). Received: {brightness_range!r}"
                )
            brightness_range = tuple(float(b) for b in brightness_range)
        # ImageDataGenerator turns centering on for ZCA and std
        # normalization ("overrides setting of ...").
        self.featurewise_center = bool(
            featurewise_center or zca_whitening or featurewise_std_normalization
        )
        self.samplewise_center = bool(
            samplewise_center or samplewise_std_normalization
        )
        # ... and turns std normalization off, as it does.
        self.featurewise_std_normalization = bool(
            featurewise_std_normalization and not zca_whitening
        )
        self.samplewise_std_normalization = bool(samplewise_std_normalization)
        self.zca_whitening = bool(zca_whitening)
        self.zca_epsilon = float(zca_epsilon)
        self.rotation_range = float(rotation_range)
        self.brightness_range = brightness_range
        self.shear_range = float(shear_range)
        self.channel_shift_range = float(channel_shift_range)
        self.fill_mode = fill_mode
        self.cval = float(cval)
        self.horizontal_flip = bool(horizontal_flip)
        self.vertical_flip = bool(vertical_flip)
        self.rescale = None if rescale is None else float(rescale)
        self.interpolation_order = interpolation_order
        self.seed = seed
        self.generator = SeedGenerator(seed)
        self._needs_adapt = (
            self.featurewise_center
            or self.featurewise_std_normalization
            or self.zca_whitening
        )
        self._adapted = False

    # Shapes and learned statistics ---------------------------------------

    def build(self, input_shape):
        if input_shape is None:  # inside tf.data on another backend
            if self._needs_adapt:
                raise ValueError(
                    "Call adapt(images) (or build(input_shape)) before using "
                    "feature-wise statistics or ZCA inside tf.data."
                )
            self.built = True
            return
        channels = input_shape[-1]
        if self._needs_adapt:
            self.mean = self.add_weight(
                shape=(channels,), initializer="zeros", trainable=False,
                name="mean",
            )  # fmt: skip
            self.std = self.add_weight(
                shape=(channels,), initializer="ones", trainable=False,
                name="std",
            )  # fmt: skip
        if self.zca_whitening:
            if None in tuple(input_shape[-3:]):
                raise ValueError(
                    "zca_whitening needs a fixed image size; build the layer "
                    "with input_shape=(height, width, channels)."
                )
            dim = int(np.prod(input_shape[-3:]))
            self.principal_components = self.add_weight(
                shape=(dim, dim), initializer="identity", trainable=False,
                name="principal_components",
            )  # fmt: skip
        self.built = True

    def adapt(self, data):
        """Learn feature-wise mean/std and ZCA, as `ImageDataGenerator.fit`.

        Args:
            data: A NumPy array of images `(n, h, w, c)` or an iterable of
                batches (e.g. a `tf.data.Dataset` of images or of
                `(images, labels)`).
        """
        x = _collect(data)
        if x.ndim != 4:
            raise ValueError(
                "adapt() takes images of shape (n, height, width, channels). "
                f"Received: shape {x.shape}"
            )
        x = x.astype("float64")
        if not self.built:
            self.build(x.shape)
        if self.rescale:
            x = x * self.rescale
        if self.featurewise_center:
            mean = x.mean(axis=(0, 1, 2))
            self.mean.assign(mean.astype("float32"))
            x = x - mean
        if self.featurewise_std_normalization:
            std = x.std(axis=(0, 1, 2))
            self.std.assign(std.astype("float32"))
            x = x / (std + 1e-6)
        if self.zca_whitening:
            # ImageDataGenerator.fit's formula, epsilon placement included.
            flat = x.reshape(len(x), -1)
            u, s, _ = np.linalg.svd(flat.T, full_matrices=False)
            components = (u * (np.sqrt(len(x)) / (s + self.zca_epsilon))) @ u.T
            self.principal_components.assign(components.astype("float32"))
        self._adapted = True

    def load_own_variables(self, store):
        super().load_own_variables(store)
        self._adapted = True  # saved statistics are adapted ones

    # Random parameters -----------------------------------------------------

    def _uniform(self, n, low, high, seed):
        return self.backend.random.uniform((n,), low, high, seed=seed)

    def _shift(self, spec, n, size, seed):
        b = self.backend
        if spec == 0:
            return b.numpy.zeros((n,))
        sign = b.numpy.where(
            self._uniform(n, 0.0, 1.0, seed) < 0.5, -1.0, 1.0
        )
        if isinstance(spec, float):
            values = self._uniform(n, -spec, spec, seed)
            sign = 1.0
        elif isinstance(spec, int):
            values = b.cast(
                b.random.randint((n,), 0, spec, seed=seed), "float32"
            )
        else:
            choices = b.convert_to_tensor(list(spec), dtype="float32")
            index = b.random.randint((n,), 0, len(spec), seed=seed)
            values = b.numpy.take(choices, index)
        values = values * sign
        if max(abs(v) for v in np.ravel(spec)) < 1:
            values = values * b.cast(size, "float32")
        return values

    def get_random_transformation(self, images, seed=None):
        b = self.backend
        shape = b.core.shape(images)
        n, height, width = shape[0], shape[1], shape[2]
        seed = seed if seed is not None else self._get_seed_generator(b._backend)
        zeros, ones = b.numpy.zeros((n,)), b.numpy.ones((n,))
        t = {}
        if self.has_geometry:
            t["theta"] = (
                self._uniform(n, -self.rotation_range, self.rotation_range, seed)
                if self.rotation_range else zeros
            )  # fmt: skip
            t["shift_x"] = self._shift(self.width_shift_range, n, width, seed)
            t["shift_y"] = self._shift(self.height_shift_range, n, height, seed)
            t["shear"] = (
                self._uniform(n, -self.shear_range, self.shear_range, seed)
                if self.shear_range else zeros
            )  # fmt: skip
            lo, hi = self.zoom_range
            if (lo, hi) == (1.0, 1.0):
                t["zoom_x"], t["zoom_y"] = ones, ones
            else:
                t["zoom_x"] = self._uniform(n, lo, hi, seed)
                t["zoom_y"] = self._uniform(n, lo, hi, seed)
        coin = lambda p: self._uniform(n, 0.0, 1.0, seed) < 0.5 if p else None
        t["flip_h"] = coin(self.horizontal_flip)
        t["flip_v"] = coin(self.vertical_flip)
        t["channel_shift"] = (
            self._uniform(n, -self.channel_shift_range, self.channel_shift_range, seed)
            if self.channel_shift_range else None
        )  # fmt: skip
        t["brightness"] = (
            self._uniform(n, *self.brightness_range, seed)
            if self.brightness_range else None
        )  # fmt: skip
        return t

    @property
    def has_geometry(self):
        return bool(
            self.rotation_range or self.shear_range
            or self.width_shift_range or self.height_shift_range
            or self.zoom_range != (1.0, 1.0)
        )  # fmt: skip

    def affine_matrices(self, t, height, width):
        """Per-image output->input maps, flattened as `affine_transform`
        takes them. Built as ImageDataGenerator does: rotation @ shift @
        shear @ zoom, about the image centre."""
        b = self.backend
        np_ = b.numpy
        n = b.core.shape(t["theta"])[0]
        get = lambda k, d: b.cast(t[k], "float32") if k in t else d * np_.ones((n,))
        theta = get("theta", 0.0) * (math.pi / 180.0)
        shear = get("shear", 0.0) * (math.pi / 180.0)
        cos, sin = np_.cos(theta), np_.sin(theta)
        sh_sin, sh_cos = np_.sin(shear), np_.cos(shear)
        zx, zy = get("zoom_x", 1.0), get("zoom_y", 1.0)
        tx, ty = get("shift_x", 0.0), get("shift_y", 0.0)
        # M = R @ T @ Sh @ Z, in (x=column, y=row) coordinates.
        a0 = cos * zx
        a1 = (-cos * sh_sin - sin * sh_cos) * zy
        a2 = cos * tx - sin * ty
        b0 = sin * zx
        b1 = (-sin * sh_sin + cos * sh_cos) * zy
        b2 = sin * tx + cos * ty
        cx = (b.cast(width, "float32") - 1.0) / 2.0
        cy = (b.cast(height, "float32") - 1.0) / 2.0
        # Centre it: C @ M @ C^-1.
        a2 = a2 + cx - a0 * cx - a1 * cy
        b2 = b2 + cy - b0 * cx - b1 * cy
        # Flips come after the affine in ImageDataGenerator; folded in here
        # they cost nothing: out(x, y) = affine_out(w - 1 - x, y).
        if t.get("flip_h") is not None:
            f = b.cast(t["flip_h"], "float32")
            a2, b2 = a2 + f * a0 * 2.0 * cx, b2 + f * b0 * 2.0 * cx
            a0, b0 = a0 * (1.0 - 2.0 * f), b0 * (1.0 - 2.0 * f)
        if t.get("flip_v") is not None:
            f = b.cast(t["flip_v"], "float32")
            a2, b2 = a2 + f * a1 * 2.0 * cy, b2 + f * b1 * 2.0 * cy
            a1, b1 = a1 * (1.0 - 2.0 * f), b1 * (1.0 - 2.0 * f)
        zeros = np_.zeros_like(a0)
        return np_.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)

    # The layer --------------------------------------------------------------

    def call(self, inputs, training=True):
        b = self.backend
        x = b.cast(inputs, self.compute_dtype)
        if len(x.shape) not in (3, 4):
            raise ValueError(
                "ImageDataGeneratorAugmentation takes images of shape "
                "(batch, height, width, channels) or (height, width, "
                f"channels). Received: an input of shape {tuple(x.shape)}"
            )
        if self._needs_adapt and not self._adapted:
            # Python-side, so it fires once per trace, as the generator's
            # warning fired per flow().
            warnings.warn(
                "ImageDataGeneratorAugmentation specifies featurewise "
                "centering/normalization or ZCA whitening, but adapt() was "
                "not called: the statistics are the identity. Call "
                "layer.adapt(training_images) first.",
                stacklevel=2,
            )
        single = len(x.shape) == 3
        if single:
            x = b.numpy.expand_dims(x, 0)
        if training:
            x = self._augment(x)
        x = self._standardize(x)
        return x[0] if single else x

    def _augment(self, x):
        return self.transform_images(x, self.get_random_transformation(x))

    def transform_images(self, x, t):
        """Apply a transformation dict from `get_random_transformation`
        (or one written by hand, for tests and figures)."""
        b = self.backend
        np_ = b.numpy
        shape = b.core.shape(x)
        flips_done = "theta" in t
        if "theta" in t:
            matrices = self.affine_matrices(t, shape[1], shape[2])
            x = self._resample(x, matrices)
        if t.get("channel_shift") is not None:
            low = np_.min(x, axis=(1, 2, 3), keepdims=True)
            high = np_.max(x, axis=(1, 2, 3), keepdims=True)
            shift = b.cast(t["channel_shift"][:, None, None, None], x.dtype)
            x = np_.minimum(np_.maximum(x + shift, low), high)
        if t.get("flip_h") is not None and not flips_done:
            x = np_.where(t["flip_h"][:, None, None, None], np_.flip(x, 2), x)
        if t.get("flip_v") is not None and not flips_done:
            x = np_.where(t["flip_v"][:, None, None, None], np_.flip(x, 1), x)
        if t.get("brightness") is not None:
            factor = b.cast(t["brightness"][:, None, None, None], x.dtype)
            x = np_.clip(x * factor, 0.0, 255.0)
        return x

    def _standardize(self, x):
        b = self.backend
        np_ = b.numpy
        if self.rescale:
            x = x * self.rescale
        if self.samplewise_center:
            x = x - np_.mean(x, axis=(1, 2, 3), keepdims=True)
        if self.samplewise_std_normalization:
            x = x / (np_.std(x, axis=(1, 2, 3), keepdims=True) + 1e-6)
        if self.featurewise_center:
            x = x - b.cast(self.convert_weight(self.mean), x.dtype)
        if self.featurewise_std_normalization:
            x = x / (b.cast(self.convert_weight(self.std), x.dtype) + 1e-6)
        if self.zca_whitening:
            shape = b.core.shape(x)
            flat = np_.reshape(x, (shape[0], -1))
            pcs = b.cast(self.convert_weight(self.principal_components), x.dtype)
            x = np_.reshape(np_.matmul(flat, pcs), shape)
        return x

    def _resample(self, x, matrices):
        b = self.backend
        run = lambda x, m: affine_resample(
            b, x, m, self.interpolation_order, self.fill_mode, self.cval
        )
        if b._backend == "tensorflow":
            # Compile the gathers with XLA (also inside tf.data maps): one
            # fused kernel instead of a dozen full-size intermediates.
            import tensorflow as tf

            if getattr(self, "_xla_resample", None) is None:
                self._xla_resample = tf.function(run, jit_compile=True)
            return self._xla_resample(x, matrices)
        return run(x, matrices)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "featurewise_center": self.featurewise_center,
                "samplewise_center": self.samplewise_center,
                "featurewise_std_normalization": self.featurewise_std_normalization,
                "samplewise_std_normalization": self.samplewise_std_normalization,
                "zca_whitening": self.zca_whitening,
                "zca_epsilon": self.zca_epsilon,
                "rotation_range": self.rotation_range,
                "width_shift_range": _jsonable(self.width_shift_range),
                "height_shift_range": _jsonable(self.height_shift_range),
                "brightness_range": self.brightness_range,
                "shear_range": self.shear_range,
                "zoom_range": list(self.zoom_range),
                "channel_shift_range": self.channel_shift_range,
                "fill_mode": self.fill_mode,
                "cval": self.cval,
                "horizontal_flip": self.horizontal_flip,
                "vertical_flip": self.vertical_flip,
                "rescale": self.rescale,
                "interpolation_order": self.interpolation_order,
                "seed": self.seed,
            }
        )
        return config


def _check_shift(name, value):
    if isinstance(value, bool):
        raise ValueError(f"`{name}` must be a number or a list. Received: {value!r}")
    if isinstance(value, (int, np.integer)):
        if value < 0:
            raise ValueError(f"`{name}` must be >= 0. Received: {value!r}")
        return int(value)
    if isinstance(value, (float, np.floating)):
        if value < 0:
            raise ValueError(f"`{name}` must be >= 0. Received: {value!r}")
        return float(value)
    if isinstance(value, (list, tuple, np.ndarray)) and len(value) > 0:
        return tuple(float(v) for v in value)
    raise ValueError(
        f"`{name}` must be a float (fraction if < 1, else pixels), an int "
        f"(pixels) or a non-empty list of values. Received: {value!r}"
    )


def _check_zoom(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value < 0 or value >= 1:
            raise ValueError(
                "A single `zoom_range` z must be in [0, 1) and means "
                f"[1 - z, 1 + z]. Received: zoom_range={value!r}"
            )
        return (1.0 - value, 1.0 + value)
    if isinstance(value, (list, tuple)) and len(value) == 2 and 0 < value[0] <= value[1]:
        return (float(value[0]), float(value[1]))
    raise ValueError(
        "`zoom_range` must be a float z (meaning [1 - z, 1 + z]) or "
        f"[lower, upper] with 0 < lower <= upper. Received: {value!r}"
    )


def _is_number(value):
    return (
        isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def _jsonable(value):
    return list(value) if isinstance(value, tuple) else value


def _collect(data):
    if hasattr(data, "shape"):
        return np.asarray(data)
    batches = []
    for batch in data:
        if isinstance(batch, (tuple, list)):
            batch = batch[0]
        elif isinstance(batch, dict):
            batch = batch["images"]
        batches.append(np.asarray(batch))
    return np.concatenate(batches)
