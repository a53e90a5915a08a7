import os
import subprocess
import sys
import textwrap

import keras_tl

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(code, **env):
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3", **env),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_import_leaves_torch_out():
    proc = _run(
        """
        import sys, keras_tl
        keras_tl.TransferClassifier  # touch the public API
        print("torch" in sys.modules)
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


def test_import_leaves_stderr_alone():
    proc = _run(
        """
        import os, sys

        def refuse(*args):
            raise AssertionError("import keras_tl touched a file descriptor")

        os.dup = os.dup2 = refuse
        stderr = sys.stderr
        import keras_tl
        assert sys.stderr is stderr
        os.write(2, b"fd 2 still here\\n")
        print("sys.stderr still here", file=sys.stderr)
        """
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "fd 2 still here\nsys.stderr still here\n" in proc.stderr


def test_demo_workers_start_without_tensorflow_lines_on_stderr():
    # `keras-tl demo` spawns workers whose stderr is the user's terminal.
    # TF 2.21 prints its absl start-up lines whatever TF_CPP_MIN_LOG_LEVEL
    # says, so the worker imports TensorFlow with fd 2 silenced.
    proc = _run(
        """
        import concurrent.futures, multiprocessing, sys
        sys.argv[0] = "/usr/bin/keras-tl"  # as the console script runs
        from keras_tl import _quiet

        if __name__ == "__main__":
            with concurrent.futures.ProcessPoolExecutor(
                1, mp_context=multiprocessing.get_context("spawn"), initializer=_quiet.demo_worker
            ) as pool:
                print(pool.submit(sorted, ["keras", "tensorflow"]).result())
            print("parent still writes", file=sys.stderr)
        """
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "['keras', 'tensorflow']"
    assert proc.stderr == "parent still writes\n"


def test_help_and_version_import_neither_keras_nor_tensorflow():
    # As the console script starts: argv[0] is its path.
    proc = _run(
        """
        import contextlib, io, sys
        sys.argv[0] = "/usr/bin/keras-tl"
        from keras_tl.cli import main
        for argv in (["--version"], ["--help"], ["train", "--help"], []):
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                try:
                    main(argv)
                except SystemExit:
                    pass
        print(sorted(m for m in ("keras", "tensorflow", "jax", "keras_tl.models") if m in sys.modules))
        """
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "[]"
    # `python -m keras_tl`, as run: every import it makes, from -X importtime.
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "keras_tl", "--version"],
        env=dict(os.environ, PYTHONPATH=ROOT),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0 and proc.stdout.startswith("keras_tl "), proc.stderr[-3000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()}
    assert "keras_tl.cli" in imported
    assert not imported & {"keras", "tensorflow", "jax"}


def test_load_model_in_a_fresh_process_after_import(tmp_path):
    from tests.conftest import tiny_backbone

    keras_tl.TransferClassifier(tiny_backbone(), 3, preprocessing="tf").save(tmp_path / "m.keras")
    proc = _run(
        f"""
        import keras, keras_tl
        model = keras.models.load_model({str(tmp_path / "m.keras")!r})
        print(type(model).__name__, model.num_classes)
        """
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == "TransferClassifier 3"


def test_lazy_attributes():
    assert "TransferClassifier" in dir(keras_tl) and "hub" in dir(keras_tl)
    assert keras_tl.TransferClassifier is keras_tl.models.TransferClassifier
    try:
        keras_tl.no_such_thing
    except AttributeError as error:
        assert "no_such_thing" in str(error)
    else:
        raise AssertionError("expected AttributeError")


BLOCK_TENSORFLOW = """
import importlib.abc, sys
class _NoTF(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ImportError("tensorflow is not installed (blocked by test)")
sys.meta_path.insert(0, _NoTF())
"""


def test_jax_backend_without_tensorflow_trains():
    proc = _run(
        BLOCK_TENSORFLOW
        + """
import numpy as np, keras, keras_tl
assert keras.backend.backend() == "jax"
inputs = keras.Input((16, 16, 3))
x = keras.layers.Conv2D(4, 3, name="c1")(inputs)
x = keras.layers.Conv2D(4, 3, name="c2")(x)
model = keras_tl.TransferClassifier(keras.Model(inputs, x), 2)
model.unfreeze(blocks=1)
model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
model.fit(np.zeros((4, 16, 16, 3)), np.array([0, 1, 0, 1]), verbose=0)
print("tensorflow" in sys.modules)
""",
        KERAS_BACKEND="jax",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == "False"


def test_console_script_is_declared():
    from keras_tl import cli

    assert callable(cli.main)
    with open(os.path.join(ROOT, "pyproject.toml")) as f:
        assert 'keras-tl = "keras_tl.cli:main"' in f.read()


def test_version():
    assert keras_tl.__version__.count(".") == 2


def test_hub_layer_refuses_other_backends_clearly():
    proc = _run(
        """
        import keras_tl
        try:
            keras_tl.hub.HubFeatureVector("/tmp/x")
        except ValueError as e:
            print("needs the TensorFlow backend" in str(e))
        """,
        KERAS_BACKEND="jax",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "True"


def test_keras_floor_covers_the_apis_used():
    """pyproject's keras floor is at least the release that first shipped
    every Keras API keras_tl calls (MultiOptimizer/OptimizerMap: 3.15)."""
    import re

    import keras

    with open(os.path.join(ROOT, "pyproject.toml")) as f:
        floor = re.search(r'"keras>=([0-9.]+)"', f.read()).group(1)
    assert tuple(int(p) for p in floor.split(".")[:2]) >= (3, 15), floor
    for name in ("MultiOptimizer", "OptimizerMap"):
        assert hasattr(keras.optimizers, name), name
    assert hasattr(keras.distribution, "initialize")


def test_the_tree_is_ruff_formatted_and_lint_clean():
    # ruff comes with the test extra (pyproject.toml sets its rules): an
    # unformatted file or a lint finding fails the suite, and so CI.
    for args in (["format", "--check", "."], ["check", "."]):
        out = subprocess.run(
            [sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True
        )
        assert out.returncode == 0, f"ruff {' '.join(args)}:\n{out.stdout}{out.stderr}"
