"""The benchmarks' --quick mode and the examples' --smoke mode run and
write well-formed results (no timing is checked here)."""

import importlib.util
import json
import os
import sys

import pytest

import keras

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "examples"))


def _check(path, benchmark):
    with open(path) as f:
        result = json.load(f)
    assert result["benchmark"] == benchmark
    assert result["backend"] == keras.backend.backend()
    assert result["device"] and result["date"] and result["versions"]["keras"]
    assert result["records"]
    return result


def test_training_throughput_quick(tmp_path):
    from benchmarks import training_throughput

    # One compiled model (VGG16 compiles fastest) serves both inputs.
    training_throughput.main(
        [
            "--quick",
            "--out",
            str(tmp_path),
            "--models",
            "vgg16",
            "--inputs",
            "pipeline,pipeline_host",
            "--repeats",
            "1",
        ]
    )
    result = _check(
        tmp_path / f"training_throughput_{keras.backend.backend()}.json", "training_throughput"
    )
    kinds = {r["input"] for r in result["records"]}
    assert kinds == {"pipeline", "pipeline_host"}
    assert all(r["images_per_second"] > 0 for r in result["records"])


def test_training_throughput_scaling_arithmetic():
    from benchmarks import training_throughput

    rec = lambda devices, ips: {
        "model": "m",
        "policy": "float32",
        "input": "pipeline",
        "devices": devices,
        "images_per_second": ips,
    }
    result = {"records": [rec(1, 100.0), rec(4, 360.0), rec(2, 200.0)]}
    training_throughput.derive(result)
    one, four, two = result["records"]
    assert "scaling_efficiency" not in one
    assert four["scaling_efficiency"] == pytest.approx(0.9)
    assert two["scaling_efficiency"] == pytest.approx(1.0)
    assert training_throughput.parse(["--devices", "1,all"]).devices == [1, "all"]
    with pytest.raises(SystemExit):
        training_throughput.parse(["--devices", "0"])


def test_bottleneck_quick(tmp_path):
    from benchmarks import bottleneck

    bottleneck.main(["--quick", "--out", str(tmp_path), "--repeats", "1"])
    result = _check(tmp_path / f"bottleneck_{keras.backend.backend()}.json", "bottleneck")
    assert result["speedup"] > 0


def test_input_pipeline_quick(tmp_path):
    pytest.importorskip("tensorflow")
    from benchmarks import input_pipeline

    input_pipeline.main(["--quick", "--out", str(tmp_path), "--images", "32"])
    result = _check(tmp_path / f"input_pipeline_{keras.backend.backend()}.json", "input_pipeline")
    assert set(result["ratios"]) == {
        "keras_tl_vs_ImageDataGenerator",
        "keras_tl_vs_chained_keras_layers",
    }


@pytest.mark.skipif(
    keras.backend.backend() != "jax",
    reason="a benchmark that needs no TensorFlow: run on JAX only, to keep the TF run short",
)
def test_demo_transfer_gap_quick(tmp_path):
    pytest.importorskip("sklearn")
    from benchmarks import demo_transfer_gap

    demo_transfer_gap.main(["--quick", "--out", str(tmp_path)])
    result = _check(
        tmp_path / f"demo_transfer_gap_{keras.backend.backend()}_quick.json", "demo_transfer_gap"
    )
    (record,) = result["records"]
    accuracies = [record[m] for m in demo_transfer_gap.METHODS]
    assert all(0.0 <= a <= 1.0 for a in accuracies)
    gap = result["summary"]["demo"]["2"]["gap"]
    assert gap["mean"] == pytest.approx(max(accuracies[1:]) - accuracies[0])


def test_demo_transfer_gap_summary_arithmetic():
    from benchmarks.demo_transfer_gap import summarize

    draws = [
        {"10": {"scratch": 0.5, "feature_extraction": 0.7, "fine_tuning": 0.6}},
        {"10": {"scratch": 0.8, "feature_extraction": 0.7, "fine_tuning": 0.75}},
    ]
    entry = summarize(draws)["10"]
    assert entry["scratch"]["mean"] == pytest.approx(0.65)
    assert entry["scratch"]["std"] == pytest.approx(0.15)
    assert entry["gap"]["min"] == pytest.approx(-0.05)
    assert entry["gap"]["max"] == pytest.approx(0.2)
    assert entry["gap"]["mean"] == pytest.approx(0.075)


EXAMPLES = ["chest_xray", "cats_vs_dogs_hub", "cats_vs_dogs_small_data", "birds", "dog_breeds"]


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_smoke(name):
    if keras.backend.backend() != "tensorflow" and name != "birds":
        # The examples are user scripts over the same library calls the
        # unit tests cover on both backends; JAX runs one of them.
        pytest.skip("examples run on TensorFlow; birds also on JAX")
    spec = importlib.util.spec_from_file_location(
        name, os.path.join(ROOT, "examples", f"{name}.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--smoke"]) is not None
