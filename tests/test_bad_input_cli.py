"""Bad input to `keras-tl`: one `keras-tl: error:` line naming the flag in
CLI spelling, exit 2, no traceback. Most cases fail in argument checks and
train nothing."""

import inspect
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import keras_tl
from keras_tl.data.pipeline import STANDARDIZATION
from keras_tl import cli
from tests.conftest import tiny_backbone
from tests.test_cli_and_reports import ROOT
from tests.test_cli_and_reports import Image
from tests.test_cli_and_reports import mobilenet_v2_weights  # noqa: F401 (fixture)
from tests.test_cli_and_reports import xray  # noqa: F401 (fixture)


def error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("keras-tl: error: "), err
    return err[0]


def fails(argv, capsys):
    assert cli.main(argv) == 2
    return error_line(capsys)


@pytest.mark.parametrize(
    "flag, value",
    [
        ("--lr", "-1"),
        ("--lr", "0"),
        ("--lr", "nan"),
        ("--epochs", "-1"),
        ("--fine-tune-epochs", "-1"),
        ("--image-size", "0"),
        ("--image-size", "-32"),
        ("--batch-size", "0"),
        ("--validation-split", "1"),
        ("--validation-split", "-0.1"),
        ("--dropout", "1"),
        ("--dropout", "-0.5"),
        ("--fine-tune-lr-ratio", "0"),
        ("--fine-tune-lr-ratio", "nan"),
        ("--unfreeze-blocks", "-1"),
        ("--unfreeze-blocks", "two"),
        ("--head-units", "0"),
        ("--head-units", "1024,x"),
        ("--head-units", "1.5"),
        ("--weights", "no_such_file.h5"),
        ("--seed", "-1"),
    ],
)
def test_bad_train_values_fail_in_argparse(flag, value, tmp_path, capsys):
    line = fails(["train", str(tmp_path), flag, value], capsys)
    assert line.startswith(f"keras-tl: error: argument {flag}: "), line


def test_bad_values_of_other_commands(capsys):
    assert "argument --batch-size" in fails(
        ["evaluate", "m.keras", "d", "--batch-size", "0"], capsys
    )
    assert "argument --epochs" in fails(["demo", "--epochs", "-3"], capsys)
    assert "required: data_dir" in fails(["train"], capsys)


def test_good_values_parse():
    args = cli.build_parser().parse_args(
        [
            "train",
            "d",
            "--unfreeze-blocks",
            "ALL",
            "--head-units",
            "1024, 256",
            "--weights",
            "None",
            "--validation-split",
            "0",
            "--epochs",
            "0",
        ]
    )
    assert args.unfreeze_blocks == "all" and args.head_units == (1024, 256)
    assert args.weights is None and args.validation_split == 0.0 and args.epochs == 0
    defaults = cli.build_parser().parse_args(["train", "d"])
    assert defaults.unfreeze_blocks == 2 and defaults.head_units == ()
    assert defaults.weights == "imagenet"


def test_train_checks_before_reading_data(tmp_path, capsys):
    line = fails(["train", str(tmp_path), "--epochs", "0", "--fine-tune-epochs", "0"], capsys)
    assert "nothing to train" in line
    (tmp_path / "file").write_text("")
    assert "--output" in fails(["train", str(tmp_path), "--output", str(tmp_path / "file")], capsys)
    line = fails(["train", str(tmp_path), "--backbone", "mobilnet_v2"], capsys)
    assert "--backbone mobilnet_v2: unknown; did you mean mobilenet_v2" in line


def test_augment_words_are_booleans_not_truthy_strings():
    parsed = cli._parse_augment(
        "horizontal_flip=false,vertical_flip=TRUE,fill_mode=nearest,zoom_range=[0.9,1.1],"
        "brightness_range=(0.8,1.2),cval=None,rescale=none,featurewise_center=False"
    )
    assert parsed == {
        "horizontal_flip": False,
        "vertical_flip": True,
        "fill_mode": "nearest",
        "zoom_range": [0.9, 1.1],
        "brightness_range": (0.8, 1.2),
        "cval": None,
    }
    assert cli._parse_augment("horizontal_flip=No")["horizontal_flip"] is False
    assert cli._parse_augment("horizontal_flip=yes")["horizontal_flip"] is True
    assert cli._parse_augment("fill_mode='wrap'")["fill_mode"] == "wrap"


@pytest.mark.parametrize(
    "augment, message",
    [
        ("horizontal_flip=maybe", "--augment horizontal_flip=maybe: expected true or false"),
        ("horizontal_flip=2", "--augment horizontal_flip=2: expected true or false"),
        ("rotation_range=ten", "--augment rotation_range=ten: expected a number"),
        ("rotation_range=true", "--augment rotation_range=true: expected a number"),
        ("zoom_range='0.2'", "expected a number or [lower,upper]"),
        ("rescale=1/255", "--augment rescale=1/255: not needed; the model takes [0, 255] images"),
        ("rescale=0.0039", "--augment rescale=0.0039: not needed"),
        ("featurewise_center=True", "--augment featurewise_center=True: not needed"),
        ("samplewise_std_normalization=yes", "skew training against evaluation and predict"),
        ("zca_whitening=1", "--augment zca_whitening=1: not needed"),
        (
            "rotaton_range=10",
            "--augment rotaton_range: not an augmentation keyword; did you mean rotation_range?",
        ),
        ("validation_split=0.2", "--augment validation_split: use --validation-split"),
        ("preprocessing_function=f", "--augment preprocessing_function: a Python function"),
        ("rotation_range", "--augment expects key=value pairs"),
        # values the layer's own checks refuse
        ("fill_mode=bogus", "--augment: `fill_mode` must be one of"),
        ("rotation_range=-5", "--augment: `rotation_range` must be a number >= 0"),
    ],
)
def test_bad_augment_is_refused(augment, message, tmp_path, capsys):
    assert message in fails(["train", str(tmp_path), "--augment", augment], capsys)


def test_augment_keywords_match_the_layer():
    # A keyword the layer gains must be taught to the CLI (what it takes).
    params = inspect.signature(keras_tl.layers.ImageDataGeneratorAugmentation).parameters
    keywords = {n for n, p in params.items() if p.kind is p.POSITIONAL_OR_KEYWORD}
    assert keywords == set(cli.AUGMENT_KEYS) | set(STANDARDIZATION)


def test_library_messages_use_cli_spelling(xray, capsys):  # noqa: F811
    line = fails(["train", str(xray), "--image-size", "8", "--weights", "none"], capsys)
    assert "Received: --image-size 8" in line and "e.g. --image-size 224" in line, line
    assert "input_shape" not in line and "image_size" not in line
    # nasnet's ImageNet weights exist at 224 only; refused before any download
    line = fails(["train", str(xray), "--backbone", "nasnet_mobile", "--image-size", "64"], capsys)
    assert "Use that size, or --weights none" in line and "weights=None" not in line, line
    # 10% of 8 images rounds down to no validation image
    line = fails(
        ["train", str(xray / "train"), "--validation-split", "0.1", "--weights", "none"], capsys
    )
    assert "--validation-split 0.1 of 8 image(s)" in line and "Use --validation-split of" in line, (
        line
    )
    out = xray.parent / "out"
    line = fails(
        [
            "train",
            str(xray),
            "--weights",
            "none",
            "--image-size",
            "32",
            "--unfreeze-blocks",
            "100",
            "--output",
            str(out),
        ],
        capsys,
    )
    assert re.search(
        r"--unfreeze-blocks 100: mobilenet_v2 has \d+ blocks; use \d+ or less, or all$", line
    ), line
    assert not out.exists()
    text = cli.cli_spelling("or pass weights='/path/to/that/file.h5', or weights=None to train")
    assert text == "or pass --weights /path/to/that/file.h5, or --weights none to train"
    line = fails(["train", str(xray), "--devices", "64"], capsys)
    assert re.match(r"keras-tl: error: --devices 64 but \d+ device\(s\) are visible", line), line
    assert (
        cli.cli_spelling("must divide by 2. Received: batch_size=3")
        == "must divide by 2. Received: --batch-size 3"
    )


def test_a_weights_file_that_does_not_load(xray, tmp_path, capsys):  # noqa: F811
    garbage = tmp_path / "w.h5"
    garbage.write_text("not weights")
    line = fails(["train", str(xray), "--image-size", "32", "--weights", str(garbage)], capsys)
    assert line.startswith(
        f"keras-tl: error: --weights {garbage}: not mobilenet_v2 weights Keras "
        "can load at --image-size 32 ("
    ), line


@pytest.fixture
def tiny_model(tmp_path):
    def save(class_names, num_classes=2):
        model = keras_tl.TransferClassifier(
            tiny_backbone(), num_classes, preprocessing="tf", class_names=class_names
        )
        path = str(tmp_path / f"tiny_{len(class_names or ())}_{num_classes}.keras")
        model.save(path)
        return path

    return save


def test_evaluate_needs_the_models_classes_as_folders(xray, tmp_path, tiny_model, capsys):  # noqa: F811
    model = tiny_model(["normal", "pneumonia"])
    os.makedirs(xray / "test" / "covid")
    Image.fromarray(np.zeros((40, 40), "uint8"), "L").save(xray / "test" / "covid" / "0.jpg")
    line = fails(["evaluate", model, str(xray / "test")], capsys)
    assert "does not know the class folder(s) ['covid']" in line
    assert "the model's classes are ['normal', 'pneumonia']" in line
    os.rename(xray / "test" / "normal", tmp_path / "normal")
    line = fails(["evaluate", model, str(xray / "test")], capsys)
    assert "['covid']" in line and "no folder for the model's class(es) ['normal']" in line
    os.makedirs(tmp_path / "empty")
    assert "has no class sub-folders" in fails(["evaluate", model, str(tmp_path / "empty")], capsys)


def test_evaluate_a_model_without_class_names(xray, tiny_model, capsys):  # noqa: F811
    line = fails(["evaluate", tiny_model(None, 3), str(xray / "test")], capsys)
    assert "has no class names and 3 classes" in line and "['normal', 'pneumonia']" in line
    assert cli.main(["evaluate", tiny_model(None, 2), str(xray / "test")]) == 0
    out = capsys.readouterr()
    assert "keras-tl: warning:" in out.err and "sorted order" in out.err
    assert "confusion matrix" in out.out


def test_predict_names_the_bad_file(xray, tmp_path, tiny_model, capsys):  # noqa: F811
    model = tiny_model(["normal", "pneumonia"])
    good = str(xray / "test" / "normal" / "0.jpg")
    assert fails(["predict", model, good, "missing.jpg"], capsys) == (
        "keras-tl: error: missing.jpg does not exist"
    )
    text = tmp_path / "notes.png"
    text.write_text("hello")
    assert fails(["predict", model, str(text)], capsys).startswith(
        f"keras-tl: error: {text} is not an image"
    )
    # right signature and end marker, garbage between: the decoder fails
    fake = tmp_path / "fake.jpg"
    fake.write_bytes(b"\xff\xd8\xff" + b"\x13" * 500 + b"\xff\xd9")
    assert f"{fake} is not a readable image" in fails(["predict", model, str(fake)], capsys)


def test_a_decode_error_mid_run_names_the_file(tmp_path):
    # keras_tl.data decodes every file up front; should one still fail in
    # tf.data (whose error names no file), the CLI finds and names it.
    tf = pytest.importorskip("tensorflow")
    good, fake = str(tmp_path / "good.png"), str(tmp_path / "fake.jpg")
    Image.fromarray(np.zeros((8, 8, 3), "uint8")).save(good)
    with open(fake, "wb") as f:
        f.write(b"\xff\xd8\xff" + b"\x13" * 500 + b"\xff\xd9")

    class Dataset:
        file_paths = [good, fake]

    with pytest.raises(cli.CliError, match=f"^{fake} cannot be decoded"):
        with cli._naming_undecodable_images(None, Dataset()):
            raise tf.errors.InvalidArgumentError(None, None, "Invalid JPEG data, size 505")
    Dataset.file_paths = [good]
    with pytest.raises(tf.errors.InvalidArgumentError):  # not a file's fault: a bug
        with cli._naming_undecodable_images(Dataset()):
            raise tf.errors.InvalidArgumentError(None, None, "shapes differ")


def test_train_with_word_booleans_and_no_validation(
    xray,  # noqa: F811
    mobilenet_v2_weights,  # noqa: F811
    tmp_path,
    capsys,
):
    # A weights file and no fine-tuning phase: only the head trains, which
    # traces in seconds (training all of MobileNetV2 takes ~30 s on TF).
    weights = mobilenet_v2_weights
    out = tmp_path / "out"
    code = cli.main(
        [
            "train",
            str(xray / "train"),
            "--image-size",
            "32",
            "--weights",
            weights,
            "--epochs",
            "1",
            "--fine-tune-epochs",
            "0",
            "--batch-size",
            "4",
            "--validation-split",
            "0",
            "--output",
            str(out),
            "--augment",
            "horizontal_flip=false,vertical_flip=yes,fill_mode=nearest",
        ]
    )
    assert code == 0, capsys.readouterr().err[-2000:]
    assert (out / "model.keras").exists() and not (out / "report.txt").exists()


def test_console_script_bad_lr_is_one_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "keras_tl", "train", str(tmp_path), "--lr", "-1"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        env=dict(os.environ, PYTHONPATH=ROOT),
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "keras-tl: error: argument --lr: expected a number > 0, got '-1' (see keras-tl train --help)"
    ]
