import os

import keras
from keras.src.saving import serialization_lib


@keras.saving.register_keras_serializable(package="keras_tl")
class HubFeatureVector(keras.layers.Layer):
    """A TF Hub feature vector (TF2 SavedModel) as a real Keras 3 layer.

    Replaces `hub.KerasLayer`, which is a tf_keras (Keras 2) layer that a
    Keras 3 model refuses. Unlike `keras.layers.TFSMLayer`, the module's own
    variables are the layer's weights, so `trainable=True` fine-tunes the
    module through `fit()`, and a saved model keeps the fine-tuned values.

    Args:
        handle: A local SavedModel directory, or a TF Hub / Kaggle Models
            URL resolved through `tensorflow_hub` and its cache
            (`$TFHUB_CACHE_DIR`).
        trainable: Fine-tune the module's variables.
        output_key: For modules that return a dict (signature-based), the key
            to use, e.g. `"default"` or `"pooled_output"`.
        signature: Call this signature (e.g. `"serving_default"`) instead of
            the reusable-SavedModel `__call__`.
        arguments: Extra keyword arguments for each call of the module.
        input_shape: `(height, width, channels)` of the images, used to
            build the layer.
        **kwargs: Base layer arguments (`name`, `dtype`).

    Loading a saved model that holds this layer reads an external
    SavedModel, which Keras's `safe_mode` forbids (as for `TFSMLayer`):
    pass `safe_mode=False` to `keras.models.load_model` for files you trust.

    Example:

    ```python
    features = keras_tl.hub.HubFeatureVector(
        "https://tfhub.dev/google/imagenet/mobilenet_v2_100_224/feature_vector/4",
        input_shape=(224, 224, 3))
    model = keras.Sequential([keras.Input((224, 224, 3)),
                              keras.layers.Rescaling(1 / 255.0),
                              features, keras.layers.Dense(2)])
    ```
    """

    def __init__(
        self,
        handle,
        trainable=False,
        output_key=None,
        signature=None,
        arguments=None,
        input_shape=None,
        **kwargs,
    ):
        if keras.backend.backend() != "tensorflow":
            raise ValueError(
                "HubFeatureVector runs TensorFlow SavedModels and needs the "
                f"TensorFlow backend (KERAS_BACKEND=tensorflow); the active "
                f"backend is '{keras.backend.backend()}'. On JAX, use a "
                "keras.applications backbone by name instead, e.g. "
                "TransferClassifier('mobilenet_v2', ...)."
            )
        super().__init__(trainable=trainable, **kwargs)
        import tensorflow as tf

        self.handle = str(handle)
        self.output_key = output_key
        self.signature = signature
        self.arguments = dict(arguments or {})
        self._input_shape_arg = tuple(input_shape) if input_shape else None
        path = resolve(self.handle)
        if os.path.exists(os.path.join(path, "tfhub_module.pb")):
            raise ValueError(
                f"{self.handle} is in the TF1 Hub format, which TF2 and "
                "Keras 3 cannot run. Use the module's TF2 SavedModel version "
                "(on Kaggle Models, the 'TensorFlow 2' variation)."
            )
        self._module = tf.saved_model.load(path)
        if signature is not None:
            if signature not in self._module.signatures:
                raise ValueError(
                    f"Signature {signature!r} not found; the module has "
                    f"{list(self._module.signatures)}."
                )
            self._fn = self._module.signatures[signature]
            self._has_training = False
            fns = [self._fn]
        else:
            if not callable(self._module):
                raise ValueError(
                    f"{self.handle} has no __call__ (not a reusable "
                    "SavedModel); pass signature=... (it has "
                    f"{list(self._module.signatures)})."
                )
            self._fn = self._module
            self._has_training = _accepts_training(self._module)
            fns = None
        self._adopt_variables(fns)
        self._input_dtype = _input_dtype(self._fn) or "float32"
        if self._input_shape_arg:
            self.build((None,) + self._input_shape_arg)

    def _adopt_variables(self, fns):
        """Track the module's own tf.Variables as this layer's weights:
        the Keras variable wraps the very variable the module's graph
        reads, so optimizer updates reach it."""
        declared = list(getattr(self._module, "variables", None) or [])
        if fns is None and declared:  # the reusable-SavedModel attributes
            trainable = list(getattr(self._module, "trainable_variables", None) or [])
            ids = {id(v) for v in trainable}
            others = [v for v in declared if id(v) not in ids]
        else:  # whatever the call's graph reads
            fns = fns or [self._module.__call__]
            from keras.src.export.saved_model_export_archive import (
                _list_variables_used_by_fns,
            )

            trainable, others = _list_variables_used_by_fns(fns)
        for tf_var in list(trainable) + list(others):
            variable = keras.Variable(
                initializer=tf_var.read_value(), trainable=tf_var.trainable,
                dtype=tf_var.dtype.name, name=tf_var.name.split(":")[0].replace("/", "_"),
            )  # fmt: skip
            variable._value = tf_var
            self._track_variable(variable)
        losses = getattr(self._module, "regularization_losses", None) or []
        self._module_losses = list(losses)

    def build(self, input_shape=None):
        self.built = True

    def call(self, inputs, training=None):
        import tensorflow as tf

        x = tf.cast(inputs, self._input_dtype)
        if self.signature is not None:
            name = _input_name(self._fn)
            outputs = self._fn(**{name: x}, **self.arguments)
        elif self._has_training:
            outputs = self._fn(x, training=bool(training) and self.trainable, **self.arguments)
        else:
            outputs = self._fn(x, **self.arguments)
        if isinstance(outputs, dict):
            if self.output_key is None:
                raise ValueError(
                    f"{self.handle} returns a dict with keys {sorted(outputs)}; "
                    "pass output_key=... to choose one."
                )
            outputs = outputs[self.output_key]
        if self.trainable and training:
            for loss_fn in self._module_losses:
                self.add_loss(loss_fn())
        return tf.cast(outputs, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        import tensorflow as tf

        # The module's output size is only known by running it once.
        probe = [1 if d is None else int(d) for d in input_shape]
        out = self.call(tf.zeros(probe, self._input_dtype))
        return (input_shape[0],) + tuple(out.shape[1:])

    def get_config(self):
        config = super().get_config()
        config.update({
            "handle": self.handle, "output_key": self.output_key,
            "signature": self.signature, "arguments": self.arguments,
            "input_shape": list(self._input_shape_arg) if self._input_shape_arg else None,
        })  # fmt: skip
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=None):
        safe = safe_mode if safe_mode is not None else serialization_lib.in_safe_mode()
        if safe is not False:
            raise ValueError(
                "This model holds a keras_tl HubFeatureVector, which loads an "
                f"external SavedModel ({config.get('handle')}); Keras's "
                "safe_mode forbids that by default, as for TFSMLayer. If you "
                "trust the file, load it with keras.models.load_model(path, "
                "safe_mode=False)."
            )
        return cls(**config)


def resolve(handle):
    """A local directory for `handle` (a path, or a Hub/Kaggle URL)."""
    if os.path.isdir(handle):
        return handle
    if "://" not in handle:
        raise ValueError(
            f"{handle!r} is neither an existing SavedModel folder nor a URL."
        )
    try:
        import tensorflow_hub as hub
    except ImportError as error:
        raise ImportError(
            "Resolving a Hub URL needs tensorflow-hub: pip install keras_tl[tf], "
            "or pass the path of a downloaded, extracted SavedModel folder."
        ) from error
    try:
        return hub.resolve(handle)
    except Exception as error:
        cache = os.environ.get("TFHUB_CACHE_DIR", "the tensorflow_hub cache")
        raise OSError(
            f"Could not fetch {handle} ({type(error).__name__}: {error}); "
            f"tried tensorflow_hub.resolve with cache {cache}. Offline? Download "
            "the model on a machine with network access (the page's Download "
            "button, or hub.resolve there), extract it, and pass the folder: "
            "HubFeatureVector('/path/to/saved_model_dir'); or set "
            "TFHUB_CACHE_DIR to a cache that holds it."
        ) from error


def _concrete(fn):
    concrete = getattr(getattr(fn, "__call__", fn), "concrete_functions", None)
    if concrete:
        return list(concrete)
    if hasattr(fn, "structured_input_signature"):
        return [fn]
    return []


def _accepts_training(module):
    for fn in _concrete(module):
        args, kwargs = fn.structured_input_signature
        if "training" in kwargs or len(args) >= 2:
            return True
    return False


def _input_dtype(fn):
    import tensorflow as tf

    for concrete in _concrete(fn):
        args, kwargs = concrete.structured_input_signature
        for spec in list(args) + list(kwargs.values()):
            if isinstance(spec, tf.TensorSpec):
                return spec.dtype.name
    return None


def _input_name(fn):
    _, kwargs = fn.structured_input_signature
    return next(iter(kwargs))
