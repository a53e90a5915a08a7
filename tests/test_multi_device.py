"""keras_tl on 4 simulated CPU devices against the same run on one device:
`keras.distribution.DataParallel` on JAX, `tf.distribute.MirroredStrategy`
on TensorFlow. The training runs in one fresh process per backend
(tests/multi_device_run.py); these tests read what it wrote."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import keras
from keras_tl import mixed_precision
from tests.test_cli_and_reports import xray  # noqa: F401, F811  (fixture)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("multi_device")
    env = dict(os.environ, KERAS_BACKEND=keras.backend.backend())
    proc = subprocess.run(
        [sys.executable, "-m", "tests.multi_device_run", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    with open(out / "results.json") as f:
        return json.load(f), out


def test_frozen_epoch_is_bit_identical_and_only_scheduled_blocks_move(run):
    results, _ = run
    for key in ("one", "many"):
        part = results[key]
        assert part["frozen_epoch_identical"], key
        assert part["moved"] == part["expected_moved"] == ["conv2/kernel", "conv2/bias"]


def test_one_optimizer_step_per_batch_after_the_rebuild(run):
    results, _ = run
    # 3 epochs x 4 batches: a rebuild outside the strategy's scope made the
    # step counter advance once per replica (36 on TF).
    assert results["one"]["iterations"] == results["many"]["iterations"] == 12


def test_optimizer_variables_are_laid_out_like_the_weights(run):
    results, _ = run
    if results["backend"] == "tensorflow":
        assert results["many"]["layouts"] == ["MirroredVariable"]
    else:  # every weight and slot on the same 4 devices
        assert results["many"]["layouts"] == [4]


def test_final_weights_match_one_device(run):
    results, _ = run
    assert results["freeze_schedule_max_diff"] < 1e-4
    # GradualUnfreezing builds a per-block MultiOptimizer mid-fit.
    assert results["gradual_max_diff"] < 1e-4


def test_augmentation_inside_the_model_trains_on_many_devices(run):
    results, _ = run
    assert results["augmented_loss_finite"]


def test_saved_on_many_devices_loads_on_one(run):
    _, out = run
    model = keras.models.load_model(str(out / "model.keras"))
    x = np.load(out / "x.npy")
    np.testing.assert_allclose(
        model.predict(x, verbose=0),
        np.load(out / "predictions.npy"),
        rtol=1e-5,
        atol=1e-6,
    )
    np.testing.assert_allclose(
        model.extract_features(x, batch_size=8),
        np.load(out / "features.npy"),
        rtol=1e-5,
        atol=1e-5,
    )


def test_model_built_before_the_distribution_gets_a_clear_error(run):
    results, _ = run
    message = results["late_error"]
    assert message is not None
    if results["backend"] == "jax":
        assert "built before the distribution was set" in message
        assert "set_distribution" in message
    else:
        assert "strategy.scope()" in message


def test_auto_mixed_precision_follows_the_oldest_gpu():
    assert mixed_precision._gpu_policy([9.0, 8.0])[0] == "mixed_bfloat16"
    assert mixed_precision._gpu_policy([9.0, 7.5])[0] == "mixed_float16"
    assert mixed_precision._gpu_policy([8.6, 6.1])[0] == "float32"


def test_uneven_last_batch_trains_and_evaluates_every_image(run):
    uneven = run[0]["uneven"]
    # 34 images, batches of 8, 4 devices: training drops the batch of 2...
    assert uneven["train_batches"] == 4
    # ... evaluation pads it to 4 with zero-weight copies, and counts each
    # real image once.
    assert uneven["evaluation_batches"] == [8, 8, 8, 8, 4]
    assert uneven["predict_rows"] == 34
    assert uneven["report_images"] == 34
    expected = uneven["accuracy_from_predict"]
    assert uneven["report_accuracy"] == pytest.approx(expected, abs=1e-9)
    assert uneven["evaluate_accuracy"] == pytest.approx(expected, abs=1e-6)


def test_cli_trains_data_parallel_on_several_devices(xray, tmp_path):  # noqa: F811
    backend = keras.backend.backend()
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    env["XLA_FLAGS"] = env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2"
    args = [
        sys.executable,
        "-m",
        "keras_tl",
        "train",
        str(xray),
        "--backbone",
        "mobilenet_v2",
        "--image-size",
        "32",
        "--weights",
        "none",
        "--epochs",
        "1",
        "--fine-tune-epochs",
        "0",
        "--batch-size",
        "4",
        "--devices",
        "2",
        "--output",
        str(tmp_path / "out"),
    ]
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    if backend == "jax":  # 2 simulated CPU devices
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "data-parallel on 2 devices, 2 images per device" in proc.stdout
        assert (tmp_path / "out" / "model.keras").exists()
    else:  # TF sees one CPU device unless configured in-process
        assert proc.returncode == 2
        assert proc.stderr.strip().startswith("keras-tl: error: --devices 2 "), proc.stderr
        assert "1 device(s) are visible" in proc.stderr


def test_batchnorm_statistics_under_each_engine(run):
    results, _ = run
    diff = results["batchnorm_stats_max_diff"]
    if results["backend"] == "jax":
        # One program over the sharded batch: statistics of the global batch.
        assert diff < 1e-5
    else:
        # MirroredStrategy: each replica normalizes with its own quarter of
        # the batch (Keras's default), as the README says.
        assert diff > 1e-4


def test_global_batch_must_split_and_padding_is_announced(run):
    results, _ = run
    assert "must divide by 4" in results["odd_batch_error"]
    assert "batch_size=6" in results["odd_batch_error"]
    (warning,) = results["padding_warning"]
    assert "weighted_metrics" in warning


def test_two_jax_processes_train_as_one(tmp_path):
    """The multi-host path (keras.distribution.initialize) with 2 local
    processes on CPU; TensorFlow's MultiWorkerMirroredStrategy is left to
    the README (its CPU collectives need a TF_CONFIG cluster per test)."""
    if keras.backend.backend() != "jax":
        pytest.skip("multi-process run is the JAX engine's (keras.distribution)")
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.multi_host_run",
                str(i),
                port,
                str(tmp_path / f"{i}.json"),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in (0, 1)
    ]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs[0][-2000:] + outputs[1][-2000:]
    first, second = (json.loads((tmp_path / f"{i}.json").read_text()) for i in (0, 1))
    assert first["processes"] == 2 and first["local_devices"] == 2
    assert first["devices"] == 4  # the mesh spans both processes' devices
    assert first["backbone_moved"]
    assert first["checksum"] == pytest.approx(second["checksum"], abs=1e-6)


def test_unfreeze_on_plateau_on_many_devices(run):
    results, _ = run
    assert results["plateau_trainable"] == [2, 2]  # the top block opened on both
    assert results["plateau_max_diff"] < 1e-4


def test_model_parallel_with_a_layout_map(run):
    results, _ = run
    if results["backend"] != "jax":
        pytest.skip("keras.distribution.ModelParallel is the JAX engine")
    mp = results["model_parallel"]
    assert mp["kernel_spec"] == "P(None, 'model')"  # really sharded
    assert mp["replicas"] == 2  # the batch axis of the 2x2 mesh
    assert mp["max_diff"] < 1e-4
