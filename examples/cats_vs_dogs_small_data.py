"""Case study 3: cats vs dogs with little data (3,000 / 1,000 / 1,000 at
150x150) — the progression from a scratch CNN to fine-tuned VGG16:

1. scratch CNN;  2. + augmentation;  3. VGG16 bottleneck features (extract
once, train the head fast);  4. + augmentation through the frozen model;
5. fine-tune VGG16 blocks 4-5 with augmentation (one fine_tune call).

    python examples/cats_vs_dogs_small_data.py --data cats_and_dogs_small
    python examples/cats_vs_dogs_small_data.py --smoke
"""

import argparse

import keras

import keras_tl
from keras_tl import data
from keras_tl import evaluation

AUGMENT = dict(
    zoom_range=0.3,
    rotation_range=50,
    width_shift_range=0.2,
    height_shift_range=0.2,
    shear_range=0.2,
    horizontal_flip=True,
    fill_mode="nearest",
)


def scratch_cnn(size):
    inputs = keras.Input((size, size, 3))
    x = inputs
    for filters in (32, 64, 128, 128):
        x = keras.layers.Conv2D(filters, 3, activation="relu")(x)
        x = keras.layers.MaxPooling2D()(x)
    return keras.Model(inputs, x, name="scratch_cnn")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="cats_and_dogs_small")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--smoke", action="store_true")
    args = p.parse_args(argv)
    root, size, weights, epochs = args.data, 150, "imagenet", args.epochs
    if args.smoke:
        from _smoke import image_folder, stand_in_weights

        root = image_folder(("cats", "dogs"), splits=("train", "validation", "test"))
        size, epochs = 48, 2
        weights = stand_in_weights("vgg16", (size, size, 3))
    load = lambda split, **kw: data.image_dataset_from_directory(
        f"{root}/{split}", (size, size), label_mode="binary", batch_size=20, **kw
    )
    train, val = load("train"), load("validation", shuffle=False)
    augmented, test = load("train", augment=AUGMENT), load("test", shuffle=False)
    compile_ = lambda m, lr=1e-4: m.compile(
        optimizer=keras.optimizers.RMSprop(lr), loss="binary_crossentropy", metrics=["accuracy"]
    )
    shape, models = (size, size, 3), {}

    for name, ds in (("1 scratch", train), ("2 scratch + augmentation", augmented)):
        model = keras_tl.TransferClassifier(
            scratch_cnn(size),
            1,
            preprocessing="tf",
            pooling="flatten",
            head_units=(512,),
            dropout=0.5,
        )
        model.unfreeze("all")
        compile_(model, 1e-3)
        model.fit(ds, validation_data=val, epochs=epochs, verbose=2)
        models[name] = model

    # 3. Bottleneck features: run VGG16 once, train the head many times faster.
    vgg = keras_tl.TransferClassifier(
        "vgg16", 1, shape, weights=weights, pooling="flatten", head_units=(256,), dropout=0.5
    )
    features, labels = vgg.extract_features(train)
    val_features, val_labels = vgg.extract_features(val)
    compile_(vgg.head, 2e-5)
    vgg.head.fit(
        features,
        labels,
        validation_data=(val_features, val_labels),
        epochs=epochs,
        batch_size=20,
        verbose=2,
    )
    models["3 VGG16 bottleneck features"] = vgg  # the full model uses the head

    # 4 and 5: augmentation through the frozen model, then blocks 4-5 open.
    tuned = keras_tl.TransferClassifier(
        "vgg16", 1, shape, weights=weights, pooling="flatten", head_units=(256,), dropout=0.5
    )
    compile_(tuned, 2e-5)
    # `epochs` head-only epochs (4), then `epochs` with blocks 4-5 at half the rate (5).
    tuned.fine_tune(
        augmented,
        validation_data=val,
        freeze_epochs=epochs,
        epochs=epochs,
        unfreeze={"blocks": 2},
        lr_ratio=0.5,
        verbose=2,
    )
    models["5 VGG16 fine-tuned blocks 4-5"] = tuned

    table = evaluation.compare_models(models, test)
    print(evaluation.format_table(table))
    return table


if __name__ == "__main__":
    main()
