"""What every benchmark shares: the environment record, timing
statistics, the Markdown table (keras_tl.evaluation.format_table) and
the JSON file."""

import datetime
import json
import os
import platform
import statistics
import time

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def device_name():
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        device = jax.devices()[0]
        if device.platform != "cpu":
            return device.device_kind
    elif backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            return tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU")
    return f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def device_names():
    """Every device the backend sees (a multi-device run uses several)."""
    import keras

    if keras.backend.backend() == "jax":
        import jax

        return [
            f"{d.platform}:{d.id} {getattr(d, 'device_kind', '')}".strip() for d in jax.devices()
        ]
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return [d.name for d in tf.config.list_logical_devices() if d.device_type in ("GPU", "CPU")]
    return []


def versions():
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for name in ("keras", "keras_tl", "jax", "jaxlib", "tensorflow", "numpy"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            pass
    if "keras_tl" not in out:
        from keras_tl import __version__

        out["keras_tl"] = __version__
    return out


def environment(benchmark):
    import keras

    return {
        "benchmark": benchmark,
        "device": device_name(),
        "backend": keras.backend.backend(),
        "versions": versions(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "records": [],
    }


def summarize(samples):
    """Median and spread of repeated measurements."""
    return {
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "repeats": len(samples),
    }


def timed(fn, repeats, warmup=1):
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def markdown_table(rows, columns):
    """The records as a Markdown table for the README."""
    from keras_tl.evaluation import format_table

    return format_table(rows, columns, number_format=_number, missing="", markdown=True)


def _number(v):
    return f"{v:,.1f}" if abs(v) >= 100 else f"{v:.3g}"


def write(result, out_dir=None, suffix=""):
    out_dir = out_dir or RESULTS
    os.makedirs(out_dir, exist_ok=True)
    tag = result["backend"] + ("_" + suffix if suffix else "")
    path = os.path.join(out_dir, f"{result['benchmark']}_{tag}.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=2)
    return path


# The Keras tutorials' ImageDataGenerator settings, which the augmentation
# benchmarks time.
TUTORIAL_AUGMENT = dict(
    rotation_range=40,
    width_shift_range=0.2,
    height_shift_range=0.2,
    shear_range=0.2,
    zoom_range=0.2,
    horizontal_flip=True,
    fill_mode="nearest",
)
