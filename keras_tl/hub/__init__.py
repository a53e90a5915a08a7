"""TF Hub feature vectors as Keras 3 layers (TensorFlow backend).

TensorFlow is imported when a layer is created, not when this module is.
"""

from keras_tl.hub.hub_feature_vector import HubFeatureVector

__all__ = ["HubFeatureVector"]
