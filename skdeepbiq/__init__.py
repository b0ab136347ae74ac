"""skdeepbiq: DeepBIQ blind image quality assessment for scikit-learn."""

from ._featurizer import CNNCropFeaturizer
from ._finetune import FineTuning
from ._maps import quality_maps
from ._pooling import CropPooler
from ._pretrained import load_model, load_pretrained, save_model
from ._regressor import DeepBIQRegressor

__version__ = "0.1.0.dev0"

__all__ = [
    "CNNCropFeaturizer",
    "CropPooler",
    "DeepBIQRegressor",
    "FineTuning",
    "__version__",
    "load_model",
    "load_pretrained",
    "quality_maps",
    "save_model",
]
