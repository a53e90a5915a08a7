"""Keras layers: backbone preprocessing and augmentation."""

from keras_tl.layers.backbone_preprocessing import BackbonePreprocessing

__all__ = ["BackbonePreprocessing"]
