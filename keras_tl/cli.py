"""The `keras-tl` command line: train, evaluate, predict, demo, bench."""

import argparse
import ast
import contextlib
import csv
import difflib
import json
import math
import os
import re
import sys

from keras_tl.version import __version__


class CliError(Exception):
    """A problem with the user's input: one line on stderr, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # argparse would print the whole usage block first; the CLI's rule
        # is one `keras-tl: error:` line (main() prints it, exit 2).
        raise CliError(f"{message} (see {self.prog} --help)")


# Argument types: bad values fail in argparse, before any data is read.
def _number(text, kind):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected {'an integer' if kind is int else 'a number'}, got {text!r}"
        ) from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def positive_int(text):
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def non_negative_int(text):
    value = _number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def positive_float(text):
    value = _number(text, float)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def fraction(text):
    value = _number(text, float)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}")
    return value


def unfreeze_blocks(text):
    if text.strip().lower() == "all":
        return "all"
    try:
        return non_negative_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected 'all' or an integer >= 0, got {text!r}"
        ) from None


def head_units(text):
    parts = [p.strip() for p in text.split(",")] if text.strip() else []
    try:
        return tuple(positive_int(p) for p in parts)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers >= 1 (e.g. 1024 or 1024,256), got {text!r}"
        ) from None


def weights(text):
    if text.lower() in ("imagenet", "none"):
        return None if text.lower() == "none" else "imagenet"
    if not os.path.isfile(text):
        raise argparse.ArgumentTypeError(
            f"expected imagenet, none or a weights file; no file {text!r}"
        )
    return text


def devices(text):
    if text.lower() == "all":
        return "all"
    return positive_int(text)


def _add_train(sub):
    p = sub.add_parser("train", help="train a classifier on a folder of images")
    p.add_argument("data_dir", help="class sub-folders, or train/ val/ test/ splits")
    p.add_argument("--backbone", default="mobilenet_v2")
    p.add_argument("--image-size", type=positive_int, default=None, help="default: the backbone's")
    p.add_argument("--batch-size", type=positive_int, default=32)
    p.add_argument("--epochs", type=non_negative_int, default=5, help="epochs with the backbone frozen")
    p.add_argument("--fine-tune-epochs", type=non_negative_int, default=5)
    p.add_argument("--unfreeze-blocks", type=unfreeze_blocks, default="2", help="blocks to fine-tune, or 'all'")
    p.add_argument("--lr", type=positive_float, default=1e-3)
    p.add_argument("--fine-tune-lr-ratio", type=positive_float, default=0.1,
                   help="backbone learning rate relative to the head's")  # fmt: skip
    p.add_argument("--augment", default="",
                   help="ImageDataGenerator random transforms, e.g. rotation_range=40,zoom_range=0.2,horizontal_flip=true "
                        "(no rescale: the model applies the backbone's preprocessing)")  # fmt: skip
    p.add_argument("--class-weights", action="store_true", help="balance classes")
    p.add_argument("--mixed-precision", default="float32",
                   choices=("auto", "float32", "mixed_float16", "mixed_bfloat16"))  # fmt: skip
    p.add_argument("--weights", type=weights, default="imagenet", help="imagenet, none, or a weights file")
    p.add_argument("--validation-split", type=fraction, default=0.2,
                   help="without a val/ folder; 0 trains without validation")  # fmt: skip
    p.add_argument("--head-units", type=head_units, default="", help="hidden Dense sizes, e.g. 1024")
    p.add_argument("--dropout", type=fraction, default=0.2)
    p.add_argument("--output", default="keras_tl_output")
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--devices", type=devices, default=1,
                   help="data-parallel over this many GPUs (or 'all'); --batch-size is the global batch")  # fmt: skip


def _add_evaluate(sub):
    p = sub.add_parser("evaluate", help="metrics, confusion matrix and ROC on a folder")
    p.add_argument("model")
    p.add_argument("data_dir", help="one sub-folder per class of the model")
    p.add_argument("--batch-size", type=positive_int, default=32)
    p.add_argument("--output", default=None, help="folder for report.txt and plots")


def _add_predict(sub):
    p = sub.add_parser("predict", help="label and confidence per image")
    p.add_argument("model")
    p.add_argument("images", nargs="+")
    p.add_argument("--json", action="store_true", help="print JSON")


def _add_demo(sub):
    p = sub.add_parser("demo", help="offline transfer-learning demo on digits")
    p.add_argument("--json", default=None, metavar="PATH", help="also write the table")
    p.add_argument("--epochs", type=positive_int, default=None)


def _add_bench(sub):
    p = sub.add_parser("bench", help="run a benchmark (from a source checkout)")
    p.add_argument("name", help="input_pipeline, training_throughput or bottleneck")
    p.add_argument("args", nargs=argparse.REMAINDER)


def build_parser():
    parser = _Parser(
        prog="keras-tl",
        description="Transfer learning for image classification with Keras 3.",
    )
    parser.add_argument("--version", action="version", version=f"keras_tl {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in (_add_train, _add_evaluate, _add_predict, _add_demo, _add_bench):
        add(sub)
    return parser


# --augment: ImageDataGenerator keywords, and what each one takes.
AUGMENT_KEYS = {
    "rotation_range": "a number of degrees",
    "width_shift_range": "a number or a list of numbers",
    "height_shift_range": "a number or a list of numbers",
    "shear_range": "a number of degrees",
    "zoom_range": "a number or [lower,upper]",
    "channel_shift_range": "a number",
    "brightness_range": "[lo,hi]",
    "fill_mode": "nearest, constant, reflect or wrap",
    "cval": "a number",
    "horizontal_flip": "true or false",
    "vertical_flip": "true or false",
    "interpolation_order": "0 or 1",
    "zca_epsilon": "a number",
    "data_format": "channels_last",
    "seed": "an integer",
}
_WORD_KEYS = ("fill_mode", "data_format")  # the only ones that take a bare word
_BOOL_KEYS = ("horizontal_flip", "vertical_flip")
_NOT_HERE = {
    "preprocessing_function": "a Python function cannot be passed on the command line",
    "validation_split": "use --validation-split",
}
_WORDS = {"true": True, "yes": True, "false": False, "no": False, "none": None}


def _literal(text):
    """A Python literal, or true/false/yes/no/none in any case, else the text."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return _WORDS.get(text.lower(), text)


def _takes(key, value):
    if value is None:
        return True
    if key in _BOOL_KEYS:
        return isinstance(value, (bool, int)) and value in (0, 1)
    if key in _WORD_KEYS:
        return isinstance(value, str)
    if key == "seed":
        return isinstance(value, int) and not isinstance(value, bool)
    # a string here is a word the key cannot take ("ten", "1/255")
    return not isinstance(value, (str, bool))


def _parse_augment(text):
    """`a=1,b=0.2,c=true,d=[0.8,1.2]` -> ImageDataGenerator keywords.

    Values are Python literals or true/false/yes/no/none; a bare word is
    kept only for the keywords that take one (fill_mode), so a misspelt
    value fails here instead of turning into a truthy string.
    """
    from keras_tl.data.pipeline import STANDARDIZATION

    out = {}
    for part in _split_top(text):
        part = part.strip()
        if not part:
            continue
        key, sep, raw = (s.strip() for s in part.partition("="))
        if not sep or not key or not raw:
            raise CliError(f"--augment expects key=value pairs separated by commas; got {part!r}")
        value = _literal(raw)
        # Standardizing the training images only would leave validation, test
        # and predict images unscaled (train/serve skew).
        if key in STANDARDIZATION:
            if value in (None, False, 0):  # the default: it changes nothing
                continue
            raise CliError(
                f"--augment {key}={raw}: not needed; the model takes [0, 255] images and "
                "applies the backbone's preprocessing itself, and standardizing only the "
                "training images would skew training against evaluation and predict"
            )
        if key in _NOT_HERE:
            raise CliError(f"--augment {key}: {_NOT_HERE[key]}")
        if key not in AUGMENT_KEYS:
            close = difflib.get_close_matches(key, AUGMENT_KEYS, n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            raise CliError(f"--augment {key}: not an augmentation keyword; {hint}"
                           f"known: {', '.join(AUGMENT_KEYS)}")  # fmt: skip
        if not _takes(key, value):
            raise CliError(f"--augment {key}={raw}: expected {AUGMENT_KEYS[key]}")
        out[key] = value
    return out


def _augment_layer(kwargs):
    from keras_tl.layers import ImageDataGeneratorAugmentation

    try:  # the layer's own checks of the values, before any data is read
        return ImageDataGeneratorAugmentation(**kwargs)
    except (ValueError, TypeError) as error:
        raise CliError(f"--augment: {_first_line(error)}") from None


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


def _check_output(path):
    if path and os.path.exists(path) and not os.path.isdir(path):
        raise CliError(f"--output {path} is a file, not a folder")


def cmd_train(args):
    # Checks that need no Keras first, so they fail fast.
    if not os.path.isdir(args.data_dir):
        raise CliError(f"data folder not found: {args.data_dir}")
    if args.epochs + args.fine_tune_epochs == 0:
        raise CliError("--epochs 0 and --fine-tune-epochs 0: nothing to train")
    _check_output(args.output)
    augment = _parse_augment(args.augment)

    import keras

    import keras_tl
    from keras_tl import data
    from keras_tl.callbacks import FreezeSchedule

    try:
        spec = keras_tl.backbones.get_spec(args.backbone)
    except ValueError:
        close = difflib.get_close_matches(args.backbone.lower().replace("-", "_"),
                                          keras_tl.backbones.list_backbones(), n=3)  # fmt: skip
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise CliError(f"--backbone {args.backbone}: unknown; {hint}choose from "
                       f"{', '.join(keras_tl.backbones.list_backbones())}") from None  # fmt: skip
    size = args.image_size or spec.default_size
    image_size = (size, size)
    keras_tl.backbones.check_input_shape(image_size + (3,), spec)
    augment = _augment_layer(augment) if augment else None
    try:
        parallel = keras_tl.distribution.data_parallel(args.devices)
        replicas = parallel.__enter__()
    except ValueError as error:
        raise CliError(f"--devices {args.devices}: {error}") from None
    with contextlib.ExitStack() as stack:
        stack.push(parallel)
        if replicas > 1:
            if args.batch_size % replicas:
                raise CliError(f"--batch-size {args.batch_size}: the global batch must "
                               f"divide by the {replicas} devices")  # fmt: skip
            print(f"keras-tl: data-parallel on {replicas} devices, "
                  f"{args.batch_size // replicas} images per device per step")  # fmt: skip
        policy = keras_tl.mixed_precision.enable(args.mixed_precision)
        train_dir, val_dir, test_dir = _splits(args.data_dir)
        common = dict(image_size=image_size, batch_size=args.batch_size, seed=args.seed)
        if train_dir:
            train = data.image_dataset_from_directory(train_dir, augment=augment, **common)
            val = data.image_dataset_from_directory(val_dir, shuffle=False, **common) if val_dir else None
        elif args.validation_split:
            split = dict(validation_split=args.validation_split, **common)
            train = data.image_dataset_from_directory(
                args.data_dir, subset="training", augment=augment, **split)  # fmt: skip
            val = data.image_dataset_from_directory(
                args.data_dir, subset="validation", shuffle=False, **split)  # fmt: skip
        else:  # --validation-split 0: every image trains
            train = data.image_dataset_from_directory(args.data_dir, augment=augment, **common)
            val = None
        names = train.class_names
        if len(names) < 2:
            raise CliError(f"{train_dir or args.data_dir} has one class folder {names}; "
                           "a classifier needs two or more")  # fmt: skip
        model = keras_tl.TransferClassifier(
            spec.name, len(names), input_shape=image_size + (3,), weights=args.weights,
            head_units=args.head_units, dropout=args.dropout, class_names=names,
        )  # fmt: skip
        blocks = args.unfreeze_blocks
        if blocks != "all" and blocks > len(model.blocks):  # before any output
            raise CliError(f"--unfreeze-blocks {blocks}: {spec.name} has {len(model.blocks)} "
                           f"blocks; use {len(model.blocks)} or less, or all")  # fmt: skip
        target = "all" if blocks == "all" else {"blocks": blocks}
        if args.weights is None:
            # Random weights: nothing to protect, every layer trains from the
            # first epoch (the model starts that way); no head-only phase.
            print("keras-tl: --weights none: training every layer from scratch")
            schedule = {0: "all"}
        else:
            schedule = {0: "head"}
            if args.fine_tune_epochs > 0:
                schedule[args.epochs] = target
        callbacks = [FreezeSchedule(schedule, lr_ratio=args.fine_tune_lr_ratio)]
        model.compile(
            optimizer=keras.optimizers.Adam(args.lr),
            loss="sparse_categorical_crossentropy",
            # Weighted: an evaluation set's padding (weight 0, so that the
            # devices split its last batch) must not count.
            weighted_metrics=["accuracy"],
        )
        os.makedirs(args.output, exist_ok=True)
        print(f"keras-tl: {spec.name} at {size}x{size}, {len(names)} classes "
              f"{train.class_counts}, policy {policy}")  # fmt: skip
        with _naming_undecodable_images(train, val):
            history = model.fit(
                train, validation_data=val, epochs=args.epochs + args.fine_tune_epochs,
                class_weight=data.class_weights(train) if args.class_weights else None,
                callbacks=callbacks,
                verbose=2,
            )  # fmt: skip
        model.save(os.path.join(args.output, "model.keras"))
        with open(os.path.join(args.output, "class_names.json"), "w") as f:
            json.dump(names, f)
        _write_history(history.history, os.path.join(args.output, "history.csv"))
        report_on = data.image_dataset_from_directory(test_dir, shuffle=False, **common) if test_dir else val
        if report_on is not None:
            with _naming_undecodable_images(report_on):
                _report(model, report_on, args.output, history.history)
    print(f"keras-tl: wrote {args.output}/model.keras, class_names.json, history.csv")
    return 0


@contextlib.contextmanager
def _naming_undecodable_images(*datasets):
    """tf.data's decode error names no file (every file passed the
    signature check); find the one TensorFlow cannot decode."""
    try:
        yield
    except Exception as error:
        tf = sys.modules.get("tensorflow")
        if tf is None or not isinstance(error, tf.errors.InvalidArgumentError):
            raise
        for path in (p for ds in datasets if ds is not None
                     for p in getattr(ds, "file_paths", None) or ()):  # fmt: skip
            try:
                tf.io.decode_image(tf.io.read_file(path), expand_animations=False)
            except tf.errors.InvalidArgumentError as bad:
                reason = re.sub(r"\{\{.*?\}\}|\[Op:.*", "", _first_line(bad)).strip()
                raise CliError(f"{path} cannot be decoded ({reason}); remove or "
                               "replace it") from None  # fmt: skip
        raise  # not an image after all: keep the traceback


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
                       f"{_first_line(error)[:200]})") from None  # fmt: skip
    if not isinstance(model, keras_tl.TransferClassifier):
        raise CliError(f"{path} is a {type(model).__name__}, not a keras_tl "
                       "TransferClassifier saved by `keras-tl train` or model.save()")  # fmt: skip
    return model


def _class_folders(data_dir):
    if not os.path.isdir(data_dir):
        raise CliError(f"data folder not found: {data_dir}")
    return sorted(d for d in os.listdir(data_dir)
                  if os.path.isdir(os.path.join(data_dir, d)) and not d.startswith("."))  # fmt: skip


def _eval_class_names(model, path, data_dir):
    """The model's classes, checked against the folder's: a folder the
    model does not know would be left out of the report silently, and a
    class without a folder would count in every macro average as 0."""
    found = _class_folders(data_dir)
    if not found:
        raise CliError(f"{data_dir} has no class sub-folders")
    names = model.class_names
    if not names:
        outputs = 2 if model.num_classes == 1 else model.num_classes
        if len(found) != outputs:
            raise CliError(f"{path} has no class names and {outputs} classes, but {data_dir} "
                           f"has {len(found)} class folders {found}")  # fmt: skip
        # What `keras-tl train` and Keras's loaders do: sorted folder names.
        print(f"keras-tl: warning: {path} has no class names; reading the folders {found} "
              f"as classes 0..{outputs - 1} in sorted order", file=sys.stderr)  # fmt: skip
        return found
    problems = []
    unknown = [d for d in found if d not in names]
    if unknown:
        problems.append(f"the model does not know the class folder(s) {unknown}")
    missing = [c for c in names if c not in found]
    if missing:
        problems.append(f"no folder for the model's class(es) {missing}")
    if problems:
        raise CliError(f"{data_dir}: {'; '.join(problems)}; the model's classes are {names}")
    return names


def cmd_evaluate(args):
    _check_output(args.output)
    if not os.path.isfile(args.model):
        raise CliError(f"model file not found: {args.model}")
    _class_folders(args.data_dir)  # fails before the model loads
    from keras_tl import data

    model = _load_model(args.model)
    names = _eval_class_names(model, args.model, args.data_dir)
    size = model._input_shape_arg[:2]
    ds = data.image_dataset_from_directory(
        args.data_dir, image_size=size, batch_size=args.batch_size, shuffle=False,
        class_names=names,
    )  # fmt: skip
    with _naming_undecodable_images(ds):
        _report(model, ds, args.output)
    return 0


def cmd_predict(args):
    import numpy as np

    from keras_tl.data import check_image_file
    from keras_tl.data.arrays import read_image

    model = _load_model(args.model)
    for path in args.images:
        reason = check_image_file(path) if os.path.exists(path) else "does not exist"
        if reason:
            raise CliError(f"{path} {reason}")
    batch = []
    for path in args.images:
        try:  # a valid signature does not make a decodable image
            batch.append(read_image(path, model._input_shape_arg[:2]))
        except Exception as error:  # Pillow raises OSError, SyntaxError, its own
            raise CliError(f"{path} is not a readable image ({type(error).__name__}: "
                           f"{_first_line(error)[:200]})") from None  # fmt: skip
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

# The library's messages speak Python (weights=None); the CLI user types
# flags. Only spellings a CLI run can reach.
CLI_SPELLING = (
    (r"\bweights=None\b", "--weights none"),
    (r"\bweights='([^']*)'", r"--weights \1"),
    (r"\bimage_size=\((\d+), \d+\)", r"--image-size \1"),
    (r"\binput_shape=\((\d+), \d+, 3\)", r"--image-size \1"),
    (r"`validation_split`=", "--validation-split "),
    (r"\ba validation_split\b", "--validation-split"),
)


def _first_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def cli_spelling(message):
    for pattern, replacement in CLI_SPELLING:
        message = re.sub(pattern, replacement, message)
    return message


def _fail(error):
    print(f"keras-tl: error: {cli_spelling(_first_line(error))}", file=sys.stderr)
    return 2


def main(argv=None):
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except CliError as error:
        return _fail(error)
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
    # User input (the library's argument checks, missing or unreadable
    # files, a missing optional dependency); anything else is a bug and
    # keeps its traceback.
    except (CliError, ValueError, OSError, ImportError) as error:
        return _fail(error)


if __name__ == "__main__":
    sys.exit(main())
