"""Pretrained image backbones by name: constructor, input size, preprocessing
and block boundaries for every image classifier family in
`keras.applications`.

Example:

```python
import keras_tl
keras_tl.backbones.list_backbones()[:3]   # ['convnext_base', ...]
spec = keras_tl.backbones.get_spec("vgg16")
spec.preprocessing, spec.default_size     # ('caffe', 224)
```
"""

import difflib
import os
import re

import keras

from keras_tl import _compat
from keras_tl.backbones.blocks import Block
from keras_tl.backbones.blocks import find_blocks
from keras_tl.backbones.registry import REGISTRY
from keras_tl.backbones.spec import BackboneSpec

__all__ = [
    "BackboneSpec",
    "Block",
    "build_backbone",
    "find_blocks",
    "get_spec",
    "list_backbones",
]


def list_backbones():
    """Sorted names of every backbone keras_tl builds by name."""
    return sorted(REGISTRY)


def get_spec(name):
    """The `BackboneSpec` for `name`; a `ValueError` lists close matches."""
    key = str(name).lower().replace("-", "_")
    if key in REGISTRY:
        return REGISTRY[key]
    close = difflib.get_close_matches(key, REGISTRY, n=5, cutoff=0.5)
    hint = f" Did you mean {close}?" if close else ""
    raise ValueError(
        f"Unknown backbone '{name}'.{hint} Pass one of "
        "`keras_tl.backbones.list_backbones()` or a `keras.Model`."
    )


def build_backbone(name, input_shape=None, weights="imagenet"):
    """Build a headless `keras.applications` backbone.

    Args:
        name: A registry name (see `list_backbones()`).
        input_shape: `(height, width, 3)`; `None` means the spec's default.
        weights: `None` (random init), `"imagenet"` (Keras's own download and
            cache in `$KERAS_HOME/models`), or a path to a weights file.

    Returns:
        `(backbone, spec)`.
    """
    spec = get_spec(name)
    input_shape = tuple(input_shape or spec.default_input_shape)
    check_input_shape(input_shape, spec)
    if isinstance(weights, os.PathLike):
        weights = os.fspath(weights)
    if weights not in (None, "imagenet"):
        if not isinstance(weights, str) or not os.path.exists(weights):
            raise ValueError(
                f"`weights` must be None, 'imagenet' or the path to an "
                f"existing weights file. Received: weights={weights!r}"
            )
    if spec.fixed_size and weights == "imagenet" and input_shape != spec.default_input_shape:
        raise ValueError(
            f"ImageNet weights for '{spec.name}' exist only for "
            f"input_shape={spec.default_input_shape}. Received: "
            f"input_shape={input_shape}. Use that size, or weights=None."
        )
    constructor = getattr(keras.applications, spec.constructor)
    try:
        backbone = constructor(include_top=False, weights=weights, input_shape=input_shape)
    except Exception as error:  # keras raises a bare Exception offline
        if weights == "imagenet" and "URL fetch failure" in str(error):
            raise OSError(_offline_message(spec, error)) from error
        raise
    return backbone, spec


def check_input_shape(input_shape, spec):
    if len(input_shape) != 3 or input_shape[-1] != 3:
        raise ValueError(
            f"`input_shape` for the '{spec.name}' backbone must be "
            f"(height, width, 3). Received: input_shape={input_shape}"
        )
    height, width = input_shape[:2]
    if height is None or width is None:
        return
    if min(height, width) < spec.min_size:
        raise ValueError(
            f"The '{spec.name}' backbone needs inputs of at least "
            f"{spec.min_size}x{spec.min_size} pixels. Received: "
            f"input_shape={input_shape}. Resize your images (e.g. "
            f"image_size=({spec.default_size}, {spec.default_size}))."
        )


def _offline_message(spec, error):
    url = re.search(r"https?://[^\s:]+(?::\d+)?[^\s:]*", str(error))
    url = url.group(0) if url else "<the URL in the error below>"
    cache = os.path.join(_compat.keras_home(), "models")
    return (
        f"Could not download the ImageNet weights for '{spec.name}' "
        f"(no network?). Download {url} on a machine that can reach it and "
        f"put the file at {os.path.join(cache, url.rsplit('/', 1)[-1])} "
        "(Keras's cache; set KERAS_HOME to move it), or pass "
        "weights='/path/to/that/file.h5', or weights=None to train from "
        f"scratch. Original error: {error}"
    )
