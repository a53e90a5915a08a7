"""Every ```python example in README.md and in keras_tl's public docstrings
runs (issue 16).

How blocks are found: README.md's ```python fences in order; for the
docstrings, a walk of the public API — each submodule in
`keras_tl._SUBMODULES` (imported explicitly), its module docstring, the
names in its `__all__` (or, without one, the public functions and classes
it defines) and, for classes, their public methods and properties.
`test_every_source_example_is_collected` checks that this walk finds every
```python fence in keras_tl/**/*.py, so an example added in a place the
walk does not reach fails loudly instead of going untested.

Each block runs once per backend, as written except for the substitutions
in SUBSTITUTIONS, in a namespace holding the stand-ins of `namespace()`:
`keras`, `np`, `keras_tl`, the public names of the docstring's own module
(a function's example calls it by its bare name), a small compiled
`model`, tiny datasets, `images`; the working directory is a temporary
folder holding the image folders the examples name (IMAGE_FOLDERS).
Blocks that cannot run here are in SKIPS, with the reason.
"""

import importlib
import inspect
import pathlib
import re
import textwrap

import numpy as np
import pytest

import keras
import keras_tl
from tests.conftest import tiny_backbone

ROOT = pathlib.Path(__file__).resolve().parent.parent

# (pattern, replacement, why): regular expressions applied to every block.
# Image sizes and epoch counts run as written (8 images, a 3-convolution
# backbone), and `weights="imagenet"` only ever reaches the stand-in below.
SUBSTITUTIONS = [
    (
        r"\bkeras_tl\.TransferClassifier\(",
        "tiny_transfer_classifier(",
        "a real backbone costs 20-40 s per fit on 2 CPU cores and "
        '`weights="imagenet"` downloads: the stand-in checks the backbone '
        "name with `get_spec`, then builds a 3-convolution backbone with that "
        "family's preprocessing and input size (the call's `input_shape`, "
        "else the family's default); `weights` is not used",
    ),
]

# Block id -> why it cannot run here (both backends).
SKIPS = {
    "README.md#5": "loads a TF Hub model (network) and needs tensorflow_hub for its Keras 2 half",
    "keras_tl.hub.HubFeatureVector#1": "downloads a model from tfhub.dev",
    "keras_tl.data.from_tfds#1": "downloads cats_vs_dogs through tensorflow_datasets",
}

# Block id -> why it cannot run on the JAX backend. None: keras_tl.data and
# tf.data inputs work on JAX too (with TensorFlow installed).
TF_ONLY = {}

# Blocks that match this need TensorFlow installed (tf.data stand-ins,
# keras_tl.data); they run on both backends where it is.
NEEDS_TF = r"\b(train_ds|val_ds|test_ds|keras_tl\.data|data\.\w+\(|tf|hub)\b"

# Class folders (2 classes, 4 PNGs each) created in the working directory.
IMAGE_FOLDERS = (
    "xray/train",
    "xray/val",
    "data/train",
    "data/val",
    "birds/train",
    "birds/valid",
)

FENCE = re.compile(r"^([ \t]*)```python[ \t]*\n(.*?)^\1```", re.M | re.S)
SIZE = 224  # the size the examples' loaders and backbones default to
BLOCK_STARTS = ["conv0", "conv1", "conv2"]


def python_blocks(text):
    return [textwrap.dedent(m.group(2)) for m in FENCE.finditer(text)]


def _public_objects(module):
    names = getattr(module, "__all__", None)
    if names is None:
        names = [
            n
            for n, o in vars(module).items()
            if not n.startswith("_")
            and (inspect.isfunction(o) or inspect.isclass(o))
            and o.__module__ == module.__name__
        ]
    for name in names:
        obj = getattr(module, name)
        if inspect.ismodule(obj) or not getattr(obj, "__module__", "").startswith("keras_tl"):
            continue
        yield f"{module.__name__}.{name}", obj
        if inspect.isclass(obj):
            for attr, value in vars(obj).items():
                if attr.startswith("_"):
                    continue
                if isinstance(value, (staticmethod, classmethod)):
                    value = value.__func__
                if isinstance(value, property):
                    value = value.fget
                if inspect.isfunction(value):
                    yield f"{module.__name__}.{name}.{attr}", value


def docstring_blocks():
    """(id, module, code) for every example in a public docstring."""
    found, seen = [], set()
    modules = [keras_tl] + [
        importlib.import_module(f"keras_tl.{name}") for name in keras_tl._SUBMODULES
    ]
    for module in modules:
        entries = [(module.__name__, module)] + list(_public_objects(module))
        for qualname, obj in entries:
            doc = obj.__doc__  # not inspect.getdoc: no docstrings inherited from Keras
            key = id(obj)
            if not doc or key in seen:
                continue
            seen.add(key)
            for i, code in enumerate(python_blocks(inspect.cleandoc(doc)), 1):
                found.append((f"{qualname}#{i}", module, code))
    return found


def readme_blocks():
    text = (ROOT / "README.md").read_text()
    return [(f"README.md#{i}", None, c) for i, c in enumerate(python_blocks(text), 1)]


BLOCKS = readme_blocks() + docstring_blocks()


def substitute(code):
    for pattern, replacement, _ in SUBSTITUTIONS:
        code = re.sub(pattern, replacement, code)
    return code


def tiny_transfer_classifier(backbone, num_classes, input_shape=None, weights=None, **kwargs):
    spec = keras_tl.backbones.get_spec(backbone)  # a misspelt name still fails
    shape = tuple(input_shape or (spec.default_size, spec.default_size, 3))
    kwargs.setdefault("preprocessing", spec.preprocessing)
    kwargs.setdefault("block_starts", BLOCK_STARTS)
    return keras_tl.TransferClassifier(
        tiny_backbone(size=shape[0]), num_classes, input_shape=shape, **kwargs
    )


def write_image_folders(root):
    from PIL import Image

    rng = np.random.default_rng(0)
    for folder in IMAGE_FOLDERS:
        for label in ("a", "b"):
            path = root / folder / label
            path.mkdir(parents=True)
            for i in range(4):
                pixels = rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(path / f"{i}.png")


def tiny_dataset(seed):
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 255, (8, SIZE, SIZE, 3)).astype("float32")
    y = np.arange(8) % 3
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(4)


def _compiled_model():
    model = tiny_transfer_classifier("mobilenet_v2", 3)
    model.compile()
    return model


# Stand-ins for names the blocks use without defining them; each is built
# only for a block that names it.
STAND_INS = {
    # the Keras 2 half of README's ImageDataGenerator migration example
    "ImageDataGenerator": lambda: (
        __import__("keras.src.legacy.preprocessing.image", fromlist=["x"]).ImageDataGenerator
    ),
    "model": _compiled_model,  # 3 classes, 224x224, compiled with defaults
    "m2": _compiled_model,
    "train_ds": lambda: tiny_dataset(0),  # tf.data: 8 images, batches of 4
    "val_ds": lambda: tiny_dataset(1),
    "test_ds": lambda: tiny_dataset(2),
    "images": lambda: np.random.default_rng(3).uniform(0, 255, (4, 32, 32, 3)).astype("float32"),
}


def namespace(module, code):
    """The names a block may use without defining them."""
    ns = {
        "__name__": "__doc_example__",
        "keras": keras,
        "np": np,
        "keras_tl": keras_tl,
        "tiny_transfer_classifier": tiny_transfer_classifier,
    }
    if module is not None:  # a docstring's example uses its module's names
        for name in getattr(module, "__all__", None) or dir(module):
            if not name.startswith("_"):
                ns[name] = getattr(module, name)
    for name, make in STAND_INS.items():
        if re.search(rf"\b{name}\b", code):
            ns[name] = make()
    if re.search(r"\bm1\b", code):  # compare_models's first model
        ns["m1"] = ns["model"]
    return ns


@pytest.mark.parametrize("block_id, module, code", BLOCKS, ids=[b[0] for b in BLOCKS])
def test_example_runs(block_id, module, code, tmp_path, monkeypatch):
    if block_id in SKIPS:
        pytest.skip(SKIPS[block_id])
    if block_id in TF_ONLY and keras.backend.backend() != "tensorflow":
        pytest.skip(TF_ONLY[block_id])
    if re.search(NEEDS_TF, code):
        pytest.importorskip("tensorflow")  # a JAX-only install
    if re.search(r"\bplot_", code):
        pytest.importorskip("matplotlib").use("Agg")
    if any(folder in code for folder in IMAGE_FOLDERS):
        write_image_folders(tmp_path)
    monkeypatch.chdir(tmp_path)
    code = substitute(code)
    exec(compile(code, f"<{block_id}>", "exec"), namespace(module, code))


def test_blocks_found():
    ids = [b[0] for b in BLOCKS]
    assert len(ids) == len(set(ids))
    assert sum(i.startswith("README.md#") for i in ids) == 5
    for block_id in [*SKIPS, *TF_ONLY]:
        assert block_id in ids, f"stale skip: {block_id}"


def test_every_source_example_is_collected():
    in_source = sum(
        len(python_blocks(p.read_text())) for p in sorted((ROOT / "keras_tl").rglob("*.py"))
    )
    collected = sum(not b[0].startswith("README.md#") for b in BLOCKS)
    assert collected == in_source
