"""Which backbone layers train: one implementation shared by
`TransferClassifier.unfreeze` and the freeze-schedule callbacks."""

import keras

from keras_tl.backbones.blocks import layer_index

SPEC_KEYS = ("layers", "from_layer", "blocks")
SPEC_WORDS = ("head", "all")


def parse_spec(spec=None, **kwargs):
    """Normalise an unfreeze spec to `(kind, value)`.

    Accepted forms: `"head"` (backbone frozen), `"all"`, `{"layers": N}`
    (top N layers), `{"from_layer": name_or_index}`, `{"blocks": N}`
    (top N blocks), or the same as keyword arguments.
    """
    given = {k: v for k, v in kwargs.items() if v is not None}
    if spec is not None and given:
        raise ValueError(
            "Pass either a spec or one of `layers=`, `from_layer=`, "
            f"`blocks=`, not both. Received: spec={spec!r}, {given}"
        )
    if spec is None:
        spec = given or "head"
    if isinstance(spec, str):
        if spec not in SPEC_WORDS:
            raise ValueError(
                f"An unfreeze spec string must be one of {SPEC_WORDS}. "
                f"Received: {spec!r}. Use {{'blocks': N}}, {{'layers': N}} "
                "or {'from_layer': name} for part of the backbone."
            )
        return (spec, None)
    if not isinstance(spec, dict) or len(spec) != 1:
        raise ValueError(
            "An unfreeze spec must be 'head', 'all' or a dict with exactly "
            f"one of the keys {SPEC_KEYS}. Received: {spec!r}"
        )
    ((kind, value),) = spec.items()
    if kind not in SPEC_KEYS:
        raise ValueError(
            f"Unknown unfreeze spec key {kind!r}; allowed keys are {SPEC_KEYS}. Received: {spec!r}"
        )
    if kind in ("layers", "blocks"):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"`{kind}` must be a non-negative integer. Received: {kind}={value!r}")
    elif not isinstance(value, (int, str)) or isinstance(value, bool):
        raise ValueError(
            f"`from_layer` must be a layer name or an integer index. Received: from_layer={value!r}"
        )
    return (kind, value)


def first_trainable_index(backbone, spec, blocks):
    """Index into `backbone.layers` from which layers train."""
    kind, value = spec
    layers = getattr(backbone, "layers", None)
    if layers is None:  # a single layer such as a Hub feature vector
        if kind in ("head", "all"):
            return 1 if kind == "head" else 0
        raise ValueError(
            f"The backbone '{backbone.name}' is a single layer; it can only "
            "be unfrozen with 'all' or frozen with 'head'."
        )
    n = len(layers)
    if kind == "head":
        return n
    if kind == "all":
        return 0
    if kind == "layers":
        if value > n:
            raise ValueError(
                f"Cannot unfreeze {value} layers: the backbone '{backbone.name}' has {n} layers."
            )
        return n - value
    if kind == "from_layer":
        return layer_index(backbone, value)
    if value > len(blocks):
        names = [b.name for b in blocks]
        raise ValueError(
            f"Cannot unfreeze {value} blocks: the backbone '{backbone.name}' "
            f"has {len(blocks)} blocks ({names}). Use blocks<={len(blocks)} "
            "or 'all'."
        )
    return n if value == 0 else blocks[-value].start


def apply(backbone, start, train_batchnorm=False):
    """Make `backbone.layers[start:]` trainable and the rest frozen.

    Normalization layers stay frozen unless `train_batchnorm` (the Keras
    transfer-learning guide's rule: their statistics were learned on
    ImageNet and small batches would wreck them).
    """
    layers = getattr(backbone, "layers", None)
    if layers is None:
        backbone.trainable = start == 0
        return
    if start >= len(layers):
        backbone.trainable = False
        return
    backbone.trainable = True
    for i, layer in enumerate(layers):
        train = i >= start
        if not train_batchnorm and isinstance(layer, keras.layers.BatchNormalization):
            train = False
        layer.trainable = train


def trainable_layer_names(backbone):
    """Names of backbone layers that own trainable weights now."""
    layers = getattr(backbone, "layers", None)
    if layers is None:
        return [backbone.name] if backbone.trainable else []
    if not backbone.trainable:
        return []
    return [layer.name for layer in layers if layer.trainable_weights]


def restore_trainable(backbone, names):
    """Inverse of `trainable_layer_names` (used when a model is reloaded)."""
    layers = getattr(backbone, "layers", None)
    if layers is None:
        backbone.trainable = bool(names)
        return
    names = set(names)
    if not names:
        backbone.trainable = False
        return
    backbone.trainable = True
    for layer in layers:
        if layer.weights:
            layer.trainable = layer.name in names


def count_params(weights):
    total = 0
    for w in weights:
        size = 1
        for d in w.shape:
            size *= int(d)
        total += size
    return total
