"""The `keras-tl` command line: train, evaluate, predict, demo, bench."""

import argparse
import csv
import json
import os
import sys

from keras_tl.version import __version__


class CliError(Exception):
    """A problem with the user's input: one line on stderr, exit 2."""


def _add_train(sub):
    p = sub.add_parser("train", help="train a classifier on a folder of images")
    p.add_argument("data_dir", help="class sub-folders, or train/ val/ test/ splits")
    p.add_argument("--backbone", default="mobilenet_v2")
    p.add_argument("--image-size", type=int, default=None, help="default: the backbone's")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--epochs", type=int, default=5, help="epochs with the backbone frozen")
    p.add_argument("--fine-tune-epochs", type=int, default=5)
    p.add_argument("--unfreeze-blocks", default="2", help="blocks to fine-tune, or 'all'")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--fine-tune-lr-ratio", type=float, default=0.1,
                   help="backbone learning rate relative to the head's")  # fmt: skip
    p.add_argument("--augment", default="",
                   help="ImageDataGenerator keywords, e.g. rotation_range=40,zoom_range=0.2,horizontal_flip=True")  # fmt: skip
    p.add_argument("--class-weights", action="store_true", help="balance classes")
    p.add_argument("--mixed-precision", default="float32",
                   choices=("auto", "float32", "mixed_float16", "mixed_bfloat16"))  # fmt: skip
    p.add_argument("--weights", default="imagenet", help="imagenet, none, or a weights file")
    p.add_argument("--validation-split", type=float, default=0.2)
    p.add_argument("--head-units", default="", help="hidden Dense sizes, e.g. 1024")
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--output", default="keras_tl_output")
    p.add_argument("--seed", type=int, default=0)


def _add_evaluate(sub):
    p = sub.add_parser("evaluate", help="metrics, confusion matrix and ROC on a folder")
    p.add_argument("model")
    p.add_argument("data_dir")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--output", default=None, help="folder for report.txt and plots")


def _add_predict(sub):
    p = sub.add_parser("predict", help="label and confidence per image")
    p.add_argument("model")
    p.add_argument("images", nargs="+")
    p.add_argument("--json", action="store_true", help="print JSON")


def _add_demo(sub):
    p = sub.add_parser("demo", help="offline transfer-learning demo on digits")
    p.add_argument("--json", default=None, metavar="PATH", help="also write the table")
    p.add_argument("--epochs", type=int, default=None)


def _add_bench(sub):
    p = sub.add_parser("bench", help="run a benchmark (from a source checkout)")
    p.add_argument("name", help="input_pipeline, training_throughput or bottleneck")
    p.add_argument("args", nargs=argparse.REMAINDER)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="keras-tl",
        description="Transfer learning for image classification with Keras 3.",
    )
    parser.add_argument("--version", action="version", version=f"keras_tl {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in (_add_train, _add_evaluate, _add_predict, _add_demo, _add_bench):
        add(sub)
    return parser


def _parse_kwargs(text):
    """`a=1,b=0.2,c=True,d=[0.8,1.2]` -> dict with Python literals."""
    import ast

    out = {}
    for part in _split_top(text):
        if not part:
            continue
        if "=" not in part:
            raise CliError(f"--augment expects key=value pairs; got {part!r}")
        key, value = part.split("=", 1)
        try:
            out[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            out[key.strip()] = value.strip()
    return out


def _split_top(text):
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += ch in "[(" 
        depth -= ch in "])"
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return parts


def _splits(data_dir):
    names = {d.lower(): d for d in os.listdir(data_dir)} if os.path.isdir(data_dir) else {}
    train = names.get("train")
    val = names.get("val") or names.get("valid") or names.get("validation")
    test = names.get("test")
    join = lambda d: os.path.join(data_dir, d) if d else None
    return join(train), join(val), join(test)


def cmd_train(args):
    import keras

    import keras_tl
    from keras_tl import data
    from keras_tl.callbacks import FreezeSchedule

    if not os.path.isdir(args.data_dir):
        raise CliError(f"data folder not found: {args.data_dir}")
    policy = keras_tl.mixed_precision.enable(args.mixed_precision)
    spec = keras_tl.backbones.get_spec(args.backbone)
    size = args.image_size or spec.default_size
    image_size = (size, size)
    weights = None if args.weights.lower() == "none" else args.weights
    augment = _parse_kwargs(args.augment) or None
    train_dir, val_dir, test_dir = _splits(args.data_dir)
    common = dict(image_size=image_size, batch_size=args.batch_size, seed=args.seed)
    if train_dir:
        train = data.image_dataset_from_directory(train_dir, augment=augment, **common)
        val = data.image_dataset_from_directory(val_dir, shuffle=False, **common) if val_dir else None
    else:
        split = dict(validation_split=args.validation_split, **common)
        train = data.image_dataset_from_directory(
            args.data_dir, subset="training", augment=augment, **split)  # fmt: skip
        val = data.image_dataset_from_directory(
            args.data_dir, subset="validation", shuffle=False, **split)  # fmt: skip
    names = train.class_names
    head_units = tuple(int(u) for u in args.head_units.split(",") if u)
    model = keras_tl.TransferClassifier(
        spec.name, len(names), input_shape=image_size + (3,), weights=weights,
        head_units=head_units, dropout=args.dropout, class_names=names,
    )  # fmt: skip
    blocks = args.unfreeze_blocks
    target = "all" if blocks == "all" else {"blocks": int(blocks)}
    schedule = {0: "head"}
    if args.fine_tune_epochs > 0:
        schedule[args.epochs] = target
    model.compile(
        optimizer=keras.optimizers.Adam(args.lr),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    os.makedirs(args.output, exist_ok=True)
    print(f"keras-tl: {spec.name} at {size}x{size}, {len(names)} classes "
          f"{train.class_counts}, policy {policy}")  # fmt: skip
    history = model.fit(
        train, validation_data=val, epochs=args.epochs + args.fine_tune_epochs,
        class_weight=data.class_weights(train) if args.class_weights else None,
        callbacks=[FreezeSchedule(schedule, lr_ratio=args.fine_tune_lr_ratio)],
        verbose=2,
    )  # fmt: skip
    model.save(os.path.join(args.output, "model.keras"))
    with open(os.path.join(args.output, "class_names.json"), "w") as f:
        json.dump(names, f)
    _write_history(history.history, os.path.join(args.output, "history.csv"))
    report_on = data.image_dataset_from_directory(test_dir, shuffle=False, **common) if test_dir else val
    if report_on is not None:
        _report(model, report_on, args.output, history.history)
    print(f"keras-tl: wrote {args.output}/model.keras, class_names.json, history.csv")
    return 0


def _write_history(history, path):
    keys = list(history)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["epoch"] + keys)
        for i in range(len(history[keys[0]])):
            writer.writerow([i] + [history[k][i] for k in keys])


def _report(model, dataset, output, history=None):
    from keras_tl import evaluation

    result = evaluation.evaluate(model, dataset)
    print(result["text"])
    if output:
        os.makedirs(output, exist_ok=True)
        with open(os.path.join(output, "report.txt"), "w") as f:
            f.write(result["text"] + "\n")
        try:
            evaluation.plot_confusion_matrix(result, os.path.join(output, "confusion_matrix.png"))
            evaluation.plot_roc(result, os.path.join(output, "roc.png"))
            if history:
                evaluation.plot_history(history, os.path.join(output, "history.png"))
        except ImportError as error:
            print(f"keras-tl: no plots ({error})", file=sys.stderr)
    return result


def _load_model(path):
    import keras

    import keras_tl

    if not os.path.isfile(path):
        raise CliError(f"model file not found: {path}")
    try:
        model = keras.models.load_model(path)
    except Exception as error:  # any unreadable file
        raise CliError(f"{path} is not a Keras model file ({type(error).__name__}: "
                       f"{str(error).splitlines()[0][:200]})") from None  # fmt: skip
    if not isinstance(model, keras_tl.TransferClassifier):
        raise CliError(f"{path} is a {type(model).__name__}, not a keras_tl "
                       "TransferClassifier saved by `keras-tl train` or model.save()")  # fmt: skip
    return model


def cmd_evaluate(args):
    from keras_tl import data

    model = _load_model(args.model)
    size = model._input_shape_arg[:2]
    ds = data.image_dataset_from_directory(
        args.data_dir, image_size=size, batch_size=args.batch_size, shuffle=False,
        class_names=model.class_names,
    )  # fmt: skip
    _report(model, ds, args.output)
    return 0


def cmd_predict(args):
    import numpy as np

    from keras_tl.data import check_image_file
    from keras_tl.data.arrays import read_image

    model = _load_model(args.model)
    batch = []
    for path in args.images:
        reason = check_image_file(path) if os.path.exists(path) else "does not exist"
        if reason:
            raise CliError(f"{path} {reason}")
        batch.append(read_image(path, model._input_shape_arg[:2]))
    labels, confidence = model.predict_labels(np.stack(batch))
    rows = [{"image": p, "label": l, "confidence": float(c)}
            for p, l, c in zip(args.images, labels, confidence)]  # fmt: skip
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            print(f"{row['image']}\t{row['label']}\t{row['confidence']:.4f}")
    return 0


def cmd_demo(args):
    from keras_tl import demo

    kwargs = {"epochs": args.epochs} if args.epochs else {}
    result = demo.run(**kwargs)
    if args.json:
        demo.write_json(result, args.json)
        print(f"keras-tl: wrote {args.json}")
    return 0


def cmd_bench(args):
    import importlib

    try:
        from benchmarks import NAMES
    except ImportError:
        raise CliError("benchmarks live in the source checkout: run keras-tl bench "
                       "from the repository root") from None  # fmt: skip
    if args.name not in NAMES:
        raise CliError(f"unknown benchmark {args.name!r}; choose from {NAMES}")
    importlib.import_module(f"benchmarks.{args.name}").main(args.args)
    return 0


COMMANDS = {"train": cmd_train, "evaluate": cmd_evaluate, "predict": cmd_predict,
            "demo": cmd_demo, "bench": cmd_bench}  # fmt: skip


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    import warnings

    # fit() on a tf.data.Dataset warns that its default shuffle=True is
    # ignored; our datasets shuffle themselves.
    warnings.filterwarnings("ignore", message=".*shuffle=True. was passed")
    # TF's Python logger reports every retrace of a new model's predict step.
    import logging

    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    if args.command == "bench" and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return COMMANDS[args.command](args)
    except (CliError, ValueError, FileNotFoundError, OSError, ImportError) as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        print(f"keras-tl: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
