"""skdeepbiq: DeepBIQ blind image quality assessment for scikit-learn."""

from ._featurizer import CNNCropFeaturizer
from ._pooling import CropPooler
from ._regressor import DeepBIQRegressor

__version__ = "0.1.0.dev0"

__all__ = ["CNNCropFeaturizer", "CropPooler", "DeepBIQRegressor", "__version__"]
