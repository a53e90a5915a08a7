"""Choose and set a mixed-precision policy from the device."""

import keras

POLICIES = ("auto", "float32", "mixed_float16", "mixed_bfloat16")


def detect_policy():
    """The fastest safe policy for every accelerator in use, and why.

    With several GPUs the oldest one decides: a policy must be safe and fast
    on each replica (bfloat16 on a Volta card among Amperes would be
    emulated there and hold every step back)."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        devices = _jax_devices(jax)
        if devices[0].platform == "tpu":
            return "mixed_bfloat16", "TPU"
        if devices[0].platform == "gpu":
            return _gpu_policy([float(getattr(d, "compute_capability", 0) or 0) for d in devices])
        return "float32", "CPU (mixed precision is slower there)"
    if backend == "tensorflow":
        import tensorflow as tf

        if tf.config.list_logical_devices("TPU"):
            return "mixed_bfloat16", "TPU"
        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            capabilities = []
            for gpu in gpus:
                details = tf.config.experimental.get_device_details(gpu)
                major, minor = details.get("compute_capability", (0, 0))
                capabilities.append(major + minor / 10)
            return _gpu_policy(capabilities)
        return "float32", "CPU (mixed precision is slower there)"
    return "float32", f"backend {backend}"


def _jax_devices(jax):
    """The active `keras.distribution`'s devices, else all local ones."""
    devices = jax.devices()
    distribution = keras.distribution.distribution()
    if distribution is None:
        return devices
    # The mesh names devices as strings ("gpu:0") or holds jax devices.
    from keras_tl.distribution import device_key
    from keras_tl.distribution import mesh_device_keys

    keys = mesh_device_keys(distribution)
    return [d for d in devices if device_key(d) in keys] or devices


def _gpu_policy(capabilities):
    lowest = min(capabilities)
    where = f"{len(capabilities)} GPU(s), lowest compute capability {lowest:g}"
    if lowest >= 8.0:
        return "mixed_bfloat16", where
    if lowest >= 7.0:
        return "mixed_float16", where
    return "float32", where


def enable(policy="auto"):
    """Set Keras's global dtype policy and return the one chosen.

    Args:
        policy: `"auto"` (bfloat16 on TPUs and Ampere-or-newer GPUs, float16
            on Volta/Turing GPUs, float32 on CPUs), or an explicit
            `"float32"`, `"mixed_float16"`, `"mixed_bfloat16"`.

    Returns:
        The policy name that is now global. Models built afterwards compute
        in it; `TransferClassifier` keeps its output in float32.
    """
    if policy not in POLICIES:
        raise ValueError(f"`policy` must be one of {POLICIES}. Received: {policy!r}")
    if policy == "auto":
        policy, _ = detect_policy()
    keras.mixed_precision.set_global_policy(policy)
    return policy
