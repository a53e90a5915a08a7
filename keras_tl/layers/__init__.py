"""Keras layers: backbone preprocessing and augmentation."""

from keras_tl.layers.backbone_preprocessing import BackbonePreprocessing
from keras_tl.layers.image_data_generator_augmentation import (
    ImageDataGeneratorAugmentation,
)

__all__ = ["BackbonePreprocessing", "ImageDataGeneratorAugmentation"]
