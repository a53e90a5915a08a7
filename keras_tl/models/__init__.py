from keras_tl.models.transfer_classifier import TransferClassifier

__all__ = ["TransferClassifier"]
