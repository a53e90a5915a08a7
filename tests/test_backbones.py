import importlib
import os
import re
import urllib.error

import numpy as np
import pytest

import keras
import keras_tl
from keras_tl import backbones
from keras_tl.layers import BackbonePreprocessing

FAMILIES = {
    "vgg16",
    "vgg19",
    "resnet50",
    "resnet101",
    "resnet152",
    "resnet50_v2",
    "resnet101_v2",
    "resnet152_v2",
    "inception_v3",
    "inception_resnet_v2",
    "xception",
    "mobilenet",
    "mobilenet_v2",
    "mobilenet_v3_small",
    "mobilenet_v3_large",
    "densenet121",
    "densenet169",
    "densenet201",
    "nasnet_mobile",
    "nasnet_large",
    *(f"efficientnet_b{i}" for i in range(8)),
    *(f"efficientnet_v2_{v}" for v in ("b0", "b1", "b2", "b3", "s", "m", "l")),
    *(f"convnext_{s}" for s in ("tiny", "small", "base", "large", "xlarge")),
}


def test_registry_covers_every_keras_applications_family():
    assert set(backbones.list_backbones()) == FAMILIES
    for name in FAMILIES:
        spec = backbones.get_spec(name)
        assert hasattr(keras.applications, spec.constructor), name
        module = importlib.import_module(f"keras.applications.{spec.module}")
        assert hasattr(module, "preprocess_input"), name


def test_unknown_backbone_lists_close_matches():
    with pytest.raises(ValueError, match=r"mobilenet_v2") as info:
        backbones.get_spec("mobilenetv2")
    assert "list_backbones" in str(info.value)
    with pytest.raises(ValueError, match="Unknown backbone 'resnet'"):
        keras_tl.TransferClassifier("resnet", num_classes=2, weights=None)


def _smallest_per_module():
    first = {}
    for name in sorted(FAMILIES, key=lambda n: (len(n), n)):
        first.setdefault(backbones.get_spec(name).module, name)
    return set(first.values())


# JAX compiles every random initializer per weight shape (~0.15 s each), so
# building all 40 models there takes ~15 minutes; it builds the smallest of
# each family, TensorFlow builds every entry.
@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_every_entry_builds_with_blocks(name):
    if keras.backend.backend() == "jax" and name not in _smallest_per_module():
        pytest.skip("JAX builds one entry per family (see comment above)")
    spec = backbones.get_spec(name)
    size = spec.min_size
    model, _ = backbones.build_backbone(name, (size, size, 3), weights=None)
    blocks = backbones.find_blocks(model, spec)
    # The count `keras-tl backbones` lists without building the model.
    assert len(blocks) == spec.blocks >= 3, [b.name for b in blocks]
    # Blocks tile the layers above the stem in order, without gaps.
    for before, after in zip(blocks, blocks[1:]):
        assert before.stop == after.start
    assert blocks[-1].stop == len(model.layers)
    assert len({b.name for b in blocks}) == len(blocks)
    assert spec.default_size >= spec.min_size


def _preprocess_reference(spec, x):
    module = importlib.import_module(f"keras.applications.{spec.module}")
    return np.asarray(module.preprocess_input(x.copy()))


@pytest.mark.parametrize(
    "name",
    [
        "vgg16",
        "resnet50",
        "resnet50_v2",
        "inception_v3",
        "xception",
        "mobilenet",
        "mobilenet_v2",
        "mobilenet_v3_small",
        "densenet121",
        "nasnet_mobile",
        "efficientnet_b0",
        "efficientnet_v2_b0",
        "convnext_tiny",
        "inception_resnet_v2",
        "vgg19",
    ],
)
def test_preprocessing_matches_keras_applications(name, images):
    spec = backbones.get_spec(name)
    ours = np.asarray(BackbonePreprocessing(spec.preprocessing)(images))
    np.testing.assert_allclose(ours, _preprocess_reference(spec, images), rtol=1e-5, atol=1e-4)


def test_every_family_has_a_preprocessing_check():
    modules = {backbones.get_spec(n).module for n in FAMILIES}
    checked = {
        backbones.get_spec(n).module
        for n in test_preprocessing_matches_keras_applications.pytestmark[0].args[1]
    }
    assert modules == checked


def test_block_boundaries_match_the_classic_recipes():
    # Keras guide: "train the top 2 inception blocks, i.e. freeze the first
    # 249 layers" of InceptionV3.
    model, spec = backbones.build_backbone("inception_v3", (75, 75, 3), None)
    blocks = backbones.find_blocks(model, spec)
    assert len(blocks) == 11
    assert blocks[-2].start == 249
    # Birds recipe: fine-tune VGG16 "from layer 15" = block5.
    model, spec = backbones.build_backbone("vgg16", (32, 32, 3), None)
    blocks = backbones.find_blocks(model, spec)
    assert [b.name for b in blocks] == [f"block{i}" for i in range(1, 6)]
    assert blocks[-1].start == 15
    assert blocks[-1].first_layer(model) == "block5_conv1"
    # ConvNeXt: the downsampling layer opens the next stage.
    model, spec = backbones.build_backbone("convnext_tiny", (32, 32, 3), None)
    blocks = backbones.find_blocks(model, spec)
    assert [b.name for b in blocks] == [f"stage_{i}" for i in range(4)]
    assert "downsampling_block_0" in blocks[1].first_layer(model)


def test_input_below_minimum_is_rejected():
    with pytest.raises(ValueError, match="at least 75x75"):
        backbones.build_backbone("inception_v3", (64, 64, 3), None)
    with pytest.raises(ValueError, match=r"\(height, width, 3\)"):
        backbones.build_backbone("vgg16", (32, 32, 1), None)


def test_weights_from_a_file_the_test_makes(tmp_path):
    source, _ = backbones.build_backbone("mobilenet_v2", (32, 32, 3), None)
    path = tmp_path / "backbone.weights.h5"
    source.save_weights(path)
    model = keras_tl.TransferClassifier(
        "mobilenet_v2", num_classes=2, input_shape=(32, 32, 3), weights=path
    )
    for a, b in zip(source.weights, model.backbone.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_nasnet_imagenet_weights_need_their_size():
    with pytest.raises(ValueError, match=r"only for input_shape=\(224, 224, 3\)"):
        backbones.build_backbone("nasnet_mobile", (96, 96, 3), "imagenet")


def test_missing_weights_file_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="existing weights file"):
        backbones.build_backbone("vgg16", None, str(tmp_path / "nope.h5"))


def test_imagenet_offline_names_the_file_and_the_cache(tmp_path, monkeypatch):
    """Offline, the error says which file to put where; following it works."""
    from keras.src.backend import config
    from keras.src.legacy.saving import legacy_h5_format
    from keras.src.utils import file_utils

    import h5py

    def no_network(*args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(file_utils, "urlretrieve", no_network)
    monkeypatch.setattr(config, "_KERAS_DIR", str(tmp_path))
    with pytest.raises(OSError) as info:
        backbones.build_backbone("mobilenet_v2", (96, 96, 3), "imagenet")
    message = str(info.value)
    target = re.search(r"put the file at (\S+) ", message).group(1)
    assert target.startswith(str(tmp_path / "models"))
    assert target.endswith("_96_no_top.h5")

    # Make the file the message asks for, from a model with known weights.
    source, _ = backbones.build_backbone("mobilenet_v2", (96, 96, 3), None)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with h5py.File(target, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, source)
    model, _ = backbones.build_backbone("mobilenet_v2", (96, 96, 3), "imagenet")
    for a, b in zip(source.weights, model.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
