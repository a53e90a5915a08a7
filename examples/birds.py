"""Case study 4: birds, 10 classes at 224x224, batch 16 — class weights,
a VGG16 bottleneck head (GlobalAveragePooling -> Dense(512) -> softmax,
RMSprop), fine-tuning from layer 15 with SGD(1e-4, momentum=0.9), saved
class names, and a prediction with label and confidence.

    python examples/birds.py --data birds    # train/ valid/ test/
    python examples/birds.py --smoke
"""

import argparse
import json
import os
import tempfile

import keras

import keras_tl
from keras_tl import data
from keras_tl import evaluation

AUGMENT = dict(
    rotation_range=40,
    width_shift_range=0.2,
    height_shift_range=0.2,
    shear_range=0.2,
    zoom_range=0.2,
    horizontal_flip=True,
    fill_mode="nearest",
)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="birds")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--smoke", action="store_true")
    args = p.parse_args(argv)
    root, size, weights, epochs = args.data, 224, "imagenet", args.epochs
    if args.smoke:
        from _smoke import image_folder, stand_in_weights

        classes = [f"bird_{i}" for i in range(10)]
        root = image_folder(classes, per_class=3, splits=("train", "valid", "test"))
        size, epochs = 32, 1
        weights = stand_in_weights("vgg16", (size, size, 3))
    load = lambda split, **kw: data.image_dataset_from_directory(
        f"{root}/{split}", (size, size), batch_size=16, **kw
    )
    train, val = load("train", augment=AUGMENT), load("valid", shuffle=False)
    test = load("test", shuffle=False)
    model = keras_tl.TransferClassifier(
        "vgg16",
        len(train.class_names),
        (size, size, 3),
        weights=weights,
        head_units=(512,),
        class_names=train.class_names,
    )
    model.compile(
        optimizer=keras.optimizers.RMSprop(1e-4),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    # Imbalanced classes: total / count per class (balanced form).
    weights_per_class = data.class_weights(train)
    model.fit(train, validation_data=val, epochs=epochs, class_weight=weights_per_class, verbose=2)
    model.unfreeze(from_layer=15)  # block5_conv1
    model.compile(
        optimizer=keras.optimizers.SGD(1e-4, momentum=0.9),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(train, validation_data=val, epochs=epochs, class_weight=weights_per_class, verbose=2)
    out = tempfile.mkdtemp(prefix="birds_")
    model.save(os.path.join(out, "model.keras"))
    with open(os.path.join(out, "class_indices.json"), "w") as f:
        json.dump({name: i for i, name in enumerate(model.class_names)}, f)
    images, _ = next(iter(test))
    labels, confidence = model.predict_labels(images[:3])
    for label, c in zip(labels, confidence):
        print(f"predicted {label} ({c:.1%})")
    print(evaluation.evaluate(model, test)["text"])
    return out


if __name__ == "__main__":
    main()
