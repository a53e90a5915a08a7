import os

from keras_tl.data import files
from keras_tl.data import pipeline


def from_dataframe(
    dataframe,
    directory=None,
    x_col="filename",
    y_col="class",
    image_size=(224, 224),
    batch_size=32,
    label_mode="int",
    class_names=None,
    on_error="skip",
    **kwargs,
):
    """What `flow_from_dataframe` users need: images listed in a table.

    Args:
        dataframe: A pandas DataFrame (or any mapping of column name to a
            sequence) with a file-name column and a label column.
        directory: Folder the file names are relative to (optional).
        x_col: Column of file paths.
        y_col: Column of class names (strings or ints).
        image_size, batch_size, label_mode, on_error: As in
            `image_dataset_from_directory`.
        class_names: Class order (default: sorted unique labels).
        **kwargs: Other `image_dataset_from_directory` options (`shuffle`,
            `seed`, `augment`, `cache`, `color_mode`, ...).

    Returns:
        A `tf.data.Dataset` with `class_names`, `class_counts`,
        `file_paths` and `skipped_files`.
    """
    image_size = pipeline.check_image_size(image_size)
    files.check_on_error(on_error)
    try:
        names = list(dataframe[x_col])
        raw_labels = list(dataframe[y_col])
    except (KeyError, TypeError) as error:
        raise ValueError(
            f"The dataframe needs the columns x_col={x_col!r} and "
            f"y_col={y_col!r}: {error}"
        ) from None
    if class_names is None:
        class_names = sorted({str(v) for v in raw_labels})
    index = {str(name): i for i, name in enumerate(class_names)}
    unknown = sorted({str(v) for v in raw_labels} - set(index))
    if unknown:
        raise ValueError(f"Labels {unknown} are not in class_names {class_names}.")
    paths = [os.path.join(directory, n) if directory else str(n) for n in names]
    labels = [index[str(v)] for v in raw_labels]
    pipeline.check_options(
        label_mode, kwargs.get("color_mode", "rgb"),
        kwargs.get("interpolation", "bilinear"), batch_size, len(class_names),
    )  # fmt: skip
    paths, labels, skipped = files.filter_images(paths, labels, on_error)
    if not paths:
        raise ValueError("No readable images are listed in the dataframe.")
    return pipeline.build(
        paths, labels, class_names, image_size, batch_size=batch_size,
        label_mode=label_mode, skipped=skipped, **kwargs,
    )  # fmt: skip
