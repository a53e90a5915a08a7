"""Case study 2: cats vs dogs from TensorFlow Datasets with a TF Hub
MobileNetV2 feature vector (frozen) and one Dense layer, saved as .keras and
reloaded — no `custom_objects={"KerasLayer": hub.KerasLayer}`.

    python examples/cats_vs_dogs_hub.py            # downloads TFDS + Hub model
    python examples/cats_vs_dogs_hub.py --smoke    # TFDS mock data, local module
"""

import argparse
import os
import tempfile

import keras

import keras_tl
from keras_tl import data

HANDLE = "https://tfhub.dev/google/imagenet/mobilenet_v2_100_224/feature_vector/4"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--handle", default=HANDLE)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--smoke", action="store_true")
    args = p.parse_args(argv)
    if keras.backend.backend() != "tensorflow":
        print("This example runs a TF Hub SavedModel: use KERAS_BACKEND=tensorflow.")
        return None
    handle, size, epochs = args.handle, 224, args.epochs
    if args.smoke:
        import tensorflow_datasets as tfds
        from _smoke import feature_vector_savedmodel

        handle, size, epochs = feature_vector_savedmodel(), 32, 1
        with tfds.testing.mock_data(num_examples=16):
            return run(handle, size, epochs)
    return run(handle, size, epochs)


def run(handle, size, epochs):
    train = data.from_tfds("cats_vs_dogs", "train[:80%]", image_size=(size, size))
    val = data.from_tfds("cats_vs_dogs", "train[80%:]", image_size=(size, size), shuffle=False)
    model = keras.Sequential(
        [
            keras.Input((size, size, 3)),
            keras.layers.Rescaling(1 / 255.0),  # the tutorial's [0, 1] scaling
            keras_tl.hub.HubFeatureVector(handle, trainable=False, input_shape=(size, size, 3)),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(train, validation_data=val, epochs=epochs, verbose=2)
    path = os.path.join(tempfile.mkdtemp(), "cats_vs_dogs.keras")
    model.save(path)
    # The module is an external SavedModel: Keras's safe_mode asks you to
    # say you trust it.
    reloaded = keras.models.load_model(path, safe_mode=False)
    result = reloaded.evaluate(val, verbose=0, return_dict=True)
    print(f"reloaded model: validation accuracy {result['accuracy']:.3f}")
    return result


if __name__ == "__main__":
    main()
