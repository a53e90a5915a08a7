import argparse
import io
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import keras
import keras_tl
from keras_tl import cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
Image = pytest.importorskip("PIL.Image")
pytest.importorskip("sklearn")


@pytest.fixture
def xray(tmp_path):
    rng = np.random.default_rng(0)
    for split in ("train", "val", "test"):
        for c, name in enumerate(("normal", "pneumonia")):
            os.makedirs(tmp_path / "xray" / split / name)
            for i in range(4):
                level = 60 + 120 * c
                px = np.clip(rng.normal(level, 20, (40, 40)), 0, 255).astype("uint8")
                Image.fromarray(px, "L").save(tmp_path / "xray" / split / name / f"{i}.jpg")
    return tmp_path / "xray"


@pytest.fixture
def mobilenet_v2_weights(tmp_path):
    """A 32-pixel MobileNetV2 weights file in place of the ImageNet download:
    `--weights FILE` starts training with the backbone frozen."""
    path = str(tmp_path / "mobilenet_v2.weights.h5")
    keras.applications.MobileNetV2(
        include_top=False, weights=None, input_shape=(32, 32, 3)
    ).save_weights(path)
    return path


def test_train_evaluate_predict(xray, mobilenet_v2_weights, tmp_path, capsys):
    # A weights file, so that training has its head-only and fine-tuning phases.
    weights = mobilenet_v2_weights
    out = tmp_path / "out"
    code = cli.main(
        [
            "train",
            str(xray),
            "--backbone",
            "mobilenet_v2",
            "--image-size",
            "32",
            "--weights",
            weights,
            "--epochs",
            "1",
            "--fine-tune-epochs",
            "1",
            "--batch-size",
            "4",
            "--class-weights",
            "--output",
            str(out),
            "--augment",
            "rotation_range=10,zoom_range=[0.9,1.1],horizontal_flip=True",
        ]
    )
    assert code == 0
    stdout = capsys.readouterr().out
    assert "keras-tl: phase 1/2: head only, backbone frozen, epoch 1\n" in stdout
    assert (
        "keras-tl: phase 2/2: fine-tuning the top 2 blocks of 17, backbone at 0.1x the learning rate, epoch 2\n"
        in stdout
    )
    assert stdout.index("phase 2/2") > stdout.index("Epoch 1/2")
    files = [
        "model.keras",
        "class_names.json",
        "history.csv",
        "report.txt",
        "confusion_matrix.png",
        "roc.png",
        "history.png",
    ]
    assert f"keras-tl: wrote in {out}: {', '.join(files)}\n" in stdout
    assert sorted(os.listdir(out)) == sorted(files)
    assert json.loads((out / "class_names.json").read_text()) == ["normal", "pneumonia"]
    header = (out / "history.csv").read_text().splitlines()[0]
    assert "trainable_params" in header and "val_loss" in header
    assert (
        cli.main(
            [
                "evaluate",
                str(out / "model.keras"),
                str(xray / "test"),
                "--output",
                str(tmp_path / "ev"),
            ]
        )
        == 0
    )
    stdout = capsys.readouterr().out
    assert "confusion matrix" in stdout
    assert (
        f"keras-tl: wrote in {tmp_path / 'ev'}: report.txt, confusion_matrix.png, roc.png" in stdout
    )
    assert cli.main(["evaluate", str(out / "model.keras"), str(xray / "test")]) == 0
    assert "printed the report only; --output DIR also writes" in capsys.readouterr().out
    image = str(xray / "test" / "normal" / "0.jpg")
    assert cli.main(["predict", str(out / "model.keras"), image, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["label"] in ("normal", "pneumonia") and 0.5 <= rows[0]["confidence"] <= 1


def test_phases_follow_the_plan():
    lines = cli._phase_lines(cli._phases(3, 5, "all", 0.1, num_blocks=17))
    assert lines == {
        0: "keras-tl: phase 1/2: head only, backbone frozen, epochs 1-3",
        3: "keras-tl: phase 2/2: fine-tuning all layers, backbone at 0.1x the learning rate, epochs 4-8",
    }
    assert cli._phase_lines(cli._phases(0, 4, {"blocks": 1}, 0.5, num_blocks=5)) == {
        0: "keras-tl: phase 1/1: fine-tuning the top 1 block of 5, backbone at 0.5x the learning rate, epochs 1-4"
    }
    assert cli._phase_lines(cli._phases(2, 0, {"blocks": 2}, 0.1, num_blocks=5)) == {
        0: "keras-tl: phase 1/1: head only, backbone frozen, epochs 1-2"
    }
    assert cli._phase_lines(cli._phases(0, 6, "all", None, num_blocks=5)) == {
        0: "keras-tl: phase 1/1: every layer from scratch, epochs 1-6"
    }


def test_progress_bar_only_on_a_terminal():
    class Terminal:
        def isatty(self):
            return True

    assert cli._fit_verbose(Terminal()) == 1
    assert cli._fit_verbose(io.StringIO()) == 2


def _subparsers(parser):
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return action.choices


def test_help_shows_defaults_and_explains_every_option():
    parser = cli.build_parser()
    for name, sub in _subparsers(parser).items():
        for action in sub._actions:
            assert action.help, (name, action.dest)
    train = " ".join(_subparsers(parser)["train"].format_help().split())
    for text in (
        "(default: mobilenet_v2)",
        "(default: 5)",
        "(default: imagenet)",
        "(default: 0.2)",
        "(default: the backbone's)",
        "(default: 32)",
        "(default: 0.001)",
        "(default: 0)",
        "(default: keras_tl_output)",
        "(default: float32)",
        "--batch-size is the global batch",
    ):
        assert text in train, text
    assert "(default: None)" not in train and "(default: False)" not in train
    assert "(default: 32)" in _subparsers(parser)["evaluate"].format_help()


def test_bare_command_prints_usage_and_exits_2(capsys):
    assert cli.main([]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("usage: keras-tl")
    assert "backbones" in captured.err


def test_backbones_lists_the_registry(capsys):
    assert cli.main(["backbones"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:] if line.strip()}
    assert rows["mobilenet_v2"][:5] == ["mobilenet_v2", "224", "32", "17", "tf"]
    assert rows["nasnet_mobile"][1:3] == ["224", "only"]
    assert rows["vgg16"][4] == "caffe"
    # Each listed count is checked against the built model in test_backbones.py.
    for name in keras_tl.backbones.list_backbones():
        cells = [c for c in rows[name] if c != "only"]
        assert cells[3] == str(keras_tl.backbones.get_spec(name).blocks)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "missing_dir"], "data folder not found"),
        (["predict", "nope.keras", "a.jpg"], "model file not found"),
        (["bench", "nope"], "unknown benchmark"),
    ],
)
def test_bad_input_is_one_line_and_nonzero(argv, message, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and err[0].startswith("keras-tl: error:")


def test_not_an_image_and_not_a_keras_tl_model(tmp_path, capsys):
    text = tmp_path / "notes.jpg"
    text.write_text("hello")
    other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    other.save(tmp_path / "plain.keras")
    assert cli.main(["predict", str(tmp_path / "plain.keras"), str(text)]) == 2
    assert "not a keras_tl TransferClassifier" in capsys.readouterr().err
    garbage = tmp_path / "garbage.keras"
    garbage.write_bytes(b"\x00" * 10)
    assert cli.main(["evaluate", str(garbage), str(tmp_path)]) == 2
    assert "is not a Keras model file" in capsys.readouterr().err


def test_console_script_runs_without_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "keras_tl", "train", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        env=dict(os.environ, PYTHONPATH=ROOT),
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("keras-tl: error:"), lines


def test_bench_outside_a_checkout_says_what_to_run(tmp_path):
    # A wheel install: the package alone, without benchmarks/ next to it.
    shutil.copytree(
        os.path.join(ROOT, "keras_tl"),
        tmp_path / "site" / "keras_tl",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    proc = subprocess.run(
        [sys.executable, "-m", "keras_tl", "bench", "input_pipeline"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        env=dict(os.environ, PYTHONPATH=str(tmp_path / "site")),
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "keras-tl: error: bench needs a source checkout of keras_tl (benchmarks/ is not installed "
        "with the package): in a clone of the repository run python -m benchmarks.input_pipeline"
    ]


def test_console_script_predicts_in_a_fresh_process(xray, tmp_path):
    # The command imports keras_tl lazily: the model must still load (its
    # classes registered), and TensorFlow's start-up logs stay off stderr.
    from tests.conftest import tiny_backbone

    model = keras_tl.TransferClassifier(
        tiny_backbone(), 2, preprocessing="tf", class_names=["normal", "pneumonia"]
    )
    model.save(tmp_path / "m.keras")
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "keras_tl",
            "predict",
            str(tmp_path / "m.keras"),
            str(xray / "test" / "normal" / "0.jpg"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        env=dict(env, PYTHONPATH=ROOT),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split("\t")[1] in ("normal", "pneumonia")
    assert proc.stderr == ""


DEMO_TWICE = """
import json, os, sys
from keras_tl import demo
kw = dict(labels_per_class=(2,), draws=2, epochs=1, pretrain_epochs=1, verbose=False)
first = demo.run(workers=1, **kw)
second = demo.run(workers=2, **kw)  # worker processes: the same table
demo.write_json(first, sys.argv[1])
print(json.dumps([first["per_draw"], second["per_draw"], os.listdir(sys.argv[2])]))
"""


def test_demo_same_seed_same_table_in_any_number_of_processes(tmp_path):
    # TF only: the demo's input path is tf.data, and on JAX every new
    # model's compile makes this test take minutes on 2 cores.
    if keras.backend.backend() != "tensorflow":
        pytest.skip("the demo's determinism is checked on the TensorFlow backend")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    out = subprocess.run(
        [sys.executable, "-c", DEMO_TWICE, str(tmp_path / "demo.json"), str(scratch)],
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, TMPDIR=str(scratch)),
    )
    assert out.returncode == 0, out.stderr[-3000:]
    first, second, left = json.loads(out.stdout.strip().splitlines()[-1])
    assert first == second
    assert len(first["2"]) == 2  # two draws
    # The image folders are gone (TF's autograph leaves its own files).
    assert [name for name in left if name.startswith("keras_tl_demo")] == []
    saved = json.loads((tmp_path / "demo.json").read_text())
    for method in ("scratch", "feature_extraction", "fine_tuning"):
        values = [row[method] for row in first["2"]]
        assert saved["labels_per_class"]["2"][method] == pytest.approx(sum(values) / 2)
        assert saved["spread"]["2"][method]["min"] == min(values)
    assert saved["gap"]["2"]["method"] in ("feature_extraction", "fine_tuning")


def test_demo_summary_gap_and_table():
    from keras_tl import demo

    rows = [
        {"scratch": 0.4, "feature_extraction": 0.6, "fine_tuning": 0.5},
        {"scratch": 0.5, "feature_extraction": 0.55, "fine_tuning": 0.7},
    ]
    result = demo.summarize({"2": rows})
    assert result["labels_per_class"]["2"]["scratch"] == pytest.approx(0.45)
    # The gap follows the transfer method with the better mean (fine-tuning,
    # 0.6 vs 0.575), paired by draw: 0.1 and 0.2 — not the per-draw best.
    gap = result["gap"]["2"]
    assert gap["method"] == "fine_tuning"
    assert (gap["min"], gap["max"]) == pytest.approx((0.1, 0.2))
    assert result["spread"]["2"]["scratch"]["std"] == pytest.approx(0.05)
    result.update(draws=2, test_images=10, seconds=1.0)
    table = demo.format_result(result)
    assert "0.450 ± 0.050" in table and "+15.0 (+10.0 to +20.0)" in table


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"labels_per_class": (0,)}, "labels_per_class"),
        ({"labels_per_class": (41,)}, "labels_per_class"),
        ({"draws": 0}, "draws"),
        ({"epochs": 1.5}, "epochs"),
        ({"workers": 0}, "workers"),
    ],
)
def test_demo_arguments_are_checked_before_work(kwargs, name):
    from keras_tl import demo

    with pytest.raises(ValueError, match=name):
        demo.run(verbose=False, **kwargs)
