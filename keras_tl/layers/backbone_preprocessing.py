import keras
from keras import ops

MODES = ("tf", "caffe", "torch", "none")
_CAFFE_MEAN = (103.939, 116.779, 123.68)
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)


@keras.saving.register_keras_serializable(package="keras_tl")
class BackbonePreprocessing(keras.layers.Layer):
    """The `preprocess_input` of a `keras.applications` family, as a layer.

    Putting it inside the model means a saved model takes raw `[0, 255]`
    RGB images, whatever backbone it holds.

    Args:
        mode: `"tf"` (scale to `[-1, 1]`), `"caffe"` (RGB to BGR, subtract
            the ImageNet mean), `"torch"` (scale to `[0, 1]`, normalize with
            the ImageNet mean and std) or `"none"` (pass through: EfficientNet,
            ConvNeXt and MobileNetV3 rescale inside).
        **kwargs: Base layer keyword arguments.

    Example:

    ```python
    layer = keras_tl.layers.BackbonePreprocessing("caffe")
    layer(np.full((1, 2, 2, 3), 255.0))  # same as vgg16.preprocess_input
    ```
    """

    def __init__(self, mode="tf", **kwargs):
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(f"`mode` must be one of {MODES}. Received: mode={mode!r}")
        self.mode = mode
        self.supports_masking = True

    def call(self, inputs):
        x = ops.cast(inputs, self.compute_dtype)
        if self.mode == "tf":
            return x / 127.5 - 1.0
        if self.mode == "torch":
            mean = ops.convert_to_tensor(_TORCH_MEAN, self.compute_dtype)
            std = ops.convert_to_tensor(_TORCH_STD, self.compute_dtype)
            return (x / 255.0 - mean) / std
        if self.mode == "caffe":
            mean = ops.convert_to_tensor(_CAFFE_MEAN, self.compute_dtype)
            return ops.flip(x, axis=-1) - mean
        return x

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"mode": self.mode})
        return config
