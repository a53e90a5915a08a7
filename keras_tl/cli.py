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
import textwrap

from keras_tl._quiet import native_stderr_silenced
from keras_tl.version import __version__


class CliError(Exception):
    """A problem with the user's input: one line on stderr, exit 2."""


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except where there is none to show,
    and never splits a flag such as --batch-size at its hyphen."""

    def _get_help_string(self, action):
        if (
            any(action.default is v for v in (None, False, argparse.SUPPRESS))
            or action.default == ""
        ):
            return action.help
        return super()._get_help_string(action)

    def _split_lines(self, text, width):
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)

    def _fill_text(self, text, width, indent):
        return textwrap.fill(
            " ".join(text.split()),
            width,
            initial_indent=indent,
            subsequent_indent=indent,
            break_on_hyphens=False,
        )


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

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
    p = sub.add_parser(
        "train",
        help="train a classifier on a folder of images",
        description="Train the head with the backbone frozen (--epochs), then "
        "fine-tune the top blocks too (--fine-tune-epochs), in one fit(); write "
        "the model, its class names, the history and, with validation or test "
        "images, a report and plots to --output.",
    )
    p.add_argument("data_dir", help="class sub-folders, or train/ val/ test/ splits")
    p.add_argument(
        "--backbone", default="mobilenet_v2", metavar="NAME", help="see `keras-tl backbones`"
    )
    p.add_argument(
        "--image-size",
        type=positive_int,
        default=None,
        metavar="PIXELS",
        help="square input size in pixels (default: the backbone's)",
    )
    p.add_argument(
        "--batch-size", type=positive_int, default=32, metavar="N", help="images per step"
    )
    p.add_argument(
        "--epochs",
        type=non_negative_int,
        default=5,
        metavar="N",
        help="epochs with the backbone frozen",
    )
    p.add_argument(
        "--fine-tune-epochs",
        type=non_negative_int,
        default=5,
        metavar="N",
        help="epochs after that with the top --unfreeze-blocks trainable",
    )
    p.add_argument(
        "--unfreeze-blocks",
        type=unfreeze_blocks,
        default="2",
        metavar="N",
        help="blocks to fine-tune, or 'all'",
    )
    p.add_argument(
        "--lr",
        type=positive_float,
        default=1e-3,
        metavar="RATE",
        help="the head's Adam learning rate",
    )
    p.add_argument(
        "--fine-tune-lr-ratio",
        type=positive_float,
        default=0.1,
        metavar="RATIO",
        help="backbone learning rate relative to the head's while fine-tuning",
    )
    p.add_argument(
        "--augment",
        default="",
        metavar="KEY=VALUE,...",
        help="ImageDataGenerator random transforms, e.g. rotation_range=40,zoom_range=0.2,horizontal_flip=true "
        "(no rescale: the model applies the backbone's preprocessing)",
    )
    p.add_argument(
        "--class-weights", action="store_true", help="weight the loss to balance classes"
    )
    p.add_argument(
        "--mixed-precision",
        default="float32",
        choices=("auto", "float32", "mixed_float16", "mixed_bfloat16"),
        metavar="POLICY",
        help="float32, mixed_float16, mixed_bfloat16, or auto (what the device runs fast)",
    )
    p.add_argument(
        "--weights",
        type=weights,
        default="imagenet",
        metavar="WEIGHTS",
        help="imagenet, none (train every layer from scratch), or a weights file",
    )
    p.add_argument(
        "--validation-split",
        type=fraction,
        default=0.2,
        metavar="FRACTION",
        help="fraction held out without a val/ folder; 0 trains without validation",
    )
    p.add_argument(
        "--head-units",
        type=head_units,
        default="",
        metavar="UNITS",
        help="hidden Dense sizes, e.g. 1024 or 1024,256 (default: none)",
    )
    p.add_argument(
        "--dropout",
        type=fraction,
        default=0.2,
        metavar="RATE",
        help="dropout before the output layer",
    )
    p.add_argument(
        "--output",
        default="keras_tl_output",
        metavar="DIR",
        help="folder for the model, history and report",
    )
    p.add_argument(
        "--seed", type=non_negative_int, default=0, metavar="N", help="for the split and shuffling"
    )
    p.add_argument(
        "--devices",
        type=devices,
        default=1,
        metavar="N",
        help="data-parallel over this many GPUs (or 'all'); --batch-size is the global batch",
    )


def _add_evaluate(sub):
    p = sub.add_parser(
        "evaluate",
        help="metrics, confusion matrix and ROC on a folder",
        description="Print the metrics of a saved model on a folder of images; "
        "with --output also write report.txt, confusion_matrix.png and roc.png.",
    )
    p.add_argument("model", help="a model.keras written by `keras-tl train`")
    p.add_argument("data_dir", help="one sub-folder per class of the model")
    p.add_argument(
        "--batch-size", type=positive_int, default=32, metavar="N", help="images per step"
    )
    p.add_argument(
        "--output",
        default=None,
        metavar="DIR",
        help="folder for report.txt and plots (default: print the report only)",
    )


def _add_predict(sub):
    p = sub.add_parser("predict", help="label and confidence per image")
    p.add_argument("model", help="a model.keras written by `keras-tl train`")
    p.add_argument("images", nargs="+", help="image files")
    p.add_argument("--json", action="store_true", help="print JSON instead of tab-separated lines")


def _add_demo(sub):
    p = sub.add_parser("demo", help="offline transfer-learning demo on digits")
    p.add_argument("--json", default=None, metavar="PATH", help="also write the table")
    p.add_argument(
        "--epochs",
        type=positive_int,
        default=None,
        metavar="N",
        help="epochs per training run (default: the demo's own)",
    )
    p.add_argument(
        "--draws",
        type=positive_int,
        default=3,
        metavar="N",
        help="few-shot draws per label count (mean and spread over them)",
    )
    p.add_argument(
        "--workers",
        type=positive_int,
        default=min(2, os.cpu_count() or 1),
        metavar="N",
        help="processes for the few-shot runs (same table for any number)",
    )


def _add_backbones(sub):
    sub.add_parser(
        "backbones",
        help="list the backbones --backbone takes",
        description="Every backbone keras_tl builds by name, with its default "
        "image size, its preprocessing and the number of blocks "
        "--unfreeze-blocks counts.",
    )


def _add_bench(sub):
    p = sub.add_parser("bench", help="run a benchmark (from a source checkout)")
    p.add_argument(
        "name", help="input_pipeline, training_throughput, bottleneck or augment_iterators"
    )
    p.add_argument("args", nargs=argparse.REMAINDER, help="the benchmark's own arguments")


def build_parser():
    parser = _Parser(
        prog="keras-tl",
        description="Transfer learning for image classification with Keras 3.",
    )
    parser.add_argument("--version", action="version", version=f"keras_tl {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in (_add_train, _add_evaluate, _add_predict, _add_backbones, _add_demo, _add_bench):
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
            raise CliError(
                f"--augment {key}: not an augmentation keyword; {hint}"
                f"known: {', '.join(AUGMENT_KEYS)}"
            )
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


def _library():
    """keras_tl in full, imported the first time a command needs it (the
    package is lazy under `keras-tl`, see keras_tl/__init__.py)."""
    import keras_tl

    if not all(f"keras_tl.{name}" in sys.modules for name in keras_tl._SUBMODULES):
        with native_stderr_silenced():
            try:  # the CLI reads folders with tf.data, on either backend
                import tensorflow  # noqa: F401
            except ImportError:
                pass
            keras_tl._import_all()
    return keras_tl


def _fit_verbose(stream):
    # A progress bar on a terminal; one line per epoch in a log file.
    isatty = getattr(stream, "isatty", None)
    return 1 if isatty is not None and isatty() else 2


def _plural(n, word):
    return f"{n} {word}{'' if n == 1 else 's'}"


def _phases(freeze_epochs, epochs, unfreeze, lr_ratio, num_blocks):
    """`[(first_epoch, last_epoch, what)]`, 1-based, of the fine_tune()
    plan the CLI builds."""
    total = freeze_epochs + epochs
    if freeze_epochs == 0 and unfreeze == "all" and lr_ratio is None:
        return [(1, total, "every layer from scratch")]
    phases = []
    if freeze_epochs:
        phases.append((1, freeze_epochs, "head only, backbone frozen"))
    if epochs:
        if unfreeze == "all":
            what = "all layers"
        else:
            what = f"the top {_plural(unfreeze['blocks'], 'block')} of {num_blocks}"
        what += f", backbone at {lr_ratio:g}x the learning rate" if lr_ratio is not None else ""
        phases.append((freeze_epochs + 1, total, f"fine-tuning {what}"))
    return phases


def _phase_lines(phases):
    lines = {}
    for i, (first, last, what) in enumerate(phases, 1):
        span = f"epoch {first}" if first == last else f"epochs {first}-{last}"
        lines[first - 1] = f"keras-tl: phase {i}/{len(phases)}: {what}, {span}"
    return lines


def cmd_train(args):
    # Checks that need no Keras first, so they fail fast.
    if not os.path.isdir(args.data_dir):
        raise CliError(f"data folder not found: {args.data_dir}")
    if args.epochs + args.fine_tune_epochs == 0:
        raise CliError("--epochs 0 and --fine-tune-epochs 0: nothing to train")
    _check_output(args.output)
    keras_tl = _library()
    import keras

    augment = _parse_augment(args.augment)

    from keras_tl import data

    try:
        spec = keras_tl.backbones.get_spec(args.backbone)
    except ValueError:
        close = difflib.get_close_matches(
            args.backbone.lower().replace("-", "_"), keras_tl.backbones.list_backbones(), n=3
        )
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise CliError(
            f"--backbone {args.backbone}: unknown; {hint}see keras-tl backbones"
        ) from None
    size = args.image_size or spec.default_size
    image_size = (size, size)
    keras_tl.backbones.check_input_shape(image_size + (3,), spec)
    augment = _augment_layer(augment) if augment else None
    try:
        parallel = keras_tl.distribution.data_parallel(args.devices)
        replicas = parallel.__enter__()
    except ValueError as error:
        message = cli_spelling(_first_line(error))
        raise CliError(
            message if "--devices" in message else f"--devices {args.devices}: {message}"
        ) from None
    written = []
    with contextlib.ExitStack() as stack:
        stack.push(parallel)
        if replicas > 1:
            if args.batch_size % replicas:
                raise CliError(
                    f"--batch-size {args.batch_size}: the global batch must "
                    f"divide by the {replicas} devices"
                )
            print(
                f"keras-tl: data-parallel on {replicas} devices, "
                f"{args.batch_size // replicas} images per device per step"
            )
        policy = keras_tl.mixed_precision.enable(args.mixed_precision)
        train_dir, val_dir, test_dir = _splits(args.data_dir)
        common = dict(image_size=image_size, batch_size=args.batch_size, seed=args.seed)
        if train_dir:
            train = data.image_dataset_from_directory(train_dir, augment=augment, **common)
            val = (
                data.image_dataset_from_directory(val_dir, shuffle=False, **common)
                if val_dir
                else None
            )
        elif args.validation_split:
            split = dict(validation_split=args.validation_split, **common)
            train = data.image_dataset_from_directory(
                args.data_dir, subset="training", augment=augment, **split
            )
            val = data.image_dataset_from_directory(
                args.data_dir, subset="validation", shuffle=False, **split
            )
        else:  # --validation-split 0: every image trains
            train = data.image_dataset_from_directory(args.data_dir, augment=augment, **common)
            val = None
        names = train.class_names
        if len(names) < 2:
            raise CliError(
                f"{train_dir or args.data_dir} has one class folder {names}; "
                "a classifier needs two or more"
            )
        try:
            model = keras_tl.TransferClassifier(
                spec.name,
                len(names),
                input_shape=image_size + (3,),
                weights=args.weights,
                head_units=args.head_units,
                dropout=args.dropout,
                class_names=names,
            )
        except (ValueError, OSError) as error:
            if args.weights in (None, "imagenet"):
                raise
            # Keras's and h5py's messages name neither the flag nor the model.
            raise CliError(
                f"--weights {args.weights}: not {spec.name} weights Keras can load "
                f"at --image-size {size} ({_first_line(error)[:200]})"
            ) from None
        blocks = args.unfreeze_blocks
        if blocks != "all" and blocks > len(model.blocks):  # before any output
            raise CliError(
                f"--unfreeze-blocks {blocks}: {spec.name} has {len(model.blocks)} "
                f"blocks; use {len(model.blocks)} or less, or all"
            )
        if args.weights is None:
            # Random weights: nothing to protect, so every layer trains from
            # the first epoch at one learning rate; no head-only phase.
            print("keras-tl: --weights none: training every layer from scratch")
            plan = dict(
                freeze_epochs=0,
                epochs=args.epochs + args.fine_tune_epochs,
                unfreeze="all",
                lr_ratio=None,
            )
        else:
            plan = dict(
                freeze_epochs=args.epochs,
                epochs=args.fine_tune_epochs,
                unfreeze="all" if blocks == "all" else {"blocks": blocks},
                lr_ratio=args.fine_tune_lr_ratio,
            )
        phase_lines = _phase_lines(_phases(num_blocks=len(model.blocks), **plan))

        class PhaseLog(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                if epoch in phase_lines:
                    print(phase_lines[epoch], flush=True)

        model.compile(
            optimizer=keras.optimizers.Adam(args.lr),
            loss="sparse_categorical_crossentropy",
            # Weighted: an evaluation set's padding (weight 0, so that the
            # devices split its last batch) must not count.
            weighted_metrics=["accuracy"],
        )
        os.makedirs(args.output, exist_ok=True)
        print(
            f"keras-tl: {spec.name} at {size}x{size}, {len(names)} classes "
            f"{train.class_counts}, policy {policy}"
        )
        with _naming_undecodable_images(train, val):
            history = model.fine_tune(
                train,
                validation_data=val,
                callbacks=[PhaseLog()],
                class_weight=data.class_weights(train) if args.class_weights else None,
                verbose=_fit_verbose(sys.stdout),
                **plan,
            )
        written.append(os.path.join(args.output, "model.keras"))
        model.save(written[-1])
        written.append(os.path.join(args.output, "class_names.json"))
        with open(written[-1], "w") as f:
            json.dump(names, f)
        written.append(os.path.join(args.output, "history.csv"))
        _write_history(history.history, written[-1])
        report_on = (
            data.image_dataset_from_directory(test_dir, shuffle=False, **common)
            if test_dir
            else val
        )
        if report_on is not None:
            with _naming_undecodable_images(report_on):
                split = "test" if test_dir else "validation"
                written += _report(model, report_on, args.output, history, split=split)
    _print_written(args.output, written)
    return 0


def _print_written(folder, paths):
    names = [os.path.relpath(p, folder) for p in paths]
    print(f"keras-tl: wrote in {folder}: {', '.join(names)}")


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
        for path in (
            p for ds in datasets if ds is not None for p in getattr(ds, "file_paths", None) or ()
        ):
            try:
                tf.io.decode_image(tf.io.read_file(path), expand_animations=False)
            except tf.errors.InvalidArgumentError as bad:
                reason = re.sub(r"\{\{.*?\}\}|\[Op:.*", "", _first_line(bad)).strip()
                raise CliError(
                    f"{path} cannot be decoded ({reason}); remove or replace it"
                ) from None
        raise  # not an image after all: keep the traceback


def _write_history(history, path):
    keys = list(history)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["epoch"] + keys)
        for i in range(len(history[keys[0]])):
            writer.writerow([i] + [history[k][i] for k in keys])


def _report(model, dataset, output, history=None, split=None):
    """Print the report; write it and the plots to `output`. Returns the
    paths written."""
    from keras_tl import evaluation

    result = evaluation.evaluate(model, dataset, split=split)
    print(result["text"])
    written = []
    if output:
        os.makedirs(output, exist_ok=True)
        written.append(os.path.join(output, "report.txt"))
        with open(written[-1], "w") as f:
            f.write(result["text"] + "\n")
        plots = [
            (evaluation.plot_confusion_matrix, result, "confusion_matrix.png"),
            (evaluation.plot_roc, result, "roc.png"),
        ]
        if history is not None:
            plots.append((evaluation.plot_history, history, "history.png"))
        try:
            for plot, what, name in plots:
                paths = plot(what, os.path.join(output, name))
                written += [paths] if isinstance(paths, str) else list(paths)
        except ImportError as error:
            print(f"keras-tl: no plots ({error})", file=sys.stderr)
    return written


def _load_model(path):
    keras_tl = _library()  # registers TransferClassifier with Keras
    import keras

    if not os.path.isfile(path):
        raise CliError(f"model file not found: {path}")
    try:
        model = keras.models.load_model(path)
    except Exception as error:  # any unreadable file
        raise CliError(
            f"{path} is not a Keras model file ({type(error).__name__}: {_first_line(error)[:200]})"
        ) from None
    if not isinstance(model, keras_tl.TransferClassifier):
        raise CliError(
            f"{path} is a {type(model).__name__}, not a keras_tl "
            "TransferClassifier saved by `keras-tl train` or model.save()"
        )
    return model


def _class_folders(data_dir):
    if not os.path.isdir(data_dir):
        raise CliError(f"data folder not found: {data_dir}")
    return sorted(
        d
        for d in os.listdir(data_dir)
        if os.path.isdir(os.path.join(data_dir, d)) and not d.startswith(".")
    )


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
            raise CliError(
                f"{path} has no class names and {outputs} classes, but {data_dir} "
                f"has {len(found)} class folders {found}"
            )
        # What `keras-tl train` and Keras's loaders do: sorted folder names.
        print(
            f"keras-tl: warning: {path} has no class names; reading the folders {found} "
            f"as classes 0..{outputs - 1} in sorted order",
            file=sys.stderr,
        )
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
    model = _load_model(args.model)
    from keras_tl import data

    names = _eval_class_names(model, args.model, args.data_dir)
    size = model.image_size
    ds = data.image_dataset_from_directory(
        args.data_dir,
        image_size=size,
        batch_size=args.batch_size,
        shuffle=False,
        class_names=names,
    )
    with _naming_undecodable_images(ds):
        written = _report(model, ds, args.output)
    if written:
        _print_written(args.output, written)
    else:
        print("keras-tl: printed the report only; --output DIR also writes report.txt and plots")
    return 0


def cmd_predict(args):
    model = _load_model(args.model)
    import numpy as np

    from keras_tl.data import check_image_file
    from keras_tl.data.arrays import read_image

    for path in args.images:
        reason = check_image_file(path) if os.path.exists(path) else "does not exist"
        if reason:
            raise CliError(f"{path} {reason}")
    batch = []
    for path in args.images:
        try:  # a valid signature does not make a decodable image
            batch.append(read_image(path, model.image_size))
        except Exception as error:  # Pillow raises OSError, SyntaxError, its own
            raise CliError(
                f"{path} is not a readable image ({type(error).__name__}: "
                f"{_first_line(error)[:200]})"
            ) from None
    labels, confidence = model.predict_labels(np.stack(batch))
    rows = [
        {"image": p, "label": l, "confidence": float(c)}
        for p, l, c in zip(args.images, labels, confidence)
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            print(f"{row['image']}\t{row['label']}\t{row['confidence']:.4f}")
    return 0


def cmd_demo(args):
    _library()
    from keras_tl import demo

    kwargs = {"epochs": args.epochs} if args.epochs else {}
    result = demo.run(draws=args.draws, workers=args.workers, **kwargs)
    if args.json:
        demo.write_json(result, args.json)
        print(f"keras-tl: wrote {args.json}")
    return 0


PREPROCESSING = {
    "tf": "scale to [-1, 1]",
    "caffe": "BGR, minus the ImageNet mean",
    "torch": "[0, 1], ImageNet mean and std",
    "none": "inside the model",
}


def cmd_backbones(args):
    backbones = _library().backbones

    rows = [("name", "image size", "min size", "blocks", "preprocessing")]
    for name in backbones.list_backbones():
        spec = backbones.get_spec(name)
        size = f"{spec.default_size} only" if spec.fixed_size else str(spec.default_size)
        rows.append(
            (
                name,
                size,
                str(spec.min_size),
                str(spec.blocks or "?"),
                f"{spec.preprocessing} ({PREPROCESSING.get(spec.preprocessing, '?')})",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1])
    print(
        '\nimage size: the default --image-size, the ImageNet weights\' ("only": no other '
        "size with --weights imagenet); min size: the smallest --image-size; blocks: what "
        "--unfreeze-blocks counts. The model applies the preprocessing to [0, 255] images itself."
    )
    return 0


def cmd_bench(args):
    import importlib

    import keras_tl

    # benchmarks/ sits next to the package in a checkout; a wheel lacks it.
    checkout = os.path.dirname(os.path.dirname(os.path.abspath(keras_tl.__file__)))
    if not os.path.isfile(os.path.join(checkout, "benchmarks", "__init__.py")):
        raise CliError(
            "bench needs a source checkout of keras_tl (benchmarks/ is not "
            "installed with the package): in a clone of the repository run "
            f"python -m benchmarks.{args.name}"
        )
    if checkout not in sys.path:
        sys.path.insert(0, checkout)
    from benchmarks import NAMES

    if args.name not in NAMES:
        raise CliError(f"unknown benchmark {args.name!r}; choose from {', '.join(NAMES)}")
    _library()
    importlib.import_module(f"benchmarks.{args.name}").main(args.args)
    return 0


COMMANDS = {
    "train": cmd_train,
    "evaluate": cmd_evaluate,
    "predict": cmd_predict,
    "backbones": cmd_backbones,
    "demo": cmd_demo,
    "bench": cmd_bench,
}

# The library's messages speak Python (weights=None); the CLI user types
# flags. Only spellings a CLI run can reach.
CLI_SPELLING = (
    (r"\bweights=None\b", "--weights none"),
    (r"\bweights='([^']*)'", r"--weights \1"),
    (r"\bimage_size=\((\d+), \d+\)", r"--image-size \1"),
    (r"\binput_shape=\((\d+), \d+, 3\)", r"--image-size \1"),
    (r"`validation_split`=", "--validation-split "),
    (r"\ba validation_split\b", "--validation-split"),
    (r"`devices=(\w+)`", r"--devices \1"),
    (r"`batch_size`", "--batch-size"),
    (r"\bbatch_size=(\d+)", r"--batch-size \1"),
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
    if args.command is None:  # a usage error, as git and pip treat it
        parser.print_help(sys.stderr)
        return 2
    import warnings

    # fit() on a tf.data.Dataset warns that its default shuffle=True is
    # ignored; our datasets shuffle themselves.
    warnings.filterwarnings("ignore", message=".*shuffle=True. was passed")
    # TF's Python logger reports every retrace of a new model's predict step.
    import logging

    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    try:
        return COMMANDS[args.command](args)
    # User input (the library's argument checks, missing or unreadable
    # files, a missing optional dependency); anything else is a bug and
    # keeps its traceback.
    except (CliError, ValueError, OSError, ImportError) as error:
        return _fail(error)


if __name__ == "__main__":
    sys.exit(main())
