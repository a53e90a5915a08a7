"""Case study 1: chest X-ray pneumonia (binary), grayscale -> RGB.

Baseline CNN, VGG16 and MobileNet feature extractors (Flatten -> Dense(1024)
-> Dropout(0.5) -> sigmoid), InceptionV3 with its last 50 layers unfrozen,
EarlyStopping, and the comparison table the tutorial builds by hand.

    python examples/chest_xray.py --data chest_xray     # train/ val/ test/
    python examples/chest_xray.py --smoke               # synthetic, seconds
"""

import argparse

import keras

import keras_tl
from keras_tl import data
from keras_tl import evaluation


def small_cnn(size):
    inputs = keras.Input((size, size, 3))
    x = inputs
    for filters in (32, 64, 128):
        x = keras.layers.Conv2D(filters, 3, activation="relu", padding="same")(x)
        x = keras.layers.MaxPooling2D()(x)
    return keras.Model(inputs, x, name="baseline_cnn")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="chest_xray")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--smoke", action="store_true")
    args = p.parse_args(argv)
    backbones = ("vgg16", "mobilenet", "inception_v3")
    root, size, epochs = args.data, 224, args.epochs
    weights = dict.fromkeys(backbones, "imagenet")
    if args.smoke:
        from _smoke import image_folder, stand_in_weights

        root = image_folder(
            ("NORMAL", "PNEUMONIA"), splits=("train", "val", "test"), grayscale=True
        )
        size, epochs = 75, 1
        weights = {name: stand_in_weights(name, (size, size, 3)) for name in backbones}

    def load(split, **kw):
        # color_mode="rgb" turns the grayscale X-rays into 3 channels.
        return data.image_dataset_from_directory(
            f"{root}/{split}", (size, size), label_mode="binary", batch_size=16, **kw
        )

    train, val, test = load("train"), load("val", shuffle=False), load("test", shuffle=False)
    shape = (size, size, 3)
    head = dict(pooling="flatten", head_units=(1024,), dropout=0.5)
    models = {"baseline_cnn": keras_tl.TransferClassifier(small_cnn(size), 1, preprocessing="tf")}
    models["baseline_cnn"].unfreeze("all")
    for name in ("vgg16", "mobilenet"):
        models[name] = keras_tl.TransferClassifier(name, 1, shape, weights=weights[name], **head)
    models["inception_v3"] = keras_tl.TransferClassifier(
        "inception_v3", 1, shape, weights=weights["inception_v3"]
    )
    models["inception_v3"].unfreeze(layers=50)
    for name, model in models.items():
        model.compile(
            optimizer=keras.optimizers.Adam(1e-4), loss="binary_crossentropy", metrics=["accuracy"]
        )
        stop = keras.callbacks.EarlyStopping(
            monitor="val_accuracy", patience=3, restore_best_weights=True
        )
        model.fit(train, validation_data=val, epochs=epochs, callbacks=[stop], verbose=2)
    table = evaluation.compare_models(models, test)
    print(evaluation.format_table(table))
    return table


if __name__ == "__main__":
    main()
