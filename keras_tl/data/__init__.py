"""The input path. Folder/DataFrame/TFDS/array loaders build `tf.data`
pipelines and import TensorFlow when called; `load_image_folder` and
`ArrayDataset` need no TensorFlow (the JAX-only path)."""

from keras_tl.data.arrays import ArrayDataset
from keras_tl.data.arrays import from_arrays
from keras_tl.data.arrays import load_image_folder
from keras_tl.data.class_weights import class_weights
from keras_tl.data.dataframe import from_dataframe
from keras_tl.data.directory import image_dataset_from_directory
from keras_tl.data.files import check_image_file
from keras_tl.data.tfds import from_tfds

__all__ = [
    "ArrayDataset",
    "check_image_file",
    "class_weights",
    "from_arrays",
    "from_dataframe",
    "from_tfds",
    "image_dataset_from_directory",
    "load_image_folder",
]
