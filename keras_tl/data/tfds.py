"""TensorFlow Datasets splits as keras_tl datasets."""

from keras_tl.data import pipeline
from keras_tl.data._tf import require_tensorflow


def from_tfds(
    name,
    split="train",
    image_size=(224, 224),
    batch_size=32,
    shuffle=True,
    seed=None,
    augment=None,
    cache=False,
    data_dir=None,
    prefetch=True,
    augment_eval=False,
    drop_remainder=None,
    **load_kwargs,
):
    """A TensorFlow Datasets image-classification split, batched and
    resized, as the cats-vs-dogs tutorials build by hand.

    Args:
        name: TFDS name, e.g. `"cats_vs_dogs"`.
        split: TFDS split string, e.g. `"train[:80%]"`.
        image_size: `(height, width)`.
        batch_size, shuffle, seed, augment, cache, prefetch, augment_eval,
            drop_remainder: As in `image_dataset_from_directory`.
        data_dir: Where TFDS keeps its data.
        **load_kwargs: More `tfds.load` arguments.

    Returns:
        A `tf.data.Dataset` of `(images in [0, 255], int labels)` with
        `class_names`.

    Example:

    ```python
    train = keras_tl.data.from_tfds("cats_vs_dogs", "train[:80%]",
                                    image_size=(224, 224))
    ```
    """
    tf = require_tensorflow("keras_tl.data.from_tfds")
    try:
        import tensorflow_datasets as tfds
    except ImportError as error:
        raise ImportError(
            "from_tfds needs tensorflow-datasets: pip install keras_tl[tf]"
        ) from error
    image_size = pipeline.check_image_size(image_size)
    batch_size = pipeline.check_batch_size(batch_size)
    augment = pipeline.make_augment(augment, shuffle, augment_eval=augment_eval)
    ds, info = tfds.load(
        name,
        split=split,
        as_supervised=True,
        with_info=True,
        data_dir=data_dir,
        **load_kwargs,
    )
    label = info.features["label"]
    class_names = list(getattr(label, "names", None) or range(label.num_classes))

    def resize(image, y):
        image = tf.image.resize(tf.cast(image, tf.float32), image_size)
        if image.shape[-1] == 1:
            image = tf.image.grayscale_to_rgb(image)
        return image, y

    ds = ds.map(resize, num_parallel_calls=tf.data.AUTOTUNE)
    if cache:
        ds = ds.cache("" if cache is True else str(cache))
    if shuffle:
        ds = ds.shuffle(1024, seed=seed)
    ds = pipeline.finish(
        tf,
        ds,
        int(ds.cardinality()),
        batch_size,
        augment,
        shuffle,
        labeled=True,
        prefetch=prefetch,
        drop_remainder=drop_remainder,
    )
    ds.class_names = class_names
    return ds
