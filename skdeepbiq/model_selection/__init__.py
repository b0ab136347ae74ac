"""The splitting protocols of Bianco et al. (2018) as scikit-learn objects.

- CLIVE (authentic distortions, no reference images): 10 random splits of
  the images, 80% train / 20% test: :func:`clive_splits`, a plain
  :class:`~sklearn.model_selection.ShuffleSplit`.
- LIVE, CSIQ, TID2008, TID2013 (synthetic distortions of reference images):
  100 random splits of the *reference images*, each with all its distorted
  versions, into 60% train / 20% validation / 20% test, the validation part
  picking the hyperparameters: :class:`ReferenceSplit` (or
  :func:`synthetic_splits`), with :func:`predefined_validation` or
  :meth:`ReferenceSplit.validation_splitter` to hand the validation part to
  :class:`~sklearn.model_selection.GridSearchCV`.
- Results are medians over the splits: :func:`median_scores`.
"""

from ._protocols import (
    clive_splits,
    median_scores,
    predefined_validation,
    synthetic_splits,
)
from ._reference_split import ReferenceSplit

__all__ = [
    "ReferenceSplit",
    "clive_splits",
    "median_scores",
    "predefined_validation",
    "synthetic_splits",
]
