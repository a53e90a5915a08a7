"""Bad input data and arguments: each must end in a plain Python error that
names the argument (or a warning), never a wrong dataset or an error from
deep inside TensorFlow, JAX or NumPy."""

import logging
import os
import re
import threading

import numpy as np
import pytest

import keras
from keras_tl import data
from keras_tl.data import files
from keras_tl.data import pipeline
from keras_tl.layers import ImageDataGeneratorAugmentation

Image = pytest.importorskip("PIL.Image")

needs_symlinks = pytest.mark.skipif(
    not hasattr(os, "symlink") or os.name == "nt", reason="needs symlinks"
)


def _tf():
    return pytest.importorskip("tensorflow")


def _jpeg(path, size=(32, 24), seed=0, quality=90):
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (size[1], size[0], 3)).astype("uint8")
    Image.fromarray(pixels).save(path, "JPEG", quality=quality)


def _dataset(root, counts=(("cat", 3), ("dog", 2))):
    for name, n in counts:
        os.makedirs(root / name, exist_ok=True)
        for i in range(n):
            _jpeg(root / name / f"{i}.jpg", seed=len(name) * 10 + i)
    return root


def _real_listing(paths, labels):
    return sorted((os.path.realpath(p), y) for p, y in zip(paths, labels))


# 1. validation_split ---------------------------------------------------------


@pytest.mark.parametrize(
    "n, validation_split",
    [(n, v) for n in (2, 3, 10, 101) for v in (0.1, 0.25, 0.5, 0.9) if int(v * n)],
)
def test_split_subsets_partition_the_files(n, validation_split):
    paths = [f"f{i}.jpg" for i in range(n)]
    labels = [i % 3 for i in range(n)]
    train = files.split(paths, labels, validation_split, "training", seed=3)
    val = files.split(paths, labels, validation_split, "validation", seed=3)
    assert train[0] and val[0]
    assert sorted(train[0] + val[0]) == sorted(paths)
    assert len(val[0]) == int(validation_split * n)
    for subset_paths, subset_labels in (train, val):
        assert [int(p[1:-4]) % 3 for p in subset_paths] == subset_labels


@pytest.mark.parametrize("n, validation_split", [(5, 0.1), (9, 0.1), (1, 0.5)])
def test_split_selecting_no_validation_file_raises(n, validation_split):
    paths, labels = [f"f{i}.jpg" for i in range(n)], [0] * n
    for subset in ("training", "validation"):
        with pytest.raises(
            ValueError, match=rf"`validation_split`={validation_split} of {n} image"
        ):
            files.split(paths, labels, validation_split, subset, seed=1)


# 2. folder walking and symlinks ----------------------------------------------


def _link(target, link):
    os.symlink(target, link, target_is_directory=os.path.isdir(target))


LINKS = {
    # name: (link path, target), relative to the dataset root
    "self": [("cat/again", "cat")],
    "self_relative": [("cat/again", ".")],
    "root": [("cat/up", "")],
    "above_root": [("cat/top", "..")],
    "other_class": [("cat/dogs", "dog")],
    "other_class_file": [("cat/d0.jpg", "dog/0.jpg")],
    "same_file": [("cat/copy.jpg", "cat/0.jpg"), ("dog/copy.jpg", "dog/1.jpg")],
    "nested_self": [("cat/sub/loop", "cat")],
}


@needs_symlinks
@pytest.mark.parametrize("case", sorted(LINKS))
def test_links_back_into_the_dataset_list_each_image_once(tmp_path, case, caplog):
    root = _dataset(tmp_path / "data")
    os.makedirs(root / "cat" / "sub", exist_ok=True)
    expected = _real_listing(*files.list_class_folders(str(root))[:2])
    for link, target in LINKS[case]:
        if target == ".":  # the link's own folder, as a relative link
            _link(".", root / link)
        elif target == "..":
            _link(str(root.parent), root / link)
        else:
            _link(str(root / target), root / link)
    with caplog.at_level(logging.WARNING, logger="keras_tl"):
        paths, labels, names = files.list_class_folders(str(root))
    assert names == ["cat", "dog"]
    assert len(paths) == len(set(paths)) == 5
    assert _real_listing(paths, labels) == expected
    assert "did not follow" in caplog.text


@needs_symlinks
def test_two_self_links_finish(tmp_path):
    root = _dataset(tmp_path / "data")
    _link(".", root / "cat" / "a")
    _link(".", root / "cat" / "b")
    result = []
    worker = threading.Thread(
        target=lambda: result.append(files.list_class_folders(str(root))),
        daemon=True,
    )
    worker.start()
    worker.join(timeout=60)
    assert result, "listing a folder with two self-links did not finish"
    assert len(result[0][0]) == 5


@needs_symlinks
def test_links_out_of_the_dataset_are_followed(tmp_path):
    root = _dataset(tmp_path / "data")
    outside = tmp_path / "shared" / "more_cats"
    os.makedirs(outside)
    for i in range(2):
        _jpeg(outside / f"x{i}.jpg", seed=100 + i)
    _link(str(outside), root / "cat" / "extra")
    _link(str(outside), root / "cat" / "extra_again")  # listed once
    paths, labels, _ = files.list_class_folders(str(root))
    assert labels.count(0) == 5 and labels.count(1) == 2
    images, labels, _ = data.load_image_folder(root, image_size=(8, 8))
    assert len(images) == 7 and np.bincount(labels).tolist() == [5, 2]


@needs_symlinks
def test_class_folder_linked_to_the_root_is_not_a_class(tmp_path):
    root = _dataset(tmp_path / "data")
    _link(".", root / "all")
    with pytest.raises(ValueError, match=r"\['all'\].*hold no files"):
        files.list_class_folders(str(root))
    paths, labels, names = files.list_class_folders(str(root), ["cat", "dog"])
    assert len(paths) == 5


def test_repeated_class_names_raise(tmp_path):
    root = _dataset(tmp_path / "data")
    with pytest.raises(ValueError, match=r"`class_names` must not repeat.*'cat'"):
        files.list_class_folders(str(root), ["cat", "dog", "cat"])
    with pytest.raises(ValueError, match="`class_names` must not repeat"):
        data.from_dataframe(
            {"filename": ["cat/0.jpg"], "class": ["cat"]},
            directory=str(root),
            class_names=["cat", "cat"],
            image_size=(8, 8),
        )


# 3. decoding: 16-bit PNG, palette BMP, WebP ---------------------------------

SIZE = (24, 32)  # (height, width): both paths then resize by identity


def _odd_images(folder):
    """{file name: the RGB(A) Pillow reference} for formats that decoded
    wrongly or not at all."""
    rng = np.random.default_rng(0)
    h, w = SIZE
    os.makedirs(folder)
    gray16 = rng.integers(0, 65536, (h, w)).astype("uint16")
    Image.fromarray(gray16).save(folder / "gray16.png")
    palette = Image.fromarray(rng.integers(0, 16, (h, w)).astype("uint8"), "P")
    palette.putpalette(rng.integers(0, 256, 16 * 3).tolist())
    palette.save(folder / "palette.bmp")
    palette.save(folder / "palette.gif")
    rgb = rng.integers(0, 256, (h, w, 3)).astype("uint8")
    Image.fromarray(rgb).save(folder / "rgb.webp", lossless=True)
    rgba = rng.integers(0, 256, (h, w, 4)).astype("uint8")
    Image.fromarray(rgba, "RGBA").save(folder / "rgba.webp", lossless=True)
    gray8 = Image.fromarray((gray16 / 257).round().astype("uint8"))
    refs = {name: Image.open(folder / name) for name in os.listdir(folder)}
    refs["gray16.png"] = gray8
    return refs


def _reference(image, mode):
    array = np.asarray(image.convert(mode), dtype="float32")
    return array[..., None] if array.ndim == 2 else array


def test_tf_free_loader_decodes_16_bit_png_palette_bmp_and_webp(tmp_path):
    refs = _odd_images(tmp_path / "data" / "odd")
    assert Image.open(tmp_path / "data" / "odd" / "gray16.png").mode.startswith("I")
    assert Image.open(tmp_path / "data" / "odd" / "palette.bmp").mode == "P"
    for mode in ("RGB", "L", "RGBA"):
        for name, ref in refs.items():
            got = data.arrays.read_image(tmp_path / "data" / "odd" / name, SIZE, mode)
            np.testing.assert_allclose(
                got, _reference(ref, mode), atol=0.5, err_msg=f"{name} in {mode}"
            )
    images, _, _ = data.load_image_folder(tmp_path / "data", image_size=SIZE)
    assert len(images) == len(refs)


@pytest.mark.parametrize("color_mode", ["rgb", "grayscale", "rgba"])
def test_tf_data_path_decodes_them_as_pillow_does(tmp_path, color_mode):
    _tf()
    refs = _odd_images(tmp_path / "data" / "odd")
    _jpeg(tmp_path / "data" / "odd" / "photo.jpg", size=SIZE[::-1])
    ds = data.image_dataset_from_directory(
        tmp_path / "data",
        image_size=SIZE,
        batch_size=None,
        shuffle=False,
        color_mode=color_mode,
    )
    assert ds.skipped_files == []
    mode = {"rgb": "RGB", "grayscale": "L", "rgba": "RGBA"}[color_mode]
    for path, (image, _) in zip(ds.file_paths, ds):
        name = os.path.basename(path)
        image = np.asarray(image)
        if name == "photo.jpg":  # JPEG decoders differ by a few levels
            ref = _reference(Image.open(path), mode)
            assert image.shape == ref.shape and np.abs(image - ref).mean() < 3
            continue
        # 16-bit PNG: TF keeps the high byte, Pillow-side we round v / 257.
        np.testing.assert_allclose(image, _reference(refs[name], mode), atol=1.0, err_msg=name)


# 4. corrupt JPEG bodies ------------------------------------------------------


def _corrupt_jpeg(path, how):
    """A JPEG whose header and end marker are intact but whose scan data is
    not: an unsupported marker, or random bytes, in the middle."""
    _jpeg(path, size=(200, 150), seed=7)
    good = path.read_bytes()
    middle = (good.index(b"\xff\xda") + len(good)) // 2
    if how == "marker":
        patch = b"\xff\xbd" * 4
    else:
        patch = np.random.default_rng(1).integers(0, 256, 4096).astype("uint8").tobytes()
    path.write_bytes(good[:middle] + patch + good[middle + len(patch) :])


@pytest.mark.parametrize("how", ["marker", "random"])
@pytest.mark.parametrize("loader", ["directory", "dataframe"])
def test_corrupt_jpeg_body_is_caught_when_the_dataset_is_built(tmp_path, how, loader):
    tf = _tf()
    root = _dataset(tmp_path / "data")
    bad = root / "dog" / "bad.jpg"
    _corrupt_jpeg(bad, how)
    assert files.check_image_file(str(bad)) is None  # the header is fine
    with pytest.raises(tf.errors.InvalidArgumentError):  # what fit() hit
        tf.io.decode_jpeg(bad.read_bytes())

    def build(**kwargs):
        if loader == "directory":
            return data.image_dataset_from_directory(root, image_size=(16, 16), **kwargs)
        names = [f"cat/{i}.jpg" for i in range(3)] + ["dog/0.jpg", "dog/1.jpg", "dog/bad.jpg"]
        table = {"filename": names, "class": [n.split("/")[0] for n in names]}
        return data.from_dataframe(table, str(root), image_size=(16, 16), **kwargs)

    ds = build(batch_size=2)
    assert [os.path.basename(p) for p, _ in ds.skipped_files] == ["bad.jpg"]
    assert "cannot be decoded" in ds.skipped_files[0][1]
    assert ds.class_counts == {"cat": 3, "dog": 2}
    assert sum(int(x.shape[0]) for x, _ in ds) == 5  # no error mid-epoch
    with pytest.raises(ValueError, match=r"bad\.jpg cannot be decoded"):
        build(on_error="raise")


def test_corrupt_jpeg_in_a_split_is_skipped_by_its_subset_only(tmp_path):
    _tf()
    root = _dataset(tmp_path / "data", counts=(("cat", 6), ("dog", 6)))
    _corrupt_jpeg(root / "dog" / "bad.jpg", "marker")
    kw = dict(image_size=(8, 8), validation_split=0.5, seed=2)
    train = data.image_dataset_from_directory(root, subset="training", **kw)
    val = data.image_dataset_from_directory(root, subset="validation", **kw)
    bad = str(root / "dog" / "bad.jpg")
    assert [p for p, _ in train.skipped_files + val.skipped_files] == [bad]
    kept = train.file_paths + val.file_paths
    assert len(kept) == len(set(kept)) == 12 and bad not in kept


def test_tf_free_loader_skips_a_corrupt_jpeg_body(tmp_path):
    root = _dataset(tmp_path / "data")
    _corrupt_jpeg(root / "dog" / "bad.jpg", "marker")
    images, labels, _ = data.load_image_folder(root, image_size=(8, 8))
    assert len(images) == 5 and np.bincount(labels).tolist() == [3, 2]
    with pytest.raises(ValueError, match=r"bad\.jpg cannot be decoded"):
        data.load_image_folder(root, image_size=(8, 8), on_error="raise")


# 5. augment: no standardization, no random transforms on evaluation sets -----

STANDARDIZING = [
    {"rescale": 1 / 255},
    {"featurewise_center": True},
    {"featurewise_std_normalization": True},
    {"samplewise_center": True},
    {"samplewise_std_normalization": True},
    {"zca_whitening": True},
]


@pytest.mark.parametrize("as_layer", [False, True], ids=["dict", "layer"])
@pytest.mark.parametrize("keywords", STANDARDIZING, ids=lambda k: next(iter(k)))
def test_augment_refuses_standardization(keywords, as_layer):
    augment = dict(keywords, horizontal_flip=True)
    if as_layer:
        augment = ImageDataGeneratorAugmentation(**augment)
    key = next(iter(keywords))
    with pytest.raises(ValueError, match=rf"sets {key}=.*drop {key}=.*augmentation=") as e:
        pipeline.make_augment(augment)
    assert "[0, 255]" in str(e.value)


def test_augment_refuses_rescaling_layers_inside_a_pipeline():
    augment = keras.Sequential([keras.layers.RandomFlip(), keras.layers.Rescaling(1 / 255)])
    with pytest.raises(ValueError, match="Rescaling layer"):
        pipeline.make_augment(augment)
    with pytest.raises(ValueError, match=r"sets rescale="):
        pipeline.make_augment(keras.layers.Pipeline([ImageDataGeneratorAugmentation(rescale=0.5)]))


@pytest.mark.parametrize("augment", [{"rescale": 1}, {"rescale": None}, {"rotation_range": 5}])
def test_augment_without_standardization_is_accepted(augment):
    assert isinstance(pipeline.make_augment(augment), ImageDataGeneratorAugmentation)


def test_array_dataset_refuses_standardization_and_evaluation_augment(images, labels):
    with pytest.raises(ValueError, match="sets rescale="):
        data.ArrayDataset(images, labels, augment={"rescale": 1 / 255})
    with pytest.raises(ValueError, match=r"shuffle=False.*augment_eval=True"):
        data.ArrayDataset(images, labels, shuffle=False, augment={"vertical_flip": True})
    seq = data.ArrayDataset(
        images,
        labels,
        shuffle=False,
        augment_eval=True,
        augment={"vertical_flip": True},
        batch_size=4,
    )
    assert tuple(seq[0][0].shape) == (4, 32, 32, 3)


@pytest.mark.parametrize(
    "kwargs, built_for",
    [
        (dict(validation_split=0.4, subset="validation", seed=1), "subset='validation'"),
        (dict(shuffle=False), "shuffle=False"),
    ],
)
def test_tf_data_loaders_refuse_augmenting_an_evaluation_set(tmp_path, kwargs, built_for):
    _tf()
    root = _dataset(tmp_path / "data")
    augment = {"rotation_range": 10}
    message = rf"\({built_for}\).*augment_eval=True"
    with pytest.raises(ValueError, match=message):
        data.image_dataset_from_directory(root, image_size=(8, 8), augment=augment, **kwargs)
    ds = data.image_dataset_from_directory(
        root, image_size=(8, 8), augment=augment, augment_eval=True, **kwargs
    )
    assert next(iter(ds))[0].shape[1:] == (8, 8, 3)
    if "shuffle" in kwargs:
        table = {"filename": ["cat/0.jpg", "dog/0.jpg"], "class": ["cat", "dog"]}
        with pytest.raises(ValueError, match=message):
            data.from_dataframe(table, str(root), image_size=(8, 8), augment=augment, **kwargs)
        images = np.zeros((2, 8, 8, 3), "float32") + 100
        with pytest.raises(ValueError, match=message):
            data.from_arrays(images, [0, 1], augment=augment, **kwargs)
    with pytest.raises(ValueError, match="sets rescale="):
        data.image_dataset_from_directory(root, image_size=(8, 8), augment={"rescale": 1 / 255})


# 6. DataFrame columns --------------------------------------------------------


@pytest.mark.parametrize("missing", [None, float("nan"), np.nan], ids=["None", "nan", "np.nan"])
def test_dataframe_missing_labels_raise(missing):
    table = {"filename": ["a.jpg", "b.jpg", "c.jpg"], "class": ["cat", missing, missing]}
    with pytest.raises(ValueError, match=r"Column 'class' has 2 missing value\(s\)"):
        data.from_dataframe(table, image_size=(8, 8))
    table = {"filename": ["a.jpg", missing], "class": ["cat", "dog"]}
    with pytest.raises(ValueError, match=r"Column 'filename' has 1 missing"):
        data.from_dataframe(table, image_size=(8, 8))


def test_dataframe_pandas_missing_labels_raise():
    pd = pytest.importorskip("pandas")
    table = pd.DataFrame({"filename": ["a.jpg", "b.jpg"], "class": ["cat", pd.NA]})
    with pytest.raises(ValueError, match=r"Column 'class' has 1 missing"):
        data.from_dataframe(table, image_size=(8, 8))


@pytest.mark.parametrize(
    "labels, types",
    [
        ([1, "1", 1.0], "['float', 'int', 'str']"),
        ([0, 1, 2.5], "['float', 'int']"),
        (["a", "b", np.int64(3)], "['int', 'str']"),
    ],
)
def test_dataframe_mixed_label_types_raise(labels, types):
    table = {"filename": [f"{i}.jpg" for i in range(len(labels))], "class": labels}
    with pytest.raises(ValueError, match=rf"y_col='class' mixes label types {re.escape(types)}"):
        data.from_dataframe(table, image_size=(8, 8))


def test_dataframe_columns_of_different_lengths_raise():
    table = {"path": ["a.jpg", "b.jpg", "c.jpg"], "label": ["x", "y"]}
    with pytest.raises(ValueError, match=r"x_col='path' and y_col='label'.*3 and 2"):
        data.from_dataframe(table, x_col="path", y_col="label", image_size=(8, 8))


# 7. arrays -------------------------------------------------------------------


def _array_loaders():
    loaders = [pytest.param(data.ArrayDataset, id="ArrayDataset")]
    try:
        import tensorflow  # noqa: F401

        loaders.append(pytest.param(data.from_arrays, id="from_arrays"))
    except ImportError:
        pass
    return loaders


@pytest.mark.parametrize("load", _array_loaders())
def test_arrays_bad_images_raise(load, images, labels):
    shape = r"\(N, height, width, channels\)"
    with pytest.raises(ValueError, match=shape + r".*images\[None\]"):
        load(images[0], labels[:1])  # one image
    with pytest.raises(ValueError, match=shape + r".*images\[\.\.\., None\]"):
        load(images[..., 0], labels)  # no channel axis
    with pytest.raises(ValueError, match="`images` is empty"):
        load(images[:0], labels[:0])
    for value in (np.nan, np.inf):
        broken = images.copy()
        broken[3, 1, 2, 0] = value
        with pytest.raises(ValueError, match="1 values are NaN or infinite"):
            load(broken, labels)
    with pytest.raises(ValueError, match="same length.*8 images and 7 labels"):
        load(images, labels[:7])
    with pytest.raises(ValueError, match=r"`labels` must be class indices >= 0; 3 are not"):
        load(images, labels - 1)
    with pytest.raises(ValueError, match="`labels` must be integer class indices"):
        load(images, labels + 0.5)
    with pytest.warns(UserWarning, match=r"floats in \[0, 1\].*expects \[0, 255\]"):
        load(images / 255.0, labels)


@pytest.mark.parametrize("load", _array_loaders())
@pytest.mark.parametrize("batch_size", [0, -4, 2.5, True, "8"])
def test_arrays_bad_batch_size_raises(load, batch_size, images, labels):
    received = re.escape(f"Received: batch_size={batch_size!r}")
    with pytest.raises(ValueError, match=r"`batch_size` must be a positive integer.*" + received):
        load(images, labels, batch_size=batch_size)


def test_array_dataset_accepts_numpy_batch_size(images, labels):
    assert len(data.ArrayDataset(images, labels, batch_size=np.int64(4))) == 2


def test_from_arrays_labels_out_of_class_range_raise(images, labels):
    _tf()
    message = r"`labels` must be class indices in \[0, 2\); 2 are not, e.g. \[2\]"
    with pytest.raises(ValueError, match=message):
        data.from_arrays(images, labels, class_names=["a", "b"])
    one_hot = np.eye(3)[labels]
    with pytest.raises(ValueError, match="One-hot `labels` must have 4 columns"):
        data.from_arrays(images, one_hot, class_names=list("abcd"))
    ds = data.from_arrays(images, one_hot, class_names=list("abc"), batch_size=None)
    assert ds.class_counts == {"a": 3, "b": 3, "c": 2}


@pytest.mark.parametrize(
    "labels, num_classes, message",
    [
        ([0, 1, 5], 3, r"in \[0, 3\); 1 are not, e.g. \[5\]"),
        ([-1, 0, 1], None, r">= 0; 1 are not, e.g. \[-1\]"),
        ([0, 1, 0.5], None, "integer class indices"),
        ({0: 3, 4: 1}, 2, r"in \[0, 2\)"),
        ({0: 3, -1: 1}, None, ">= 0"),
    ],
)
def test_class_weights_labels_out_of_range_raise(labels, num_classes, message):
    with pytest.raises(ValueError, match=r"`labels` must be .*" + message):
        data.class_weights(labels, num_classes=num_classes)


def test_folder_loaders_refuse_bad_batch_size(tmp_path):
    _tf()
    root = _dataset(tmp_path / "data")
    with pytest.raises(ValueError, match="Received: batch_size=0"):
        data.image_dataset_from_directory(root, image_size=(8, 8), batch_size=0)
