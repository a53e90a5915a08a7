from keras_tl.data import files
from keras_tl.data import pipeline


def image_dataset_from_directory(
    directory,
    image_size=(224, 224),
    batch_size=32,
    label_mode="int",
    class_names=None,
    color_mode="rgb",
    validation_split=None,
    subset=None,
    seed=None,
    shuffle=True,
    augment=None,
    cache=False,
    interpolation="bilinear",
    on_error="skip",
    fast_jpeg=True,
    prefetch=True,
    augment_eval=False,
    drop_remainder=None,
):
    """A fast `tf.data` input path from a folder of class sub-folders.

    What `ImageDataGenerator.flow_from_directory` users need, built the way
    the tf.data performance guide says: file names shuffled (not pixels),
    parallel decoding, optional cache before augmentation, augmentation per
    batch, prefetch. Images come out as float32 in `[0, 255]`, the input a
    `TransferClassifier` expects.

    Args:
        directory: Folder with one sub-folder of images per class.
        image_size: `(height, width)` to resize to.
        batch_size: Batch size, or `None` for single images.
        label_mode: `"int"`, `"categorical"` (one-hot), `"binary"`
            (float, 2 classes) or `None` (images only).
        class_names: Explicit class order (default: sorted folder names).
        color_mode: `"rgb"` (grayscale files such as X-rays become 3
            identical channels, as ImageNet backbones need), `"grayscale"`
            or `"rgba"`.
        validation_split, subset, seed: Keras's split: `subset` is
            `"training"` or `"validation"`; use the same `seed` for both.
        shuffle: Reshuffle every epoch.
        augment: A layer (e.g. `ImageDataGeneratorAugmentation`), a dict of
            `ImageDataGenerator` keywords, or a list of those (applied in
            order, e.g. with keras-cv's `GridMask`), run per training
            batch. Standardization (`rescale`, centering, ZCA) is refused:
            it belongs in the model, so that inference sees the same
            scaling.
        cache: `True` (memory), a file path, or `False`. Cached images are
            decoded once; augmentation still runs every epoch.
        interpolation: Resize method.
        on_error: `"skip"` files that are not readable images (counted,
            logged, listed in `dataset.skipped_files`) or `"raise"` with the
            path. Every file (of the subset) is decoded once here, JPEGs at
            1/8 scale, so that a corrupt one cannot stop training mid-epoch.
        fast_jpeg: Decode large JPEGs at a reduced scale (DCT domain).
        prefetch: Overlap input with training.
        augment_eval: Allow `augment` on a dataset built for evaluation
            (`subset="validation"` or `shuffle=False`), refused otherwise.
        drop_remainder: Drop the last partial batch. `None` (default): only
            for a training set (`shuffle=True`) under a `keras.distribution`
            that splits each batch across devices (JAX), which needs even
            batches; there an evaluation set keeps every image and pads its
            last batch with zero-weight copies, yielding
            `(images, labels, sample_weights)`. `batch_size` is the global
            batch (all devices together).

    Returns:
        A `tf.data.Dataset` with extra attributes `class_names`,
        `class_counts` (dict), `file_paths` and `skipped_files`.

    Example:

    ```python
    train = keras_tl.data.image_dataset_from_directory(
        "xray/train", image_size=(224, 224), label_mode="binary",
        augment={"rotation_range": 10, "zoom_range": 0.1}, cache=True)
    model.fit(train, class_weight=keras_tl.data.class_weights(train))
    ```
    """
    image_size = pipeline.check_image_size(image_size)
    files.check_on_error(on_error)
    directory = str(directory)
    paths, labels, class_names = files.list_class_folders(directory, class_names)
    pipeline.check_options(label_mode, color_mode, interpolation, batch_size, len(class_names))
    augment = pipeline.make_augment(augment, shuffle, subset, augment_eval)
    channels = pipeline.COLOR_MODES[color_mode]
    paths, labels, skipped = files.filter_images(
        paths,
        labels,
        on_error,
        decode_errors=lambda kept: pipeline.decode_errors(kept, channels),
        select=lambda p, y: files.split(p, y, validation_split, subset, seed),
    )
    if not paths:
        raise ValueError(f"No readable images found in {directory!r}.")
    return pipeline.build(
        paths,
        labels,
        class_names,
        image_size,
        batch_size=batch_size,
        label_mode=label_mode,
        color_mode=color_mode,
        shuffle=shuffle,
        seed=seed,
        augment=augment,
        cache=cache,
        interpolation=interpolation,
        fast_jpeg=fast_jpeg,
        prefetch=prefetch,
        skipped=skipped,
        subset=subset,
        augment_eval=augment_eval,
        drop_remainder=drop_remainder,
    )
