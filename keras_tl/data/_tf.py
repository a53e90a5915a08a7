"""Lazy TensorFlow import for the tf.data parts of keras_tl."""


def require_tensorflow(what):
    try:
        import tensorflow as tf
    except ImportError as error:
        raise ImportError(
            f"{what} needs TensorFlow (tf.data), which is not installed. "
            "Install it with `pip install keras_tl[tf]`, or on a JAX-only "
            "machine use keras_tl.data.load_image_folder(...) with "
            "keras_tl.data.ArrayDataset(...), which need no TensorFlow."
        ) from error
    return tf
