import contextlib
import math
import warnings

import numpy as np

import keras

from keras_tl import _compat
from keras_tl.layers import resampling

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
# A transformation's keys: per-image values, a missing key is the identity.
GEOMETRY_KEYS = ("theta", "shift_x", "shift_y", "shear", "zoom_x", "zoom_y")
TRANSFORM_KEYS = resampling.GEOMETRY + ("channel_shift", "brightness")
# ImageDataGenerator.apply_transform's names for them, same pixels: its `tx`
# moves columns although get_random_transform drew it from
# height_shift_range (the legacy axis swap).
LEGACY_KEYS = {
    "tx": "shift_x",
    "ty": "shift_y",
    "zx": "zoom_x",
    "zy": "zoom_y",
    "flip_horizontal": "flip_h",
    "flip_vertical": "flip_v",
    "channel_shift_intensity": "channel_shift",
}
# The columns of the one uniform draw behind a random transformation.
_DRAWS = (
    "theta",
    "shear",
    "zoom_x",
    "zoom_y",
    "shift_x",
    "sign_x",
    "shift_y",
    "sign_y",
    "flip_h",
    "flip_v",
    "channel_shift",
    "brightness",
)


@keras.saving.register_keras_serializable(package="keras_tl")
class ImageDataGeneratorAugmentation(_compat.DataLayer):
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
    With the same parameters the pixels are the generator's (scipy's
    resampling, up to float rounding), and every random parameter has the
    generator's distribution, drawn independently per image.

    Args:
        rotation_range: Degrees; angle drawn from `[-r, r]`.
        width_shift_range, height_shift_range: A float below 1 is a fraction
            of the width/height (shift drawn from `[-f, f]`); a float >= 1 is
            pixels from `[-p, p]`; an int `n` draws whole pixels from
            `{-(n-1), ..., n-1}`; a list draws one of its values with a
            random sign (fractions of the size if all are below 1). Width
            shifts move columns, height shifts rows.
        shear_range: Shear angle in degrees, drawn from `[-s, s]`.
        zoom_range: A float `z` means `[1 - z, 1 + z]`, or `[lower, upper]`.
            Height and width factors are drawn independently. A factor above
            1 zooms *out* (shows more of the image), as in
            `ImageDataGenerator`. As there, `z >= 1` (or a lower bound
            below 0) also draws factors <= 0, which mirror the image.
        horizontal_flip, vertical_flip: Flip with probability 0.5.
        brightness_range: `(lo, hi)`: multiply the image by a factor from
            that range, clipped to `[0, 255]`. An image with values outside
            `[0, 255]` is first stretched onto `[0, 255]` by its own min and
            max, and back after, as the generator's trip through an 8-bit
            PIL image did; the alpha channel of an RGBA image is kept.
        channel_shift_range: Add one offset from `[-c, c]` to all channels,
            clipped to the image's own min and max.
        fill_mode: `"nearest"` (`aaa|abcd|ddd`), `"constant"`
            (`kkk|abcd|kkk`: every pixel that maps outside the image is
            exactly `cval`), `"reflect"` (`dcba|abcd|dcba`) or `"wrap"`
            (`abcd|abcd|abcd`).
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

    `get_random_transformation(images, seed=...)` returns the random
    parameters as a dict of per-image values and `transform_images(images,
    transformation)` applies one, as Keras's own preprocessing layers do; a
    dict written by hand may hold any subset of the keys, or
    `ImageDataGenerator.apply_transform`'s names (`tx`, `zx`, ...).

    Example:

    ```python
    # Keras 2:  ImageDataGenerator(rotation_range=40, width_shift_range=0.2,
    #                              shear_range=0.2, zoom_range=0.2,
    #                              horizontal_flip=True, fill_mode="nearest")
    augment = keras_tl.layers.ImageDataGeneratorAugmentation(
        rotation_range=40, width_shift_range=0.2, shear_range=0.2,
        zoom_range=0.2, horizontal_flip=True, fill_mode="nearest", seed=1)
    train_ds = train_ds.map(lambda x, y: (augment(x, training=True), y))
    # one given transform, e.g. for a figure
    augment.transform_images(images, {"theta": 30.0, "zoom_x": 1.2})
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
        _reject_unsupported(kwargs)
        super().__init__(**kwargs)
        _check_options(data_format, fill_mode, interpolation_order)
        flags = _standardization_flags(
            featurewise_center,
            samplewise_center,
            featurewise_std_normalization,
            samplewise_std_normalization,
            zca_whitening,
        )
        self.featurewise_center = flags["featurewise_center"]
        self.samplewise_center = flags["samplewise_center"]
        self.featurewise_std_normalization = flags["featurewise_std_normalization"]
        self.samplewise_std_normalization = flags["samplewise_std_normalization"]
        self.zca_whitening = flags["zca_whitening"]
        self.horizontal_flip = _check_flag("horizontal_flip", horizontal_flip)
        self.vertical_flip = _check_flag("vertical_flip", vertical_flip)
        self.rotation_range = _check_range("rotation_range", rotation_range)
        self.shear_range = _check_range("shear_range", shear_range)
        self.channel_shift_range = _check_range("channel_shift_range", channel_shift_range)
        self.width_shift_range = _check_shift("width_shift_range", width_shift_range)
        self.height_shift_range = _check_shift("height_shift_range", height_shift_range)
        self.zoom_range = _check_zoom(zoom_range)  # warns at stacklevel 3: call here
        self.brightness_range = _check_brightness(brightness_range)
        self.cval = _check_number("cval", cval)
        self.zca_epsilon = _check_number("zca_epsilon", zca_epsilon)
        self.rescale = _check_rescale(rescale)
        self.fill_mode = fill_mode
        self.interpolation_order = interpolation_order
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)
        self._needs_adapt = (
            self.featurewise_center or self.featurewise_std_normalization or self.zca_whitening
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
                shape=(channels,),
                initializer="zeros",
                trainable=False,
                name="mean",
            )
            self.std = self.add_weight(
                shape=(channels,),
                initializer="ones",
                trainable=False,
                name="std",
            )
        if self.zca_whitening:
            if None in tuple(input_shape[-3:]):
                raise ValueError(
                    "zca_whitening needs a fixed image size; build the layer "
                    "with input_shape=(height, width, channels)."
                )
            dim = int(np.prod(input_shape[-3:]))
            self.principal_components = self.add_weight(
                shape=(dim, dim),
                initializer="identity",
                trainable=False,
                name="principal_components",
            )
        self.built = True

    def adapt(self, data, augment=False, rounds=1, seed=None):
        """Learn feature-wise mean/std and ZCA, as `ImageDataGenerator.fit`.

        Args:
            data: A NumPy array of images `(n, h, w, c)` or an iterable of
                batches (e.g. a `tf.data.Dataset` of images or of
                `(images, labels)`).
            augment: Learn the statistics on randomly transformed copies of
                the images, `rounds` passes over them.
            rounds: Passes over the data when `augment=True`.
            seed: Int seed of those random transforms.
        """
        _check_adapt_arguments(augment, rounds, seed)
        x = _collect(data)
        if x.ndim != 4:
            raise ValueError(
                "adapt() takes images of shape (n, height, width, channels). "
                f"Received: shape {x.shape}"
            )
        if x.shape[-1] not in (1, 3, 4):
            warnings.warn(
                f"adapt() expects channels-last images with 1, 3 or 4 "
                f"channels; it received shape {x.shape} ({x.shape[-1]} "
                "channels), as ImageDataGenerator.fit warned.",
                stacklevel=2,
            )
        if not self.built:
            self.build(x.shape)
        if augment:
            x = self._augmented_copies(x, int(rounds), seed)
        x = x.astype("float64")
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

    def _augmented_copies(self, x, rounds, seed):
        # The training-time order (augment, then rescale); the generator's
        # fit() rescaled first, which only changes the statistics of
        # channel shifts and brightness.
        stream = keras.random.SeedGenerator(None if seed is None else int(seed))
        copies = []
        for _ in range(rounds):
            for chunk in np.array_split(x, max(1, len(x) // 256)):
                chunk = self.backend.convert_to_tensor(chunk, self.compute_dtype)
                t = self.get_random_transformation(chunk, seed=stream)
                copies.append(np.asarray(self.transform_images(chunk, t)))
        return np.concatenate(copies)

    def load_own_variables(self, store):
        super().load_own_variables(store)
        self._adapted = True  # saved statistics are adapted ones

    # Random parameters -----------------------------------------------------

    def get_random_transformation(self, data, training=True, seed=None):
        """Draw one set of random parameters per image.

        Args:
            data: Images `(n, h, w, c)` or `(h, w, c)`, or a dict holding
                them under `"images"`.
            training: When False, returns None (no transform).
            seed: An int, a `keras.random.SeedGenerator`, or None for the
                layer's own generator. Parameters are independent of each
                other whatever the seed.

        Returns:
            A dict of `(n,)` tensors, one entry per argument in use:
            `theta` and `shear` (degrees), `shift_x` and `shift_y` (pixels;
            columns and rows), `zoom_x` and `zoom_y`, `flip_h` and `flip_v`
            (booleans), `channel_shift` and `brightness`.
        """
        if not training:
            return None
        images = data["images"] if isinstance(data, dict) else data
        with self._tf_data_backend(images):
            return self._draw(images, seed)

    def _draw(self, images, seed):
        b = self.backend
        np_ = b.numpy
        shape = b.core.shape(images)
        if _check_rank(shape) == 3:
            shape = (1,) + tuple(shape)
        n, height, width = shape[0], shape[1], shape[2]
        if seed is None:
            seed = _compat.seed_generator(self, b.name)
        # One draw, a column per parameter: independent values even for an
        # int seed (one draw per parameter with the same int seed would
        # give zoom_x == zoom_y, shift_x == shift_y). Scaled to each
        # parameter's range at once: a small graph for tf.data.
        low, high = self._draw_ranges()
        u = b.random.uniform((n, len(_DRAWS)), dtype="float32", seed=seed)
        u = u * np_.array(high - low, dtype="float32") + np_.array(low, dtype="float32")
        u = dict(zip(_DRAWS, b.core.unstack(u, num=len(_DRAWS), axis=1)))
        t = {}
        if self.rotation_range:
            t["theta"] = u["theta"]
        if self.width_shift_range:
            t["shift_x"] = self._shift(self.width_shift_range, u["shift_x"], u["sign_x"], width)
        if self.height_shift_range:
            t["shift_y"] = self._shift(self.height_shift_range, u["shift_y"], u["sign_y"], height)
        if self.shear_range:
            t["shear"] = u["shear"]
        if self.zoom_range != (1.0, 1.0):
            t["zoom_x"], t["zoom_y"] = u["zoom_x"], u["zoom_y"]
        if self.horizontal_flip:
            t["flip_h"] = u["flip_h"] < 0.5
        if self.vertical_flip:
            t["flip_v"] = u["flip_v"] < 0.5
        if self.channel_shift_range:
            t["channel_shift"] = u["channel_shift"]
        if self.brightness_range is not None:
            t["brightness"] = u["brightness"]
        return t

    def _draw_ranges(self):
        """Each column's uniform range, as the generator drew it:
        `uniform(-r, r)`, `uniform(lo, hi)`; `[0, n)` for an index into
        `range(n)` or a list, `[0, 1)` for coins."""
        ranges = dict.fromkeys(_DRAWS, (0.0, 1.0))
        for key, r in (
            ("theta", self.rotation_range),
            ("shear", self.shear_range),
            ("channel_shift", self.channel_shift_range),
        ):
            ranges[key] = (-r, r)
        ranges["zoom_x"] = ranges["zoom_y"] = self.zoom_range
        if self.brightness_range is not None:
            ranges["brightness"] = self.brightness_range
        for key, spec in (
            ("shift_x", self.width_shift_range),
            ("shift_y", self.height_shift_range),
        ):
            if isinstance(spec, float):
                ranges[key] = (-spec, spec)
            elif spec:
                ranges[key] = (0.0, float(spec if isinstance(spec, int) else len(spec)))
        low, high = zip(*(ranges[key] for key in _DRAWS))
        return np.array(low), np.array(high)

    def _shift(self, spec, value, sign, size):
        """Shift in pixels: `value` from `uniform(-f, f)` for a float spec,
        else an index into `range(n)` or the list, times a random sign (the
        generator's `choice`); all times the size when `max(spec) < 1`."""
        np_ = self.backend.numpy
        shift = value
        if not isinstance(spec, float):
            count = spec if isinstance(spec, int) else len(spec)
            shift = np_.minimum(np_.floor(value), count - 1.0)
            if not isinstance(spec, int):
                choices = np_.array(spec, dtype="float32")
                shift = np_.take(choices, self.backend.cast(shift, "int32"))
            shift = shift * np_.where(sign < 0.5, -1.0, 1.0)
        if max(spec if isinstance(spec, tuple) else (spec,)) < 1:
            shift = shift * self.backend.cast(size, "float32")
        return shift

    @contextlib.contextmanager
    def _tf_data_backend(self, x):
        """TensorFlow ops for a direct call inside a tf.data map on another
        backend, as `__call__` switches (DataLayer)."""
        switch = (
            self.backend.name != "tensorflow"
            and not isinstance(x, keras.KerasTensor)
            and _compat.in_tf_graph()
            and not _compat.is_in_jax_tracing_scope(x)
        )
        if switch:
            self.backend.set_backend("tensorflow")
        try:
            yield
        finally:
            if switch:
                self.backend.reset()

    # Applying a transformation --------------------------------------------

    def transform_images(self, images, transformation, training=True):
        """Apply a transformation to images `(n, h, w, c)` or `(h, w, c)`.

        Args:
            images: The images.
            transformation: A dict from `get_random_transformation`, or
                written by hand with any subset of its keys (a missing key
                is the identity), each a scalar for the whole batch or one
                value per image. `ImageDataGenerator.apply_transform`'s
                names (`tx`, `ty`, `zx`, `zy`, `flip_horizontal`,
                `flip_vertical`, `channel_shift_intensity`) give the same
                pixels as there.
            training: When False (or `transformation` is None), the images
                are returned unchanged.
        """
        with self._tf_data_backend(images):
            return self._transform(images, transformation, training)

    def _transform(self, images, transformation, training):
        b = self.backend
        x = b.cast(images, self.compute_dtype)
        if not training or not transformation:
            return x
        single = _check_rank(x.shape) == 3
        if single:
            x = b.numpy.expand_dims(x, 0)
        shape = b.core.shape(x)
        t = self._standardize_transformation(transformation, shape[0])
        np_ = b.numpy
        geometry = any(key in t for key in GEOMETRY_KEYS)
        if geometry:  # flips folded into the affine
            x = self._affine(x, self._geometry_params(t, shape[0]))
        if "channel_shift" in t:
            low = np_.min(x, axis=(1, 2, 3), keepdims=True)
            high = np_.max(x, axis=(1, 2, 3), keepdims=True)
            shift = b.cast(t["channel_shift"][:, None, None, None], x.dtype)
            x = np_.minimum(np_.maximum(x + shift, low), high)
        if not geometry:
            for key, axis in (("flip_h", 2), ("flip_v", 1)):
                if key in t:
                    flip = t[key][:, None, None, None] > 0.5
                    x = np_.where(flip, np_.flip(x, axis), x)
        if "brightness" in t:
            x = self._brightness(x, t["brightness"])
        return x[0] if single else x

    def _standardize_transformation(self, transformation, n):
        """Canonical keys, float32 values, scalars broadcast to `(n,)`."""
        b = self.backend
        out, seen = {}, set()
        for key, value in transformation.items():
            name = LEGACY_KEYS.get(key, key)
            if name not in TRANSFORM_KEYS:
                raise ValueError(
                    f"Unknown key {key!r} in `transformation`. Known keys: "
                    f"{TRANSFORM_KEYS}, or ImageDataGenerator's "
                    f"{tuple(LEGACY_KEYS)}."
                )
            if name in seen:
                raise ValueError(
                    f"`transformation` gives {name!r} twice (as {key!r} and under its other name)."
                )
            seen.add(name)
            if value is None:  # the generator's dicts hold None when unused
                continue
            value = b.cast(value, "float32")
            if len(value.shape) == 0:
                value = value + b.numpy.zeros((n,))
            out[name] = value
        return out

    def affine_matrices(self, t, height, width):
        """Per-image output->input maps of a transformation (a missing key
        is the identity), flattened as `affine_transform` takes them. Built
        as ImageDataGenerator does: rotation @ shift @ shear @ zoom, about
        the image centre, with the flips after it folded in."""
        b = self.backend
        values = [b.cast(v, "float32") for v in t.values() if v is not None]
        if not values:
            raise ValueError("affine_matrices() needs a non-empty transformation.")
        n = b.core.shape(values[0])[0]
        t = self._standardize_transformation(t, n)
        return resampling.affine_matrices(b, self._geometry_params(t, n), height, width)

    def _geometry_params(self, t, n):
        """(n, 8) columns of `resampling.GEOMETRY`, identity where absent."""
        np_ = self.backend.numpy
        defaults = {0.0: np_.zeros((n,)), 1.0: np_.ones((n,))}
        columns = [
            t[key] if key in t else defaults[identity]
            for key, identity in zip(resampling.GEOMETRY, resampling.IDENTITY)
        ]
        return np_.stack(columns, axis=1)

    def _affine(self, x, params):
        b = self.backend
        cval = b.cast(self.cval, x.dtype)
        # Compiled once per process (XLA on TensorFlow, also in tf.data;
        # jax.jit on JAX) and shared by every instance of the layer.
        run = resampling.compiled_transform(
            b.name, self.interpolation_order, self.fill_mode, x.dtype
        )
        if run is None:
            return resampling.affine_transform(
                b, x, params, self.interpolation_order, self.fill_mode, cval
            )
        return run(x, params, cval)

    def _brightness(self, x, factor):
        # ImageDataGenerator brightened an 8-bit PIL image (ImageEnhance:
        # multiply, clip to [0, 255]); an image outside [0, 255] was first
        # stretched onto it by its own min and max, and back after. Same
        # here, without the rounding to uint8.
        b = self.backend
        np_ = b.numpy
        low = np_.min(x, axis=(1, 2, 3), keepdims=True)
        high = np_.max(x, axis=(1, 2, 3), keepdims=True)
        stretch = np_.logical_or(low < 0.0, high > 255.0)
        offset = np_.where(stretch, low, 0.0)
        scale = np_.where(stretch, (high - low) / 255.0, 1.0)
        factor = b.cast(factor[:, None, None, None], x.dtype)
        unit = (x - offset) / np_.where(scale > 0.0, scale, 1.0)
        y = np_.clip(unit * factor, 0.0, 255.0) * scale + offset
        if x.shape[-1] == 4:  # RGBA: PIL keeps the alpha channel
            y = np_.concatenate([y[..., :3], x[..., 3:]], axis=-1)
        return y

    # The layer --------------------------------------------------------------

    def call(self, inputs, training=True):
        b = self.backend
        x = b.cast(inputs, self.compute_dtype)
        single = _check_rank(x.shape) == 3
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
        if single:
            x = b.numpy.expand_dims(x, 0)
        if training:
            x = self.transform_images(x, self.get_random_transformation(x))
        x = self._standardize(x)
        return x[0] if single else x

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
                "brightness_range": _jsonable(self.brightness_range),
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


# Argument checks: ImageDataGenerator's own errors, raised early and naming
# the argument; forms it accepted are accepted (see README's table for the
# few it took silently and that raise here).


def _reject_unsupported(kwargs):
    for name, why in UNSUPPORTED.items():
        if kwargs.pop(name, None):
            raise ValueError(f"`{name}` is not supported here: {why}.")


def _standardization_flags(
    featurewise_center,
    samplewise_center,
    featurewise_std_normalization,
    samplewise_std_normalization,
    zca_whitening,
):
    """The five standardization flags, checked, with ImageDataGenerator's
    overrides applied."""
    given = {
        name: _check_flag(name, value)
        for name, value in (
            ("featurewise_center", featurewise_center),
            ("samplewise_center", samplewise_center),
            ("featurewise_std_normalization", featurewise_std_normalization),
            ("samplewise_std_normalization", samplewise_std_normalization),
            ("zca_whitening", zca_whitening),
        )
    }
    flags = dict(given)
    # ImageDataGenerator turns centering on for ZCA and std
    # normalization ("overrides setting of ...").
    flags["featurewise_center"] = (
        given["featurewise_center"]
        or given["zca_whitening"]
        or given["featurewise_std_normalization"]
    )
    flags["samplewise_center"] = given["samplewise_center"] or given["samplewise_std_normalization"]
    # ... and turns std normalization off, as it does.
    flags["featurewise_std_normalization"] = (
        given["featurewise_std_normalization"] and not given["zca_whitening"]
    )
    return flags


def _check_options(data_format, fill_mode, interpolation_order):
    if data_format not in (None, "channels_last"):
        raise ValueError(
            "`data_format` must be 'channels_last' (or None). Received: "
            f"data_format={data_format!r}"
        )
    if fill_mode not in FILL_MODES:
        raise ValueError(
            f"`fill_mode` must be one of {FILL_MODES}. Received: fill_mode={fill_mode!r}"
        )
    if interpolation_order not in (0, 1) or isinstance(interpolation_order, bool):
        raise ValueError(
            "`interpolation_order` must be 0 (nearest) or 1 (bilinear); "
            "spline orders 2-5 of scipy have no GPU-friendly equivalent. "
            f"Received: interpolation_order={interpolation_order!r}"
        )


def _check_adapt_arguments(augment, rounds, seed):
    _check_flag("augment", augment)
    if not isinstance(rounds, (int, np.integer)) or isinstance(rounds, bool) or rounds < 1:
        raise ValueError(f"`rounds` must be an int >= 1. Received: rounds={rounds!r}")
    if seed is not None and (not isinstance(seed, (int, np.integer)) or isinstance(seed, bool)):
        raise ValueError(f"`seed` must be an int or None. Received: seed={seed!r}")


def _check_flag(name, value):
    if not isinstance(value, (bool, np.bool_)) and value not in (0, 1):
        raise ValueError(f"`{name}` must be True or False. Received: {name}={value!r}")
    return bool(value)


def _check_number(name, value):
    if not _is_number(value):
        raise ValueError(f"`{name}` must be a number. Received: {name}={value!r}")
    return float(value)


def _check_range(name, value):
    if not _is_number(value) or value < 0:
        raise ValueError(f"`{name}` must be a number >= 0. Received: {name}={value!r}")
    return float(value)


def _check_rescale(value):
    if value is not None and (not _is_number(value) or value < 0):
        raise ValueError(
            "`rescale` must be None or a number >= 0, e.g. 1/255 (written "
            f"as a number, not a string). Received: rescale={value!r}"
        )
    return None if value is None else float(value)


def _check_shift(name, value):
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"`{name}` must be a number or a list. Received: {value!r}")
    if isinstance(value, (int, np.integer)):
        if value < 0:
            raise ValueError(f"`{name}` must be >= 0. Received: {value!r}")
        return int(value)
    if _is_number(value):
        if value < 0:
            raise ValueError(f"`{name}` must be >= 0. Received: {value!r}")
        return float(value)
    if (
        isinstance(value, (list, tuple, np.ndarray))
        and np.ndim(value) == 1
        and len(value) > 0
        and all(_is_number(v) for v in value)
    ):
        return tuple(float(v) for v in value)
    raise ValueError(
        f"`{name}` must be a float (fraction if < 1, else pixels), an int "
        f"(pixels) or a non-empty list of numbers. Received: {value!r}"
    )


def _check_zoom(value):
    if _is_number(value):
        if value < 0:
            raise ValueError(
                "A single `zoom_range` z must be >= 0 and means "
                f"[1 - z, 1 + z]. Received: zoom_range={value!r}"
            )
        if value >= 1:
            warnings.warn(
                f"zoom_range={value!r} means [{1 - value:g}, {1 + value:g}], "
                "as in ImageDataGenerator: factors <= 0 are drawn too, which "
                "mirror the image or collapse it. For factors from 1/z to z, "
                "pass zoom_range=[1/z, z].",
                stacklevel=3,
            )
        return (1.0 - float(value), 1.0 + float(value))
    if (
        isinstance(value, (list, tuple, np.ndarray))
        and np.ndim(value) == 1
        and len(value) == 2
        and all(_is_number(v) for v in value)
        and value[0] <= value[1]
    ):
        return (float(value[0]), float(value[1]))
    raise ValueError(
        "`zoom_range` must be a float z (meaning [1 - z, 1 + z]) or "
        f"[lower, upper] with lower <= upper. Received: zoom_range={value!r}"
    )


def _check_brightness(value):
    if value is None:
        return None
    if (
        not isinstance(value, (list, tuple, np.ndarray))
        or np.ndim(value) != 1
        or len(value) != 2
        or not all(_is_number(b) for b in value)
        or not 0 <= value[0] <= value[1]
    ):
        raise ValueError(
            "`brightness_range` must be (lo, hi) with 0 <= lo <= hi, "
            f"e.g. (0.8, 1.2). Received: brightness_range={value!r}"
        )
    return tuple(float(b) for b in value)


def _check_rank(shape):
    if len(shape) not in (3, 4):
        raise ValueError(
            "ImageDataGeneratorAugmentation takes images of shape "
            "(batch, height, width, channels) or (height, width, "
            f"channels). Received: an input of shape {tuple(shape)}"
        )
    return len(shape)


def _is_number(value):
    return (
        isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, (bool, np.bool_))
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
