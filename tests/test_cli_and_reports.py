import json
import os
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


def test_train_evaluate_predict(xray, tmp_path, capsys):
    out = tmp_path / "out"
    code = cli.main([
        "train", str(xray), "--backbone", "mobilenet_v2", "--image-size", "32",
        "--weights", "none", "--epochs", "1", "--fine-tune-epochs", "1",
        "--batch-size", "4", "--class-weights", "--output", str(out),
        "--augment", "rotation_range=10,zoom_range=[0.9,1.1],horizontal_flip=True",
    ])  # fmt: skip
    assert code == 0
    for name in ("model.keras", "class_names.json", "history.csv", "report.txt"):
        assert (out / name).exists(), name
    assert json.loads((out / "class_names.json").read_text()) == ["normal", "pneumonia"]
    header = (out / "history.csv").read_text().splitlines()[0]
    assert "trainable_params" in header and "val_loss" in header
    capsys.readouterr()
    assert cli.main(["evaluate", str(out / "model.keras"), str(xray / "test"),
                     "--output", str(tmp_path / "ev")]) == 0  # fmt: skip
    assert "confusion matrix" in capsys.readouterr().out
    image = str(xray / "test" / "normal" / "0.jpg")
    assert cli.main(["predict", str(out / "model.keras"), image, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["label"] in ("normal", "pneumonia") and 0.5 <= rows[0]["confidence"] <= 1


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
        capture_output=True, text=True, cwd=ROOT, timeout=300,
        env=dict(os.environ, PYTHONPATH=ROOT),
    )  # fmt: skip
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("keras-tl: error:"), lines


DEMO_TWICE = """
import json, sys
from keras_tl import demo
kw = dict(labels_per_class=(5,), epochs=3, pretrain_epochs=1, verbose=False,
          deterministic=sys.argv[2] == "1")
first, second = demo.run(**kw), demo.run(**kw)
demo.write_json(first, sys.argv[1])
print(json.dumps([first["labels_per_class"], second["labels_per_class"]]))
"""


def run_demo_twice(path, deterministic=True):
    """Two small demo runs in a fresh process (op determinism is global)."""
    out = subprocess.run([sys.executable, "-c", DEMO_TWICE, str(path), str(int(deterministic))],
                         capture_output=True, text=True, timeout=600)  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_demo_writes_the_table_and_same_seed_gives_same_table(tmp_path):
    pytest.importorskip("tensorflow")
    first, second = run_demo_twice(tmp_path / "demo.json")
    assert first == second
    table = json.loads((tmp_path / "demo.json").read_text())["labels_per_class"]
    assert set(table) == {"5"}
    assert set(table["5"]) == {"scratch", "feature_extraction", "fine_tuning"}
    assert all(0.0 <= v <= 1.0 for v in table["5"].values())
