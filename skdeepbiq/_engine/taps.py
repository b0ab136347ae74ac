"""Multi-level features: the outputs of several layers, pooled over space.

A featurizer with ``layer=`` a list of module names (or ``"stages"``, a
backbone's stage outputs) *taps* those modules: forward hooks keep each
one's output while the network runs, and every 4-D output is pooled over
its positions, per crop (its mean per channel, and with
``spatial_pooling="mean_std"`` also its standard deviation). The pooled
outputs are concatenated in the order of the list.

With a shared trunk (:mod:`skdeepbiq._engine.trunk`) the taps inside the trunk run
once over the whole image: each crop pools its window of their maps. The
taps after the trunk run on each crop's window, as the rest of the tail.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .lite import VARIANTS

SPATIAL_POOLINGS = ("mean", "mean_std")

_EFFICIENTNET_STAGES = tuple(f"features.{i}" for i in range(1, 9))
_RESNET_STAGES = ("layer1", "layer2", "layer3", "layer4")

#: ``layer="stages"``: the output of each stage, the last block at each
#: resolution and width (MobileNetV2's 16, 24, 32, 64, 96, 160 and 1280
#: channels; 1,672 features per crop with ``spatial_pooling="mean"``).
STAGES = {
    "mobilenet_v2": tuple(f"features.{i}" for i in (1, 3, 6, 10, 13, 16, 18)),
    **{f"efficientnet_b{i}": _EFFICIENTNET_STAGES for i in range(8)},
    **dict.fromkeys(VARIANTS, _EFFICIENTNET_STAGES),
    **{
        name: _RESNET_STAGES
        for name in ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")
    },
}


def resolve_layers(backbone: str, layer) -> tuple[str, ...] | None:
    """The module names a ``layer`` parameter taps, or None for the penultimate.

    ``"stages"`` becomes the backbone's :data:`STAGES`; a name becomes a
    one-name tuple; a list or tuple must hold distinct names (see
    :func:`tap_modules` for their order).
    """
    if layer is None:
        return None
    if isinstance(layer, str):
        if layer != "stages":
            return (layer,)
        if backbone not in STAGES:
            raise ValueError(
                f"layer='stages' is known for {', '.join(sorted(STAGES))}; for "
                f"backbone={backbone!r} pass a list of module names"
            )
        return STAGES[backbone]
    names = tuple(layer)
    if not names or not all(isinstance(name, str) and name for name in names):
        raise ValueError(f"layer={layer!r} must hold one or more module names")
    if len(set(names)) != len(names):
        raise ValueError(f"layer={layer!r} names a module twice")
    return names


def pool(output: torch.Tensor, pooling: str) -> torch.Tensor:
    """One row per crop: a 4-D output's mean over space (and std), else flat."""
    if output.ndim != 4:
        return output.flatten(1)
    mean = output.mean(dim=(2, 3))
    if pooling == "mean":
        return mean
    std = output.float().std(dim=(2, 3), correction=0).to(mean.dtype)
    return torch.cat([mean, std], dim=1)


def pooled_names(name: str, width: int, pooling: str, map_output: bool) -> list[str]:
    """Feature names of one tapped output of ``width`` channels."""
    if not map_output:
        return [f"{name}_{k}" for k in range(width)]
    stats = ("mean",) if pooling == "mean" else ("mean", "std")
    return [f"{name}_{stat}{k}" for stat in stats for k in range(width)]


class _Complete(Exception):
    """Raised by the last hook to stop a forward pass once every tap has run."""


def run_tapped(
    modules: dict[str, nn.Module], run: Callable[[], object], stop: bool = True
) -> dict[str, torch.Tensor]:
    """Outputs of ``modules`` (name -> module) during ``run()``.

    With ``stop``, the pass ends as soon as every module has run, so the
    layers after the last tap cost nothing.
    """
    outputs: dict[str, torch.Tensor] = {}

    def keep(name, module, inputs, output):
        outputs[name] = output
        if stop and len(outputs) == len(modules):
            raise _Complete

    handles = [
        module.register_forward_hook(lambda m, i, o, name=name: keep(name, m, i, o))
        for name, module in modules.items()
    ]
    try:
        run()
    except _Complete:
        pass
    finally:
        for handle in handles:
            handle.remove()
    missing = [name for name in modules if name not in outputs]
    if missing:
        raise ValueError(f"layer modules {missing} did not run in the forward pass")
    return outputs


def tap_modules(model: nn.Module, names: Sequence[str]) -> dict[str, nn.Module]:
    """``name -> module`` of ``model``, in network order.

    Network order is that of ``model.named_modules()``, whatever the order
    of ``names``; a ValueError names an unknown module.
    """
    known = dict(model.named_modules())
    for name in names:
        if name not in known or name == "":
            raise ValueError(
                f"layer={name!r} is not a module of {type(model).__name__}; "
                f"modules are e.g. {list(known)[1:12]}..."
            )
    return {name: module for name, module in known.items() if name in names}


class TappedTail(nn.Module):
    """A trunk's tail whose output is its taps' pooled outputs, concatenated."""

    def __init__(self, tail: nn.Module, modules: dict[str, nn.Module], pooling: str):
        super().__init__()
        self.tail = tail
        self.taps = modules
        self.pooling = pooling

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        if not self.taps:  # every tap is in the trunk: the tail need not run
            return windows.new_zeros((len(windows), 0))
        outputs = run_tapped(self.taps, lambda: self.tail(windows))
        return torch.cat([pool(outputs[n], self.pooling) for n in self.taps], dim=1)


@dataclass(frozen=True)
class TrunkTaps:
    """Taps of a network split into a trunk and a tail.

    ``early`` taps are modules of the trunk: they run once per image and
    each crop pools its window of their maps; ``late`` ones run in the tail.
    Taps are in network order (:func:`tap_modules`), so a crop's features
    are its early columns followed by its late ones.
    """

    early: dict
    late: dict
    pooling: str

    @classmethod
    def split(
        cls, model, names, pooling, trunk: nn.Module, tail: nn.Module
    ) -> TrunkTaps:
        """Sort the taps of ``model`` into the trunk's and the tail's.

        A tapped ``nn.Sequential`` that the split cut in two (a deep
        trunk's end inside ResNets' ``layer3``) never runs as a module; its
        last block, whose output is its output, is tapped instead.
        """
        in_trunk = {id(module) for module in trunk.modules()}
        runs = in_trunk | {id(module) for module in tail.modules()}
        early, late = {}, {}
        for name, module in tap_modules(model, names).items():
            while id(module) not in runs and isinstance(module, nn.Sequential):
                module = module[-1]
            (early if id(module) in in_trunk else late)[name] = module
        return cls(early, late, pooling)

    def run_trunk(self, run: Callable[[], torch.Tensor]):
        """The trunk's maps and, by name, its taps' maps (each ``(C, h, w)``)."""
        result = {}
        outputs = run_tapped(
            self.early, lambda: result.setdefault("maps", run()), stop=False
        )
        return result["maps"], {name: out[0] for name, out in outputs.items()}

    def window_features(
        self, maps: dict[str, torch.Tensor], size: tuple[int, int], boxes: np.ndarray
    ) -> torch.Tensor:
        """Each crop's pooled windows of the early taps' maps, ``(n_crops, d)``.

        ``boxes`` are in pixels of the working image of ``size`` (height,
        width); a map of ``h`` rows has the stride ``2 ** round(log2(height /
        h))``. Returns None when no tap is in the trunk.
        """
        if not self.early:
            return None
        columns = []
        for name in self.early:
            tapped = maps[name]
            stride = 2 ** round(math.log2(size[0] / tapped.shape[1]))
            cells = (np.asarray(boxes) // stride).astype(np.int64).tolist()
            windows = [tapped[None, :, t:b, l:r] for l, t, r, b in cells]  # noqa: E741
            columns.append(
                torch.cat([pool(window, self.pooling) for window in windows])
            )
        return torch.cat(columns, dim=1)

    def tail(self, tail: nn.Module) -> nn.Module:
        """``tail`` returning the late taps' pooled outputs."""
        return TappedTail(tail, self.late, self.pooling)
