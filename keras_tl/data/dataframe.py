"""`flow_from_dataframe`'s replacement: images listed in a table."""

import numbers
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
        y_col: Column of class names, all of one type (strings or ints);
            missing labels are an error.
        image_size, batch_size, label_mode, on_error: As in
            `image_dataset_from_directory`.
        class_names: Class order (default: sorted unique labels).
        **kwargs: Other `image_dataset_from_directory` options (`shuffle`,
            `seed`, `augment`, `augment_eval`, `cache`, `color_mode`, ...).

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
            f"The dataframe needs the columns x_col={x_col!r} and y_col={y_col!r}: {error}"
        ) from None
    _check_columns(names, raw_labels, x_col, y_col)
    if class_names is None:
        class_names = sorted({str(v) for v in raw_labels})
    index = {str(name): i for i, name in enumerate(class_names)}
    if len(index) != len(class_names):
        raise ValueError(
            f"`class_names` must not repeat a class. Received: class_names={list(class_names)}"
        )
    unknown = sorted({str(v) for v in raw_labels} - set(index))
    if unknown:
        raise ValueError(f"Labels {unknown} are not in class_names {class_names}.")
    paths = [os.path.join(directory, n) if directory else str(n) for n in names]
    labels = [index[str(v)] for v in raw_labels]
    color_mode = kwargs.get("color_mode", "rgb")
    pipeline.check_options(
        label_mode,
        color_mode,
        kwargs.get("interpolation", "bilinear"),
        batch_size,
        len(class_names),
    )
    kwargs["augment"] = pipeline.make_augment(
        kwargs.get("augment"),
        kwargs.get("shuffle", True),
        augment_eval=kwargs.get("augment_eval", False),
    )
    channels = pipeline.COLOR_MODES[color_mode]
    paths, labels, skipped = files.filter_images(
        paths,
        labels,
        on_error,
        lambda kept: pipeline.decode_errors(kept, channels),
    )
    if not paths:
        raise ValueError("No readable images are listed in the dataframe.")
    return pipeline.build(
        paths,
        labels,
        class_names,
        image_size,
        batch_size=batch_size,
        label_mode=label_mode,
        skipped=skipped,
        **kwargs,
    )


def _check_columns(names, labels, x_col, y_col):
    """Columns that would silently go wrong: unequal lengths (zip would
    drop rows), missing values (NaN would become a class "nan") and labels
    of mixed types (1, "1" and 1.0 would become three classes)."""
    if len(names) != len(labels):
        raise ValueError(
            f"Columns x_col={x_col!r} and y_col={y_col!r} must have the same "
            f"length; they have {len(names)} and {len(labels)} values."
        )
    for column, values in ((x_col, names), (y_col, labels)):
        missing = sum(_is_missing(v) for v in values)
        if missing:
            raise ValueError(
                f"Column {column!r} has {missing} missing value(s) (None or "
                f"NaN) in {len(values)} rows. Drop those rows (e.g. "
                f"df.dropna(subset=[{column!r}])) or fill them in."
            )
    types = sorted({_label_type(v) for v in labels})
    if len(types) > 1:
        raise ValueError(
            f"Column y_col={y_col!r} mixes label types {types}; 1, '1' and "
            "1.0 would be different classes. Give it one type, e.g. "
            f"df[{y_col!r}].astype(str)."
        )


def _is_missing(value):
    try:
        return value is None or bool(value != value)  # NaN, NaT
    except TypeError:  # pandas.NA has no truth value
        return True


def _label_type(value):
    if isinstance(value, (bool, str)):
        return type(value).__name__
    if isinstance(value, numbers.Integral):  # NumPy ints too
        return "int"
    if isinstance(value, numbers.Real):
        return "float"
    return type(value).__name__
