"""Choose and set a mixed-precision policy from the device."""

import keras

POLICIES = ("auto", "float32", "mixed_float16", "mixed_bfloat16")


def detect_policy():
    """The fastest safe policy for the first accelerator, and why."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        device = jax.devices()[0]
        if device.platform == "tpu":
            return "mixed_bfloat16", "TPU"
        if device.platform == "gpu":
            capability = getattr(device, "compute_capability", None)
            major = float(capability or 0)
            if major >= 8.0:
                return "mixed_bfloat16", f"GPU with compute capability {capability}"
            if major >= 7.0:
                return "mixed_float16", f"GPU with compute capability {capability}"
            return "float32", f"GPU with compute capability {capability}"
        return "float32", "CPU (mixed precision is slower there)"
    if backend == "tensorflow":
        import tensorflow as tf

        if tf.config.list_logical_devices("TPU"):
            return "mixed_bfloat16", "TPU"
        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            details = tf.config.experimental.get_device_details(gpus[0])
            major, minor = details.get("compute_capability", (0, 0))
            if major >= 8:
                return "mixed_bfloat16", f"GPU with compute capability {major}.{minor}"
            if major >= 7:
                return "mixed_float16", f"GPU with compute capability {major}.{minor}"
        return "float32", "CPU (mixed precision is slower there)"
    return "float32", f"backend {backend}"


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
