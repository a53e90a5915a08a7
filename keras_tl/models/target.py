"""Find the backbone (and its blocks) in a `TransferClassifier` or in a
plain Keras model a user already has."""

import re

import keras

from keras_tl import backbones as backbones_lib
from keras_tl.backbones.blocks import find_blocks
from keras_tl.models import freezing


class FineTuneTarget:
    """A backbone inside a model, with its blocks and BatchNorm rule."""

    def __init__(self, model, backbone, blocks, train_batchnorm):
        self.model = model
        self.backbone = backbone
        self.blocks = blocks
        self.train_batchnorm = train_batchnorm

    @property
    def num_blocks(self):
        return len(self.blocks)

    def start_index(self, spec):
        return freezing.first_trainable_index(self.backbone, spec, self.blocks)

    def apply(self, spec):
        """Set the trainable flags for `spec`; True if anything changed."""
        before = freezing.trainable_layer_names(self.backbone)
        freezing.apply(self.backbone, self.start_index(spec), self.train_batchnorm)
        return freezing.trainable_layer_names(self.backbone) != before

    def layer_groups(self):
        """Layer names per block, top block first; the stem joins the
        bottom block. A single-layer backbone is one group."""
        layers = getattr(self.backbone, "layers", None)
        if layers is None or not self.blocks:
            return [[self.backbone.name]]
        groups = []
        for n, block in enumerate(reversed(self.blocks)):
            start = 0 if n == len(self.blocks) - 1 else block.start
            groups.append([l.name for l in layers[start : block.stop]])
        return groups


def resolve_target(model, backbone=None, block_starts=None, train_batchnorm=None):
    """Build a `FineTuneTarget` for `model`.

    Args:
        model: A `TransferClassifier` or any Keras model.
        backbone: The backbone layer, or its name in `model`; optional for a
            `TransferClassifier`.
        block_starts: Layer names where blocks begin (custom backbones).
        train_batchnorm: Let BatchNorm layers train when unfrozen; `None`
            means the model's own setting (False for plain models).
    """
    from keras_tl.models import TransferClassifier

    is_tc = isinstance(model, TransferClassifier)
    if backbone is None and is_tc:
        layer = model.backbone
    elif backbone is None:
        candidates = [l.name for l in model.layers if isinstance(l, keras.Model)]
        raise ValueError(
            "Tell the callback which part of the model is the backbone: "
            f"backbone=<layer or name>. Nested models in '{model.name}': "
            f"{candidates or 'none'}."
        )
    elif isinstance(backbone, str):
        try:
            layer = model.get_layer(backbone)
        except ValueError:
            names = [l.name for l in model.layers]
            raise ValueError(
                f"The model '{model.name}' has no layer named '{backbone}'. Its layers: {names}."
            ) from None
    elif isinstance(backbone, keras.layers.Layer):
        layer = backbone
    else:
        raise ValueError(
            "`backbone` must be a keras Layer/Model or a layer name. "
            f"Received: backbone={backbone!r}"
        )
    if is_tc and layer is model.backbone and block_starts is None:
        blocks = model.blocks
    elif hasattr(layer, "layers"):
        blocks = find_blocks(layer, spec_for_model(layer), block_starts)
    else:
        blocks = []
    if train_batchnorm is None:
        train_batchnorm = model.train_batchnorm if is_tc else False
    return FineTuneTarget(model, layer, blocks, train_batchnorm)


def spec_for_model(model):
    """The registry spec of a `keras.applications` model, from its name."""
    key = re.sub(r"[^a-z0-9]", "", model.name.lower())
    best, best_len = None, 0
    for name in backbones_lib.list_backbones():
        spec = backbones_lib.get_spec(name)
        for alias in (spec.name.replace("_", ""), spec.constructor.lower()):
            if key.startswith(alias) and len(alias) > best_len:
                best, best_len = spec, len(alias)
    return best
