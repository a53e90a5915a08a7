"""The table of `keras.applications` backbones keras_tl knows by name.

Block granularity follows how practitioners talk about each family: VGG's
five conv blocks, ResNet/DenseNet/EfficientNet/ConvNeXt stages, Xception's
14 blocks, MobileNet's depthwise blocks, InceptionV3's `mixedN` modules.
"""

from keras_tl.backbones.spec import BackboneSpec

_VGG = dict(block_start=r"^(block\d+)_")
_RESNET = dict(block_start=r"^(conv[2-5])_", blocks=4)
_DENSENET = dict(block_start=r"^(?:conv|pool)([2-5])_", blocks=4)
_EFFICIENTNET = dict(block_start=r"^(block\d)[a-z]_")


def _convnext_stage(key):
    # `downsampling_block_i` opens stage i + 1.
    kind, index = key.rsplit("_", 1)
    if kind == "downsampling_block":
        return f"stage_{int(index) + 1}"
    return key


_CONVNEXT = dict(
    block_start=r"_(stage_\d|downsampling_block_\d)(?:_|$)",
    block_key=_convnext_stage,
    blocks=4,
)

_EFFICIENTNET_SIZES = {
    "b0": 224,
    "b1": 240,
    "b2": 260,
    "b3": 300,
    "b4": 380,
    "b5": 456,
    "b6": 528,
    "b7": 600,
}
_EFFICIENTNET_V2_SIZES = {
    "b0": 224,
    "b1": 240,
    "b2": 260,
    "b3": 300,
    "s": 384,
    "m": 480,
    "l": 480,
}


def _specs():
    yield BackboneSpec("vgg16", "VGG16", "vgg16", 224, 32, "caffe", blocks=5, **_VGG)
    yield BackboneSpec("vgg19", "VGG19", "vgg19", 224, 32, "caffe", blocks=5, **_VGG)
    for depth in (50, 101, 152):
        yield BackboneSpec(
            f"resnet{depth}",
            f"ResNet{depth}",
            "resnet",
            224,
            32,
            "caffe",
            **_RESNET,
        )
        yield BackboneSpec(
            f"resnet{depth}_v2",
            f"ResNet{depth}V2",
            "resnet_v2",
            224,
            32,
            "tf",
            **_RESNET,
        )
    yield BackboneSpec(
        "inception_v3",
        "InceptionV3",
        "inception_v3",
        299,
        75,
        "tf",
        block_end=r"^mixed\d+$",
        blocks=11,
    )
    yield BackboneSpec(
        "inception_resnet_v2",
        "InceptionResNetV2",
        "inception_resnet_v2",
        299,
        75,
        "tf",
        block_end=r"^(mixed_5b|mixed_6a|mixed_7a|block(35|17|8)_\d+_ac"
        r"|conv_7b_ac)$",
        blocks=43,
    )
    yield BackboneSpec(
        "xception",
        "Xception",
        "xception",
        299,
        71,
        "tf",
        block_start=r"^(block\d+)_",
        blocks=14,
    )
    yield BackboneSpec(
        "mobilenet",
        "MobileNet",
        "mobilenet",
        224,
        32,
        "tf",
        block_start=r"^conv_(?:dw|pw|pad)_(\d+)",
        blocks=13,
    )
    yield BackboneSpec(
        "mobilenet_v2",
        "MobileNetV2",
        "mobilenet_v2",
        224,
        32,
        "tf",
        block_start=r"^(expanded_conv|block_\d+)_",
        blocks=17,
    )
    for size in ("small", "large"):
        yield BackboneSpec(
            f"mobilenet_v3_{size}",
            f"MobileNetV3{size.title()}",
            "mobilenet_v3",
            224,
            32,
            "none",
            block_start=r"^(expanded_conv(?:_\d+)?)_",
            blocks=11 if size == "small" else 15,
        )
    for depth in (121, 169, 201):
        yield BackboneSpec(
            f"densenet{depth}",
            f"DenseNet{depth}",
            "densenet",
            224,
            32,
            "torch",
            **_DENSENET,
        )
    yield BackboneSpec(
        "nasnet_mobile",
        "NASNetMobile",
        "nasnet",
        224,
        32,
        "tf",
        block_end=r"^(normal_concat_\d+|reduction_concat_(stem_\d|reduce_\d+))$",
        fixed_size=True,
        blocks=16,
    )
    yield BackboneSpec(
        "nasnet_large",
        "NASNetLarge",
        "nasnet",
        331,
        32,
        "tf",
        block_end=r"^(normal_concat_\d+|reduction_concat_(stem_\d|reduce_\d+))$",
        fixed_size=True,
        blocks=22,
    )
    for variant, size in _EFFICIENTNET_SIZES.items():
        yield BackboneSpec(
            f"efficientnet_{variant}",
            f"EfficientNet{variant.upper()}",
            "efficientnet",
            size,
            32,
            "none",
            blocks=7,
            **_EFFICIENTNET,
        )
    for variant, size in _EFFICIENTNET_V2_SIZES.items():
        yield BackboneSpec(
            f"efficientnet_v2_{variant}",
            f"EfficientNetV2{variant.upper()}",
            "efficientnet_v2",
            size,
            32,
            "none",
            # V2-M and V2-L have a seventh stage.
            blocks=7 if variant in ("m", "l") else 6,
            **_EFFICIENTNET,
        )
    for size, title in (
        ("tiny", "Tiny"),
        ("small", "Small"),
        ("base", "Base"),
        ("large", "Large"),
        ("xlarge", "XLarge"),
    ):
        yield BackboneSpec(
            f"convnext_{size}",
            f"ConvNeXt{title}",
            "convnext",
            224,
            32,
            "none",
            **_CONVNEXT,
        )


REGISTRY = {spec.name: spec for spec in _specs()}
