"""More than one device, on Keras's own engines: `keras.distribution` on
JAX, `tf.distribute` on TensorFlow.

`data_parallel()` opens the right one for the backend; the checks here
catch a model built outside the distribution it is trained under, with a
message that says which order to use (the engines otherwise fail deep
inside — JAX: "incompatible devices for jitted computation" — or train on
one device without a word: TF, a model made outside `strategy.scope()`),
and tell the loaders how many ways each batch is split."""

import contextlib

import keras

_JAX_ORDER = (
    "Set the distribution first, then build the model: "
    "keras.distribution.set_distribution(keras.distribution.DataParallel()) "
    "(or ModelParallel), then TransferClassifier(...), compile() and fit(). "
    "To move a built model, save it and load it after set_distribution()."
)
_TF_ORDER = (
    "Create and compile the model inside the strategy's scope: "
    "`with strategy.scope(): model = TransferClassifier(...); "
    "model.compile(...)`, then call fit() (inside or outside the scope)."
)


def check_model_placement(model):
    """Raise `ValueError` if `model`'s variables do not live where the active
    distribution (JAX) or strategy (TF) puts them."""
    backend = keras.backend.backend()
    if backend == "jax":
        _check_jax(model)
    elif backend == "tensorflow":
        _check_tf(model)


def data_parallel_replicas():
    """How many ways each batch is split across devices: by the active
    `keras.distribution` on JAX, which needs every batch to split evenly, or
    by the `tf.distribute` strategy whose scope is open on TensorFlow (a
    replica left with no image fails inside TF). 1 otherwise."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        if not tf.distribute.has_strategy():
            return 1
        return int(tf.distribute.get_strategy().num_replicas_in_sync)
    if backend != "jax":
        return 1
    distribution = keras.distribution.distribution()
    if distribution is None:
        return 1
    mesh = distribution.device_mesh
    axis = getattr(distribution, "batch_dim_name", None)
    if axis in mesh.axis_names:
        return int(mesh.shape[mesh.axis_names.index(axis)])
    return int(mesh.devices.size)


def check_global_batch(batch_size, replicas):
    """A global batch must split evenly across the replicas."""
    if batch_size % replicas:
        raise ValueError(
            f"`batch_size` is the global batch, split across {replicas} "
            f"devices by the active distribution; it must divide by "
            f"{replicas}. Received: batch_size={batch_size}"
        )


def last_batch_plan(count, batch_size, shuffle, drop_remainder=None):
    """`(drop_remainder, pad, replicas)` for `count` examples in global batches of
    `batch_size` under the active distribution: `drop_remainder=None` drops
    a training set's (`shuffle=True`) last partial batch when it cannot be
    split evenly; otherwise `pad` examples complete the last batch's split."""
    replicas = data_parallel_replicas()
    check_global_batch(batch_size, replicas)
    if drop_remainder is None:
        drop_remainder = bool(shuffle) and replicas > 1
    pad = 0 if drop_remainder else -(count % batch_size) % replicas
    return bool(drop_remainder), pad, replicas


def model_replicas(model):
    """`data_parallel_replicas()` for the engine `model` runs under: on
    TensorFlow its own strategy (fit/predict use it outside the scope too)."""
    if keras.backend.backend() == "tensorflow":
        strategy = getattr(model, "_distribute_strategy", None)
        return int(strategy.num_replicas_in_sync) if strategy is not None else 1
    return data_parallel_replicas()


def _check_jax(model):
    distribution = keras.distribution.distribution()
    if distribution is None or not model.weights:
        return
    mesh_ids = mesh_device_keys(distribution)
    for variable in model.weights:
        sharding = getattr(variable.value, "sharding", None)
        if sharding is None:
            continue
        held = {device_key(d) for d in sharding.device_set}
        if held != mesh_ids:
            raise ValueError(
                f"The model's variable '{variable.path}' lives on "
                f"{len(held)} device(s), but the active keras.distribution "
                f"spans {len(mesh_ids)}: the model was built before the "
                f"distribution was set. {_JAX_ORDER}"
            )


def mesh_device_keys(distribution):
    """`device_key`s of a `keras.distribution`'s mesh."""
    return {device_key(d) for d in distribution.device_mesh.devices.flatten()}


def device_key(device):
    """`"cpu:0"` for a jax device or a device string: a mesh may hold
    either, so devices are compared by this key."""
    if isinstance(device, str):
        return device.lower().replace("/device:", "").replace("tfrt_", "")
    return f"{device.platform}:{device.id}"


def _check_tf(model):
    import tensorflow as tf

    if not tf.distribute.has_strategy():
        return  # fit() outside a scope uses the model's own strategy
    current = tf.distribute.get_strategy()
    # Keras records the strategy in force when the model was created (None
    # outside any scope); `distribute_strategy` would report the current one.
    own = getattr(model, "_distribute_strategy", None)
    if own is not current:
        built = type(own).__name__ if own is not None else "no strategy"
        raise ValueError(
            f"fit() runs under {type(current).__name__}, but the model was "
            f"built under {built}: its variables are not distributed. "
            f"{_TF_ORDER}"
        )


@contextlib.contextmanager
def data_parallel(devices="all"):
    """Data-parallel training on Keras's own engine for the backend.

    JAX: a `keras.distribution.DataParallel` over the first `devices`
    devices; TensorFlow: a `tf.distribute.MirroredStrategy` over the first
    `devices` GPUs (or CPU devices where there is no GPU). Build the
    datasets and the model, compile and fit inside the block. `batch_size`
    stays the global batch: each device gets `batch_size / devices`.

    Args:
        devices: `"all"`, or how many devices to use (1 changes nothing).

    Yields:
        The number of devices in use.

    Example:

    ```python
    with keras_tl.distribution.data_parallel("all"):
        train = keras_tl.data.image_dataset_from_directory("data/train")
        model = keras_tl.TransferClassifier("resnet50", 10)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(train, epochs=5)
    ```
    """
    available = _local_devices()
    if devices == "all":
        count = len(available)
    elif isinstance(devices, int) and not isinstance(devices, bool) and devices >= 1:
        count = devices
    else:
        raise ValueError(
            f"`devices` must be 'all' or an integer >= 1. Received: devices={devices!r}"
        )
    if count > len(available):
        raise ValueError(
            f"`devices={devices}` but {len(available)} device(s) are visible: "
            f"{[str(d) for d in available]}."
        )
    if count == 1:
        yield 1
        return
    if keras.backend.backend() == "jax":
        distribution = keras.distribution.DataParallel(devices=available[:count])
        with distribution.scope():
            yield count
    elif keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        key = tuple(available[:count])
        # One strategy per device set: a second MirroredStrategy over the same
        # devices in one process can mix up collective keys with the first.
        if key not in _STRATEGIES:
            _STRATEGIES[key] = tf.distribute.MirroredStrategy(list(key))
        with _STRATEGIES[key].scope():
            yield count
    else:
        raise ValueError(
            f"data_parallel supports the jax and tensorflow backends, not "
            f"{keras.backend.backend()!r}."
        )


_STRATEGIES = {}


def _local_devices():
    if keras.backend.backend() == "jax":
        import jax

        return jax.devices()
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_logical_devices("GPU")
        return [d.name for d in gpus or tf.config.list_logical_devices("CPU")]
    return ["cpu"]
