"""What keras_tl knows about one `keras.applications` backbone."""

import dataclasses
import re
from typing import Callable, Optional


@dataclasses.dataclass(frozen=True)
class BackboneSpec:
    """Facts about a pretrained image backbone.

    Args:
        name: The lowercase registry name, e.g. `"mobilenet_v2"`.
        constructor: Name of the `keras.applications` function,
            e.g. `"MobileNetV2"`.
        module: Name of the `keras.applications` submodule that holds its
            `preprocess_input`, e.g. `"mobilenet_v2"`.
        default_size: Input height/width the ImageNet weights were trained at.
        min_size: Smallest input height/width the architecture accepts.
        preprocessing: The `preprocess_input` mode: `"tf"` (scale to
            `[-1, 1]`), `"caffe"` (RGB to BGR and ImageNet mean subtraction),
            `"torch"` (scale to `[0, 1]` and ImageNet mean/std) or `"none"`
            (the model rescales inside).
        block_start: Regex with one group; a layer whose name matches starts
            the block named by the group. Layers before the first match are
            the stem; layers that match nothing belong to the current block.
        block_end: Regex; a layer whose name matches ends a block (for
            architectures whose inner layers have generic names, such as
            InceptionV3's `mixedN`). Exactly one of the two is set.
        block_key: Optional function applied to the `block_start` group, to
            merge names that belong to one stage.
        fixed_size: Whether ImageNet weights only exist for `default_size`
            (NASNet).
        blocks: How many blocks `find_blocks` finds in the model, so that
            `keras-tl backbones` can list it without building every model
            (tests/test_backbones.py builds each entry and checks it).
    """

    name: str
    constructor: str
    module: str
    default_size: int
    min_size: int
    preprocessing: str
    block_start: Optional[str] = None
    block_end: Optional[str] = None
    block_key: Optional[Callable[[str], str]] = None
    fixed_size: bool = False
    blocks: Optional[int] = None

    def block_of(self, layer_name):
        """Block key a layer starts, or `None`."""
        if self.block_start is None:
            return None
        match = re.search(self.block_start, layer_name)
        if not match:
            return None
        key = match.group(1)
        return self.block_key(key) if self.block_key else key

    def ends_block(self, layer_name):
        return self.block_end is not None and re.search(self.block_end, layer_name) is not None

    @property
    def default_input_shape(self):
        return (self.default_size, self.default_size, 3)
