import inspect
import json
import logging
import os

import keras

from keras_tl import _compat

logger = logging.getLogger("keras_tl")

LOAD_OPTIONS = (
    "allow_partial_checkpoint",
    "experimental_io_device",
    "experimental_skip_checkpoint",
    "experimental_variable_policy",
    "experimental_load_function_aliases",
)


@keras.saving.register_keras_serializable(package="keras_tl")
class HubFeatureVector(keras.layers.Layer):
    """A TF Hub module (TF2 SavedModel) as a real Keras 3 layer.

    Replaces `hub.KerasLayer`, which is a tf_keras (Keras 2) layer that a
    Keras 3 model refuses, and takes the same arguments. Unlike
    `keras.layers.TFSMLayer`, the module's own variables are the layer's
    weights, so `trainable=True` fine-tunes the module through `fit()`, and
    a saved model keeps the fine-tuned values.

    The module's conventions are hub.KerasLayer's: the layer's input (one
    tensor, or a dict / list of them) is the first argument of the
    module's `__call__`; a `training` argument, if the function has one by
    that name, gets `training and layer.trainable` (as BatchNormalization).
    A reusable SavedModel's `trainable_variables` decides which of its
    `variables` may train, and its `regularization_losses` count in
    `model.losses` while the layer is trainable.

    Args:
        handle: A local SavedModel directory, or a TF Hub / Kaggle Models
            URL resolved through `tensorflow_hub` and its cache
            (`$TFHUB_CACHE_DIR`).
        trainable: Fine-tune the module's trainable variables.
        arguments: Dict of extra keyword arguments for each call of the
            module (JSON-serializable values, e.g. `{"a": 10.0}`).
        tags: Tag set of the MetaGraph to load (a string or a list of
            strings); `None` loads the only one.
        signature: Call this signature (e.g. `"serving_default"`) instead
            of the reusable-SavedModel `__call__`. Needs `output_key` or
            `signature_outputs_as_dict=True`.
        signature_outputs_as_dict: With `signature`, return the signature's
            whole output dict.
        output_key: For a module that returns a dict, the key to return,
            e.g. `"default"` or `"pooled_output"`.
        output_shape: The output's shape without the batch size, e.g.
            `(1280,)`, or a nest of shapes matching the output (a dict or
            list), for modules whose static shapes are unknown.
        load_options: A `tf.saved_model.LoadOptions`, or a dict of its
            keyword arguments.
        input_shape: `(height, width, channels)` of the images, for
            `TransferClassifier` and the saved config.
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
        arguments=None,
        tags=None,
        signature=None,
        signature_outputs_as_dict=None,
        output_key=None,
        output_shape=None,
        load_options=None,
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
        _check_args(trainable, arguments, tags, signature, signature_outputs_as_dict, output_key)
        super().__init__(trainable=trainable, **kwargs)
        import tensorflow as tf

        self.handle = str(handle)
        self.arguments = dict(arguments or {})
        self.tags = [tags] if isinstance(tags, str) else (list(tags) if tags else None)
        self.signature = signature
        self.signature_outputs_as_dict = bool(signature_outputs_as_dict)
        self.output_key = output_key
        self._output_shape_arg = _shape_config(output_shape)
        self._output_shapes = _to_tensor_shapes(self._output_shape_arg)
        self.load_options = _load_options_config(load_options)
        self._input_shape_arg = tuple(input_shape) if input_shape else None
        self._warned_no_trainable = False

        path = resolve(self.handle)
        if os.path.exists(os.path.join(path, "tfhub_module.pb")):
            raise ValueError(
                f"{self.handle} is in the TF1 Hub format, which TF2 and "
                "Keras 3 cannot run. Use the module's TF2 SavedModel version "
                "(on Kaggle Models, the 'TensorFlow 2' variation)."
            )
        options = tf.saved_model.LoadOptions(**self.load_options) if self.load_options else None
        try:
            self._module = tf.saved_model.load(path, tags=self.tags, options=options)
        except ValueError as error:
            if self.tags is None:
                raise
            raise ValueError(f"`tags`={self.tags!r}: {error}") from error
        if signature is not None:
            signatures = getattr(self._module, "signatures", {})
            if signature not in signatures:
                raise ValueError(
                    f"Signature {signature!r} not found; the module has {list(signatures)}."
                )
            self._fn = signatures[signature]
            self._has_training = False
            self._call_spec = self._fn.structured_input_signature[1]
            if output_key is not None:  # signature outputs are known now
                _select(self._fn.structured_outputs, output_key)
        else:
            if not callable(self._module):
                raise ValueError(
                    f"{self.handle} has no __call__ (not a reusable "
                    "SavedModel); pass signature=... (it has "
                    f"{list(getattr(self._module, 'signatures', {}))})."
                )
            self._fn = self._module
            # By name, as hub.KerasLayer: `__call__(x, a=1., b=0.)` has
            # hyperparameters in second place, not a training flag.
            self._has_training = _has_parameter(self._module.__call__, "training")
            self._call_spec = _first_input_spec(self._module)
        self._adopt_variables()
        self.built = True  # no weights of its own to create

    @property
    def resolved_object(self):
        """The object `tf.saved_model.load` returned for `handle`."""
        return self._module

    def _adopt_variables(self):
        """Track the module's own tf.Variables as this layer's weights:
        the Keras variable wraps the very variable the module's graph
        reads, so optimizer updates reach it."""
        module = self._module
        declared = getattr(module, "variables", None)
        published = getattr(module, "trainable_variables", None)
        if self.signature is None and (declared is not None or published is not None):
            # A reusable SavedModel's own list is law: a variable it leaves
            # out of `trainable_variables` never trains, whatever its flag.
            trainable = list(published or [])
            ids = {id(v) for v in trainable}
            others = [v for v in (declared or []) if id(v) not in ids]
        else:  # no lists (a plain tf.Module, a signature): what the graph reads
            fn = self._fn if self.signature else module.__call__
            trainable, others = _compat.list_variables_used_by_fns([fn])
        adopted = []
        for tf_var, train in [(v, True) for v in trainable] + [(v, False) for v in others]:
            variable = keras.Variable(
                initializer=tf_var.read_value(),
                trainable=train,
                dtype=tf_var.dtype.name,
                name=tf_var.name.split(":")[0].replace("/", "_"),
            )
            _compat.adopt_variable(self, variable, tf_var)
            adopted.append(variable)
        losses = list(getattr(module, "regularization_losses", None) or [])
        if any(not callable(loss) for loss in losses):
            raise ValueError(
                f"{self.handle}: `regularization_losses` must be callables "
                "that take no arguments and return a scalar loss."
            )
        if losses and trainable:
            # Keras 3 collects `model.losses` from the regularizers of
            # trainable weights (as for Dense(kernel_regularizer=...)), so
            # the module's losses count exactly while the layer trains.
            adopted[0].regularizer = _ModuleLosses(losses)

    def call(self, inputs, training=None):
        import tensorflow as tf

        self._check_trainability()
        spec = self._call_spec
        if self.signature is not None and not isinstance(inputs, dict) and len(spec) == 1:
            # A lone tensor feeds the signature's one input: its dtype too
            # (a mixed-precision policy hands float16 to a float32 module).
            spec = next(iter(spec.values()))
        inputs = _conform(inputs, spec)
        kwargs = dict(self.arguments)
        if self.signature is not None:
            names = list(self._call_spec)
            if isinstance(inputs, dict):
                if set(inputs) != set(names):
                    raise ValueError(
                        f"Signature {self.signature!r} takes the inputs "
                        f"{sorted(names)}; the layer got {sorted(inputs)}."
                    )
                kwargs.update(inputs)
            elif len(names) == 1:
                kwargs[names[0]] = inputs
            else:
                raise ValueError(
                    f"Signature {self.signature!r} takes several inputs "
                    f"{sorted(names)}: pass a dict of them."
                )
            outputs = self._fn(**kwargs)
        elif self._has_training:
            train = bool(training) and self.trainable  # as BatchNormalization
            outputs = self._fn(inputs, training=train, **kwargs)
        else:
            outputs = self._fn(inputs, **kwargs)
        if self.output_key is not None:
            outputs = _select(outputs, self.output_key)
        if self._output_shapes is not None:
            outputs = self._set_output_shape(inputs, outputs)
        # Floats follow the layer's dtype policy; ints, bools and strings
        # keep their dtype (an int64 id is not a float32).
        return tf.nest.map_structure(
            lambda t: tf.cast(t, self.compute_dtype) if t.dtype.is_floating else t,
            outputs,
        )

    def _check_trainability(self):
        # Checked at call time, as hub does: `trainable` can change later.
        if self.trainable and not self.trainable_weights and not self._warned_no_trainable:
            logger.warning(
                "HubFeatureVector(%s) is trainable but has zero trainable "
                "weights: the module has no variables that may train.",
                self.handle,
            )
            self._warned_no_trainable = True

    def _set_output_shape(self, inputs, outputs):
        import tensorflow as tf

        batch = tf.nest.flatten(inputs)[0].shape[:1]
        try:
            tf.nest.assert_same_structure(outputs, self._output_shapes, check_types=False)
            for tensor, shape in zip(
                tf.nest.flatten(outputs), tf.nest.flatten(self._output_shapes)
            ):
                tensor.set_shape(batch.concatenate(shape))
        except (ValueError, TypeError) as error:
            raise ValueError(
                f"`output_shape`={self._output_shape_arg!r} does not match "
                f"the module's output {tf.nest.map_structure(lambda t: t.shape, outputs)} "
                f"(shapes exclude the batch size): {error}"
            ) from error
        return outputs

    def compute_output_spec(self, inputs, training=None):
        # Trace call() on placeholders: the module's own static shapes and
        # dtypes (not the layer's compute dtype for an int output), refined
        # by `output_shape`.
        return _compat.compute_output_spec(self.call, inputs, training=training)

    def compute_output_shape(self, input_shape):
        import tensorflow as tf

        if self._output_shapes is not None:
            leaves = []
            keras.tree.map_shape_structure(leaves.append, input_shape)
            return tf.nest.map_structure(
                lambda s: (leaves[0][0],) + tuple(s.as_list()), self._output_shapes
            )
        spec = self._call_spec
        dtype = spec.dtype.name if isinstance(spec, tf.TensorSpec) else "float32"
        inputs = keras.tree.map_shape_structure(
            lambda s: keras.KerasTensor(s, dtype=dtype), input_shape
        )
        return keras.tree.map_structure(lambda t: tuple(t.shape), self.compute_output_spec(inputs))

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "handle": self.handle,
                "arguments": self.arguments,
                "tags": self.tags,
                "signature": self.signature,
                "signature_outputs_as_dict": self.signature_outputs_as_dict,
                "output_key": self.output_key,
                "output_shape": self._output_shape_arg,
                "load_options": self.load_options,
                "input_shape": list(self._input_shape_arg) if self._input_shape_arg else None,
            }
        )
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=None):
        safe = safe_mode if safe_mode is not None else _compat.in_safe_mode()
        if safe is not False:
            raise ValueError(
                "This model holds a keras_tl HubFeatureVector, which loads an "
                f"external SavedModel ({config.get('handle')}); Keras's "
                "safe_mode forbids that by default, as for TFSMLayer. If you "
                "trust the file, load it with keras.models.load_model(path, "
                "safe_mode=False)."
            )
        return cls(**config)


class _ModuleLosses:
    """A weight "regularizer" that returns the module's own
    `regularization_losses` (zero-argument functions), summed."""

    def __init__(self, losses):
        self.losses = losses

    def __call__(self, _):
        import tensorflow as tf

        return tf.add_n([tf.cast(loss(), "float32") for loss in self.losses])


def resolve(handle):
    """A local directory for `handle` (a path, or a Hub/Kaggle URL)."""
    if os.path.isdir(handle):
        return handle
    if "://" not in handle:
        raise ValueError(f"{handle!r} is neither an existing SavedModel folder nor a URL.")
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


def _check_args(trainable, arguments, tags, signature, as_dict, output_key):
    if not isinstance(trainable, bool):
        raise ValueError(f"`trainable` must be True or False. Received: trainable={trainable!r}")
    if arguments is not None:
        if not isinstance(arguments, dict) or not all(isinstance(k, str) for k in arguments):
            raise ValueError(
                "`arguments` must be None or a dict from argument names to "
                f"values. Received: arguments={arguments!r}"
            )
        try:  # it goes into the saved config
            json.dumps(arguments)
        except TypeError as error:
            raise ValueError(
                "`arguments` values must be JSON-serializable (numbers, "
                f"strings, bools, lists). Received: arguments={arguments!r}"
            ) from error
    if tags is not None and not (
        isinstance(tags, str)
        or (isinstance(tags, (list, tuple, set)) and all(isinstance(t, str) for t in tags))
    ):
        raise ValueError(
            f"`tags` must be None, a string or a list of strings. Received: tags={tags!r}"
        )
    for name, value in (("signature", signature), ("output_key", output_key)):
        if value is not None and not isinstance(value, str):
            raise ValueError(f"`{name}` must be None or a string. Received: {name}={value!r}")
    if as_dict not in (None, True, False):
        raise ValueError(
            "`signature_outputs_as_dict` must be None, True or False. "
            f"Received: signature_outputs_as_dict={as_dict!r}"
        )
    if signature is not None and (output_key is None) == (not as_dict):
        raise ValueError(
            "When using a signature, set exactly one of `output_key` (one "
            "output) or `signature_outputs_as_dict=True` (all of them). "
            f"Received: output_key={output_key!r}, "
            f"signature_outputs_as_dict={as_dict!r}"
        )
    if signature is None and as_dict:
        raise ValueError(
            "`signature_outputs_as_dict=True` is only valid with a "
            "`signature`; a module's __call__ returns its own structure."
        )


def _shape_config(output_shape):
    """`output_shape` as JSON: a shape is a list of ints/None; a nest is a
    dict, or a list of shapes / nests."""

    def is_shape(x):
        return isinstance(x, (list, tuple)) and all(
            d is None or (isinstance(d, int) and not isinstance(d, bool) and d >= 0) for d in x
        )

    def convert(x):
        if isinstance(x, dict) and all(isinstance(k, str) for k in x):
            return {k: convert(v) for k, v in x.items()}
        if is_shape(x):
            return list(x)
        if isinstance(x, (list, tuple)):
            return [convert(v) for v in x]
        raise ValueError(
            "`output_shape` must be a shape without the batch size (a "
            "list of ints or None, e.g. (1280,)), or a dict or list of "
            f"shapes matching the output. Received: output_shape={output_shape!r}"
        )

    if output_shape is None:
        return None
    return convert(output_shape)


def _to_tensor_shapes(config):
    """JSON shapes → a nest with tf.TensorShape leaves (so tf.nest does not
    walk into them)."""
    import tensorflow as tf

    if config is None:
        return None
    if isinstance(config, dict):
        return {k: _to_tensor_shapes(v) for k, v in config.items()}
    if all(d is None or isinstance(d, int) for d in config):
        return tf.TensorShape(config)
    return [_to_tensor_shapes(v) for v in config]


def _load_options_config(load_options):
    """`load_options` as a JSON dict of LoadOptions' arguments."""
    import tensorflow as tf

    if load_options is None:
        return None
    if isinstance(load_options, tf.saved_model.LoadOptions):
        values = {k: getattr(load_options, k) for k in LOAD_OPTIONS}
        policy = values["experimental_variable_policy"]
        values["experimental_variable_policy"] = getattr(policy, "value", policy)
        return values
    if isinstance(load_options, dict) and set(load_options) <= set(LOAD_OPTIONS):
        tf.saved_model.LoadOptions(**load_options)  # its own checks
        return dict(load_options)
    raise ValueError(
        "`load_options` must be None, a tf.saved_model.LoadOptions or a "
        f"dict with keys from {LOAD_OPTIONS}. Received: "
        f"load_options={load_options!r}"
    )


def _has_parameter(fn, name):
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _first_input_spec(module):
    """The (nest of) TensorSpec of `__call__`'s first argument, if traced."""
    for concrete in getattr(module.__call__, "concrete_functions", None) or []:
        args, _ = concrete.structured_input_signature
        if args:
            return args[0]
    return None


def _conform(x, spec):
    """Convert the inputs to tensors of the dtypes the module was saved
    with (Keras may hand float16 or float64 to a float32 module)."""
    import tensorflow as tf

    if isinstance(x, dict) and not isinstance(spec, tf.TensorSpec):
        spec = spec if isinstance(spec, dict) else {}
        return {k: _conform(v, spec.get(k)) for k, v in x.items()}
    if isinstance(x, (list, tuple)) and not isinstance(spec, tf.TensorSpec):
        specs = spec if isinstance(spec, (list, tuple)) and len(spec) == len(x) else [None] * len(x)
        return type(x)(_conform(v, s) for v, s in zip(x, specs))
    x = tf.convert_to_tensor(x)
    if (
        isinstance(spec, tf.TensorSpec)
        and x.dtype != spec.dtype
        and tf.string not in (x.dtype, spec.dtype)
    ):
        x = tf.cast(x, spec.dtype)
    return x


def _select(outputs, key):
    import tensorflow as tf

    if not isinstance(outputs, dict):
        kind = "a Tensor" if tf.is_tensor(outputs) else f"a {type(outputs).__name__}"
        raise ValueError(
            f"`output_key`={key!r} was given, but the module returns "
            f"{kind}, not a dict: drop output_key."
        )
    if key not in outputs:
        raise ValueError(
            f"`output_key`={key!r} is not among the module's outputs; the "
            f"available keys are {sorted(outputs)}."
        )
    return outputs[key]
