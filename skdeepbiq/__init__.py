"""skdeepbiq: DeepBIQ blind image quality assessment for scikit-learn.

The public names are imported on first use (PEP 562), so that ``import
skdeepbiq`` (and the command line's ``--help``) does not import torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what static tools see; at run time see __getattr__
    from ._featurizer import CNNCropFeaturizer
    from ._finetuning.recipe import FineTuning
    from ._fingerprint import training_overlap
    from ._maps import quality_maps
    from ._models.pretrained import load_model, load_pretrained, save_model
    from ._pooling import CropPooler
    from ._regressor import DeepBIQRegressor, default_featurizer, default_regressor

from ._version import __version__

#: Public name -> the private module that defines it.
_EXPORTS = {
    "CNNCropFeaturizer": "._featurizer",
    "CropPooler": "._pooling",
    "DeepBIQRegressor": "._regressor",
    "FineTuning": "._finetuning.recipe",
    "default_featurizer": "._regressor",
    "default_regressor": "._regressor",
    "load_model": "._models.pretrained",
    "load_pretrained": "._models.pretrained",
    "quality_maps": "._maps",
    "save_model": "._models.pretrained",
    "training_overlap": "._fingerprint",
}

__all__ = [
    "CNNCropFeaturizer",
    "CropPooler",
    "DeepBIQRegressor",
    "FineTuning",
    "__version__",
    "default_featurizer",
    "default_regressor",
    "load_model",
    "load_pretrained",
    "quality_maps",
    "save_model",
    "training_overlap",
]


def __getattr__(name: str):
    """Import a public name's module the first time the name is used."""
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
