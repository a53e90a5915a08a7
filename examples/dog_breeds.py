"""Case study 3b: 120 dog breeds, InceptionV3 at 299x299 as a frozen
feature extractor, 15 epochs; test accuracy and macro F1.

    python examples/dog_breeds.py --data dog_breeds    # train/ test/
    python examples/dog_breeds.py --smoke
"""

import argparse


import keras_tl
from keras_tl import data
from keras_tl import evaluation


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="dog_breeds")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--smoke", action="store_true")
    args = p.parse_args(argv)
    root, size, weights, epochs = args.data, 299, "imagenet", args.epochs
    if args.smoke:
        from _smoke import image_folder, stand_in_weights

        root = image_folder([f"breed_{i}" for i in range(4)], per_class=3, splits=("train", "test"))
        size, epochs = 75, 1
        weights = stand_in_weights("inception_v3", (size, size, 3))
    train = data.image_dataset_from_directory(
        f"{root}/train", (size, size), validation_split=0.2, subset="training", seed=1
    )
    val = data.image_dataset_from_directory(
        f"{root}/train", (size, size), validation_split=0.2, subset="validation", seed=1
    )
    test = data.image_dataset_from_directory(f"{root}/test", (size, size), shuffle=False)
    model = keras_tl.TransferClassifier(
        "inception_v3",
        len(train.class_names),
        (size, size, 3),
        weights=weights,
        dropout=0.3,
        class_names=train.class_names,
    )
    model.compile()  # Adam, sparse categorical cross-entropy, accuracy
    model.fit(train, validation_data=val, epochs=epochs, verbose=2)
    result = evaluation.evaluate(model, test)
    print(f"test accuracy {result['accuracy']:.3f}, macro F1 {result['f1']:.3f}")
    return result


if __name__ == "__main__":
    main()
