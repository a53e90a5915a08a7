"""Tiny synthetic stand-ins for the examples' `--smoke` mode: random
images in the same folder layout the real datasets use."""

import os
import tempfile

import numpy as np


def image_folder(classes, per_class=6, size=48, splits=None, grayscale=False, seed=0):
    """Write JPEGs to `<tmp>/<split>/<class>/i.jpg` (or without splits) and
    return the root. Each class gets its own brightness so it is learnable."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    root = tempfile.mkdtemp(prefix="keras_tl_smoke_")
    for split in splits or [""]:
        for c, name in enumerate(classes):
            folder = os.path.join(root, split, name)
            os.makedirs(folder)
            for i in range(per_class):
                level = 40 + 180 * c / max(1, len(classes) - 1)
                pixels = np.clip(rng.normal(level, 30, (size, size, 3)), 0, 255)
                img = Image.fromarray(pixels.astype("uint8"))
                (img.convert("L") if grayscale else img).save(os.path.join(folder, f"{i}.jpg"))
    return root


def stand_in_weights(name, input_shape):
    """A weights file for backbone `name`, in place of the ImageNet download:
    the same loading path (`weights="/path/file"`, backbone frozen at the
    start) with random values."""
    import keras_tl

    backbone, _ = keras_tl.backbones.build_backbone(name, input_shape, weights=None)
    path = os.path.join(tempfile.mkdtemp(prefix="keras_tl_weights_"), f"{name}.weights.h5")
    backbone.save_weights(path)
    return path


def feature_vector_savedmodel(dim=16):
    """A reusable TF2 SavedModel shaped like a Hub image feature vector."""
    import tensorflow as tf

    class FeatureVector(tf.Module):
        def __init__(self):
            super().__init__()
            self.kernel = tf.Variable(tf.random.stateless_normal((3, dim), (1, 2)), name="kernel")

        @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
        def __call__(self, images):
            return tf.nn.relu(tf.matmul(tf.reduce_mean(images, axis=[1, 2]), self.kernel))

    path = tempfile.mkdtemp(prefix="keras_tl_hub_")
    tf.saved_model.save(FeatureVector(), path)
    return path
