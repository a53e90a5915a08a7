import os

import numpy as np
import pytest

import keras
import keras_tl
from keras_tl import data
from tests.conftest import tiny_backbone

Image = pytest.importorskip("PIL.Image")
tf = pytest.importorskip("tensorflow")

CLASSES = ("ant", "bee", "cat")


def _write(path, size, color, mode="RGB", fmt="JPEG"):
    img = Image.new(mode, size, color)
    # some structure so resizing is not trivial
    img.paste(Image.new(mode, (size[0] // 2, size[1] // 2), 0), (0, 0))
    img.save(path, fmt)


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "images"
    for c, name in enumerate(CLASSES):
        os.makedirs(root / name)
        for i in range(4 + c):  # 4, 5, 6 images
            _write(root / name / f"{i}.jpg", (64 + 8 * i, 48), (40 * c, 80, 120))
    _write(root / "ant" / "gray.png", (50, 50), 128, mode="L", fmt="PNG")
    (root / "bee" / "notes.txt").write_text("not an image")
    (root / "bee" / "broken.jpg").write_bytes(b"\x00\x01garbage" * 10)
    good = (root / "cat" / "0.jpg").read_bytes()
    (root / "cat" / "truncated.jpg").write_bytes(good[: len(good) // 2])
    return root


def _all(ds):
    xs, ys = [], []
    for x, y in ds:
        xs.append(np.asarray(x))
        ys.append(np.asarray(y))
    join = np.stack if xs[0].ndim == 3 else np.concatenate
    return join(xs), join(ys)


def test_directory_dataset_shapes_names_counts_and_skips(folder):
    ds = data.image_dataset_from_directory(folder, image_size=(32, 40), batch_size=4)
    assert ds.class_names == list(CLASSES)
    assert ds.class_counts == {"ant": 5, "bee": 5, "cat": 6}
    assert sorted(os.path.basename(p) for p, _ in ds.skipped_files) == [
        "broken.jpg",
        "notes.txt",
        "truncated.jpg",
    ]
    x, y = _all(ds)
    assert x.shape == (16, 32, 40, 3) and x.dtype == np.float32
    assert 0 <= x.min() and x.max() <= 255
    assert sorted(np.bincount(y).tolist()) == [5, 5, 6]


def test_on_error_raise_names_the_file(folder):
    with pytest.raises(ValueError, match=r"broken\.jpg is not an image"):
        data.image_dataset_from_directory(folder, image_size=(32, 32), on_error="raise")


def test_grayscale_becomes_three_channels(folder):
    ds = data.image_dataset_from_directory(
        folder, image_size=(16, 16), batch_size=None, shuffle=False
    )
    gray = ds.file_paths.index(str(folder / "ant" / "gray.png"))
    image = np.asarray(list(ds)[gray][0])
    assert image.shape == (16, 16, 3)
    np.testing.assert_array_equal(image[..., 0], image[..., 2])
    one = data.image_dataset_from_directory(folder, image_size=(16, 16), color_mode="grayscale")
    assert _all(one)[0].shape[-1] == 1


def test_label_modes(folder):
    x, y = _all(
        data.image_dataset_from_directory(folder, image_size=(8, 8), label_mode="categorical")
    )
    assert y.shape == (16, 3) and (y.sum(1) == 1).all()
    two = folder.parent / "two"
    os.makedirs(two / "normal")
    os.makedirs(two / "pneumonia")
    for i in range(3):
        _write(two / "normal" / f"{i}.jpg", (20, 20), 10)
        _write(two / "pneumonia" / f"{i}.jpg", (20, 20), 200)
    _, yb = _all(data.image_dataset_from_directory(two, image_size=(8, 8), label_mode="binary"))
    assert yb.shape == (6, 1) and set(yb.ravel()) == {0.0, 1.0}
    with pytest.raises(ValueError, match="exactly 2 classes"):
        data.image_dataset_from_directory(folder, image_size=(8, 8), label_mode="binary")


def test_validation_split_is_disjoint_and_complete(folder):
    kw = dict(image_size=(8, 8), validation_split=0.25, seed=7, shuffle=False)
    train = data.image_dataset_from_directory(folder, subset="training", **kw)
    val = data.image_dataset_from_directory(folder, subset="validation", **kw)
    assert not set(train.file_paths) & set(val.file_paths)
    assert len(train.file_paths) + len(val.file_paths) == 16
    assert len(val.file_paths) == 4
    with pytest.raises(ValueError, match="same `seed`"):
        data.image_dataset_from_directory(
            folder, image_size=(8, 8), validation_split=0.2, subset="training"
        )


def test_cache_and_augment(folder, tmp_path):
    for cache in (True, str(tmp_path / "cache")):
        ds = data.image_dataset_from_directory(
            folder,
            image_size=(16, 16),
            cache=cache,
            batch_size=8,
            augment={"rotation_range": 30, "horizontal_flip": True},
        )
        first, second = _all(ds)[0], _all(ds)[0]
        assert first.shape == (16, 16, 16, 3)
        assert not np.array_equal(np.sort(first.ravel()), np.sort(second.ravel()))


def test_fast_jpeg_decode_is_close_to_full_decode(tmp_path):
    root = tmp_path / "big"
    os.makedirs(root / "a")
    rng = np.random.default_rng(0)
    smooth = np.kron(rng.uniform(0, 255, (12, 16, 3)), np.ones((40, 40, 1)))
    Image.fromarray(smooth.astype("uint8")).save(root / "a" / "0.jpg", quality=95)
    kw = dict(image_size=(60, 80), shuffle=False, batch_size=None)
    fast = _all(data.image_dataset_from_directory(root, **kw))[0]
    full = _all(data.image_dataset_from_directory(root, fast_jpeg=False, **kw))[0]
    assert np.abs(fast - full).mean() < 4.0


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(image_size=(0, 10)), ValueError, "image_size"),
        (dict(image_size=224), ValueError, "image_size"),
        (dict(on_error="ignore"), ValueError, "on_error"),
        (dict(label_mode="sparse"), ValueError, "label_mode"),
        (dict(color_mode="bgr"), ValueError, "color_mode"),
    ],
)
def test_bad_arguments(folder, kwargs, error, message):
    kwargs.setdefault("image_size", (8, 8))
    with pytest.raises(error, match=message):
        data.image_dataset_from_directory(folder, **kwargs)


def test_missing_and_empty_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        data.image_dataset_from_directory(tmp_path / "nope", image_size=(8, 8))
    os.makedirs(tmp_path / "d" / "a")
    os.makedirs(tmp_path / "d" / "b")
    _write(tmp_path / "d" / "a" / "0.jpg", (10, 10), 1)
    with pytest.raises(ValueError, match=r"\['b'\].*hold no files"):
        data.image_dataset_from_directory(tmp_path / "d", image_size=(8, 8))
    os.makedirs(tmp_path / "flat")
    with pytest.raises(ValueError, match="no class sub-folders"):
        data.image_dataset_from_directory(tmp_path / "flat", image_size=(8, 8))


def test_from_dataframe_without_pandas(folder):
    table = {
        "filename": ["ant/0.jpg", "bee/1.jpg", "cat/2.jpg", "bee/notes.txt"],
        "class": ["ant", "bee", "cat", "bee"],
    }
    ds = data.from_dataframe(table, directory=str(folder), image_size=(8, 8))
    assert ds.class_names == ["ant", "bee", "cat"]
    assert len(ds.skipped_files) == 1
    x, y = _all(ds)
    assert x.shape == (3, 8, 8, 3)
    with pytest.raises(ValueError, match="x_col"):
        data.from_dataframe(table, x_col="path", image_size=(8, 8))


def test_from_tfds_with_mock_data():
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=6):
        ds = data.from_tfds("cats_vs_dogs", split="train", image_size=(24, 24), batch_size=3)
        x, y = _all(ds)
    assert ds.class_names == ["cat", "dog"]
    assert x.shape == (6, 24, 24, 3) and set(y) <= {0, 1}


def test_from_arrays_and_class_weights(images, labels):
    ds = data.from_arrays(images, labels, batch_size=4, augment={"horizontal_flip": True})
    x, y = _all(ds)
    assert x.shape == images.shape
    weights = data.class_weights(labels)
    counts = np.bincount(labels)
    for c, w in weights.items():
        assert w == pytest.approx(len(labels) / (3 * counts[c]))
    assert data.class_weights(ds) == weights
    assert data.class_weights({0: 10, 1: 30}) == {0: 2.0, 1: 2 / 3}
    with pytest.raises(ValueError, match=r"Classes \[1\] have no examples"):
        data.class_weights([0, 0, 2])


def test_tf_free_folder_loader_and_array_dataset(folder):
    images, labels, names = data.load_image_folder(folder, image_size=(12, 12))
    assert images.shape == (16, 12, 12, 3) and names == list(CLASSES)
    seq = data.ArrayDataset(images, labels, batch_size=5, augment={"vertical_flip": True}, seed=0)
    assert len(seq) == 4
    x, y = seq[0]
    assert tuple(x.shape) == (5, 12, 12, 3) and len(y) == 5


def test_training_on_the_input_path_with_class_weights(folder):
    ds = data.image_dataset_from_directory(folder, image_size=(32, 32), batch_size=4)
    model = keras_tl.TransferClassifier(tiny_backbone(), 3, preprocessing="tf")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    history = model.fit(ds, epochs=1, verbose=0, class_weight=data.class_weights(ds))
    assert np.isfinite(history.history["loss"][0])


def test_mixed_precision_auto_on_cpu_and_explicit():
    assert keras_tl.mixed_precision.enable("auto") == "float32"
    assert keras_tl.mixed_precision.enable("mixed_bfloat16") == "mixed_bfloat16"
    assert keras.mixed_precision.dtype_policy().name == "mixed_bfloat16"
    with pytest.raises(ValueError, match="policy"):
        keras_tl.mixed_precision.enable("fp8")
