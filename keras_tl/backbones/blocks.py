"""Where each block of a backbone begins and ends, as layer indices."""

import dataclasses

import keras

_NORMALIZATION = (
    keras.layers.BatchNormalization,
    keras.layers.LayerNormalization,
    keras.layers.GroupNormalization,
)


@dataclasses.dataclass(frozen=True)
class Block:
    """A run of `backbone.layers[start:stop]` that is frozen as one unit."""

    name: str
    start: int
    stop: int

    def first_layer(self, backbone):
        return backbone.layers[self.start].name


def find_blocks(backbone, spec=None, block_starts=None):
    """Split `backbone.layers` into blocks, bottom to top.

    Args:
        backbone: A `keras.Model`.
        spec: A `BackboneSpec` with the family's naming rule, or `None`.
        block_starts: Layer names (or indices) where blocks begin, for a
            backbone keras_tl does not know. Without `spec` and
            `block_starts`, every layer with weights that is not a
            normalization layer begins a block.

    Returns:
        A list of `Block`s. Layers before the first block (the stem) belong
        to none; `unfreeze("all")` still covers them.
    """
    layers = backbone.layers
    if block_starts is not None:
        starts = [_layer_index(backbone, s) for s in block_starts]
        return _blocks_from_starts(layers, sorted(set(starts)))
    if spec is not None and spec.block_end is not None:
        return _blocks_from_ends(layers, spec)
    if spec is not None:
        starts, names, current = [], [], None
        for i, layer in enumerate(layers):
            key = spec.block_of(layer.name)
            if key is not None and key != current:
                starts.append(i)
                names.append(key)
                current = key
        return _blocks_from_starts(layers, starts, names)
    starts = [
        i
        for i, layer in enumerate(layers)
        if layer.weights and not isinstance(layer, _NORMALIZATION)
    ]
    return _blocks_from_starts(layers, starts)


def _blocks_from_starts(layers, starts, names=None):
    blocks = []
    for n, start in enumerate(starts):
        stop = starts[n + 1] if n + 1 < len(starts) else len(layers)
        name = names[n] if names else layers[start].name
        blocks.append(Block(name, start, stop))
    return blocks


def _blocks_from_ends(layers, spec):
    blocks, start = [], 1  # layer 0 is the InputLayer
    for i, layer in enumerate(layers):
        if spec.ends_block(layer.name):
            blocks.append(Block(layer.name, start, i + 1))
            start = i + 1
    if blocks and start < len(layers):
        last = blocks[-1]
        blocks[-1] = Block(last.name, last.start, len(layers))
    return blocks


def _layer_index(backbone, name_or_index):
    layers = backbone.layers
    if isinstance(name_or_index, int):
        if not -len(layers) <= name_or_index < len(layers):
            raise ValueError(
                f"Layer index {name_or_index} is out of range: the backbone "
                f"'{backbone.name}' has {len(layers)} layers "
                f"(0 to {len(layers) - 1})."
            )
        return name_or_index % len(layers)
    for i, layer in enumerate(layers):
        if layer.name == name_or_index:
            return i
    import difflib

    close = difflib.get_close_matches(str(name_or_index), [layer.name for layer in layers], n=5)
    hint = f" Close matches: {close}." if close else ""
    raise ValueError(
        f"The backbone '{backbone.name}' has no layer named "
        f"'{name_or_index}'.{hint} Pass a layer name from "
        "`model.backbone.layers` or an integer index."
    )


layer_index = _layer_index
