"""Catch a model built outside the distribution it is trained under, with a
message that says which order to use. Both engines otherwise fail deep
inside (JAX: "incompatible devices for jitted computation") or train on
one device without a word (TF: a model made outside `strategy.scope()`)."""

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


def _check_jax(model):
    distribution = keras.distribution.distribution()
    if distribution is None or not model.weights:
        return
    # Compare by name: the mesh may hold device strings or jax devices.
    mesh_ids = {_device_key(d) for d in distribution.device_mesh.devices.flatten()}
    for variable in model.weights:
        sharding = getattr(variable.value, "sharding", None)
        if sharding is None:
            continue
        held = {_device_key(d) for d in sharding.device_set}
        if held != mesh_ids:
            raise ValueError(
                f"The model's variable '{variable.path}' lives on "
                f"{len(held)} device(s), but the active keras.distribution "
                f"spans {len(mesh_ids)}: the model was built before the "
                f"distribution was set. {_JAX_ORDER}"
            )


def _device_key(device):
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
