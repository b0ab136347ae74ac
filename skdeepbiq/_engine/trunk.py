"""Shared-trunk computation: the convolutional trunk once per image.

The early, convolutional part of a backbone (the *trunk*, up to its last
stride-16 stage) runs once over the whole image; each crop then takes its
window of the trunk's stride-16 maps (a 224-px crop is a 14x14 window)
through the rest of the network (the *tail*). For 25 crops of a 500x500
image this is several times less work than 25 separate crops, and it lets
fine-tuning train the tail on crops re-drawn every epoch without ever
recomputing the frozen trunk.

It is an approximation of cutting the crops from the image: a window's
border sees the real neighbourhood of the crop where a separate crop would
see zero padding, and crop positions are multiples of the stride.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .lite import VARIANTS
from .runtime import Runtime

STRIDE = 16


def _mobilenet_v2(model: nn.Module, deep: bool) -> tuple[nn.Module, nn.Module]:
    cut = 8 if deep else 14  # features[7] reaches stride 16, features[14] 32
    return model.features[:cut], nn.Sequential(
        model.features[cut:], nn.AdaptiveAvgPool2d(1), nn.Flatten(1), model.classifier
    )


def _efficientnet(model: nn.Module, deep: bool) -> tuple[nn.Module, nn.Module]:
    cut = 5 if deep else 6  # stage 4 reaches stride 16, stage 6 32
    return model.features[:cut], nn.Sequential(
        model.features[cut:], model.avgpool, nn.Flatten(1), model.classifier
    )


def _resnet(model: nn.Module, deep: bool) -> tuple[nn.Module, nn.Module]:
    stride_16 = list(model.layer3)
    cut = 1 if deep else len(stride_16)  # layer3[0] reaches stride 16
    trunk = nn.Sequential(
        model.conv1, model.bn1, model.relu, model.maxpool,
        model.layer1, model.layer2, *stride_16[:cut],
    )  # fmt: skip
    blocks = nn.Sequential(*stride_16[cut:], *model.layer4) if deep else model.layer4
    return trunk, nn.Sequential(blocks, model.avgpool, nn.Flatten(1), model.fc)


_SPLITS = {"mobilenet_v2": _mobilenet_v2}
_SPLITS.update({f"efficientnet_b{i}": _efficientnet for i in range(8)})
_SPLITS.update(dict.fromkeys(VARIANTS, _efficientnet))
_SPLITS.update(
    {
        name: _resnet
        for name in (
            "resnet18",
            "resnet34",
            "resnet50",
            "resnet101",
            "resnet152",
            "resnext50_32x4d",
            "resnext101_32x8d",
            "resnext101_64x4d",
            "wide_resnet50_2",
            "wide_resnet101_2",
        )
    }  # fmt: skip
)

#: Backbones that support ``compute="trunk"`` and fine-tuning.
TRUNK_BACKBONES = tuple(sorted(_SPLITS))


def split_network(
    backbone: str, model: nn.Module, deep: bool = False
) -> tuple[nn.Module, nn.Module]:
    """Trunk (image -> stride-16 maps) and tail (window -> features) of ``model``.

    Both share their parameters with ``model``, a torchvision classifier of
    the named architecture (its head may have been replaced by Identity, in
    which case the tail returns the penultimate features). The trunk ends
    at the last stride-16 stage; with ``deep``, at the first layer that
    reaches stride 16 (``features[:8]`` of MobileNetV2 instead of
    ``features[:14]``, ``layer3[0]`` of ResNets instead of ``layer3``), so
    that the tail's first module holds more blocks to train (11 instead of
    5 for MobileNetV2). The windows are the same: both trunks end at stride
    16, but their maps differ (a cache of them must tell them apart).
    """
    if backbone not in _SPLITS:
        raise ValueError(
            f"backbone={backbone!r} has no known stride-16 trunk; compute='trunk' "
            f"and fine-tuning support {', '.join(TRUNK_BACKBONES)}"
        )
    return _SPLITS[backbone](model, deep)


def check_trunk(backbone: str, crop_size: int) -> None:
    """Refuse a shared trunk where it cannot work, naming the parameters."""
    check_crop_size(crop_size)
    if backbone not in TRUNK_BACKBONES:
        raise ValueError(
            f"compute='trunk' and fine_tune need one of "
            f"{', '.join(TRUNK_BACKBONES)}; got backbone={backbone!r}"
        )


def check_crop_size(crop_size: int) -> None:
    """Windows of the stride-16 maps need crops that are multiples of 16."""
    if crop_size % STRIDE:
        raise ValueError(
            f"crop_size={crop_size} must be a multiple of {STRIDE} with "
            "compute='trunk' or fine-tuning (224 is a 14x14 window)"
        )


def cut_windows(
    maps: torch.Tensor, boxes: np.ndarray, stride: int = STRIDE
) -> torch.Tensor:
    """Windows of trunk maps ``(C, h, w)`` under pixel boxes snapped to ``stride``.

    Returns a tensor of shape (n_boxes, C, size / stride, size / stride).
    """
    cells = boxes // stride
    return torch.stack(
        [maps[:, top:bottom, left:right] for left, top, right, bottom in cells.tolist()]
    )


def run_trunk(
    trunk: nn.Module,
    image: torch.Tensor,
    mean: torch.Tensor,
    std: torch.Tensor,
    runtime: Runtime,
) -> torch.Tensor:
    """Trunk maps ``(C, h, w)`` of one uint8 image ``(3, H, W)``, on the device."""
    batch = image[None].to(runtime.device, non_blocking=True)
    batch = batch.contiguous(memory_format=torch.channels_last).float()
    batch = batch.div_(255.0).sub_(mean).div_(std)
    with runtime.autocast():
        maps = trunk(batch)
    return maps[0]


def mirrored_trunk_maps(engine, images: list, indices) -> list[torch.Tensor]:
    """Trunk maps of ``images[indices]`` flipped left to right, for fine-tuning.

    ``engine`` is the :class:`~skdeepbiq._engine.streaming.Engine` (its trunk, mean,
    std and runtime) whose :meth:`prepared` working images the unflipped
    maps came from. The maps are float32 tensors on the device, outside
    inference mode so that autograd can use them; they are not cached.
    """
    maps = []
    for _, item in engine.prepared(images, list(indices), None):
        working_image, _ = item.payload
        with torch.inference_mode():
            mirrored = run_trunk(
                engine.trunk, working_image.flip(-1), engine.mean, engine.std,
                engine.runtime,
            )  # fmt: skip
        maps.append(mirrored.float().clone())
    return maps
