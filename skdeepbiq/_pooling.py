"""Pooling the crops of an image: functions and the CropPooler transformer."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_array,
    validate_data,
)

POOLINGS = ("min", "mean", "max")
_REDUCERS = {"min": np.min, "mean": np.mean, "max": np.max}


def pool_crop_features(features: np.ndarray, n_crops: int, pooling: str) -> np.ndarray:
    """Element-wise pooling of crop features, one row per image.

    Parameters
    ----------
    features : ndarray of shape (n_images, n_crops * n_features)
        Crop features, crop after crop.
    n_crops : int
        Number of crops in a row.
    pooling : {"min", "mean", "max"}
        Reduction over the crops.

    Returns
    -------
    pooled : ndarray of shape (n_images, n_features)
    """
    n_images, width = features.shape
    if width % n_crops:
        raise ValueError(
            f"rows of {width} features cannot be split into n_crops={n_crops} crops"
        )
    crops = features.reshape(n_images, n_crops, width // n_crops)
    return _REDUCERS[pooling](crops, axis=1)


def pool_crop_scores(scores: np.ndarray, pooling: str) -> np.ndarray:
    """Pool per-crop scores of shape (n_images, n_crops) into one per image."""
    return _REDUCERS[pooling](scores, axis=1)


class CropPooler(TransformerMixin, BaseEstimator):
    """Pool the crop features of each image (the paper's feature pooling).

    Stateless: ``fit`` only records the number of input features, and
    ``transform`` works without it.

    Parameters
    ----------
    n_crops : int, default=1
        Number of crops in each row; the number of input features must be a
        multiple of it. Use the featurizer's ``n_crops_``.
    pooling : {"mean", "min", "max", "concat"}, default="mean"
        Element-wise reduction over the crops, giving ``n_features`` columns,
        or ``"concat"`` to keep all ``n_crops * n_features`` columns (the
        paper's feature concatenation).

    Attributes
    ----------
    n_features_in_ : int
        Number of input columns, ``n_crops * n_features``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Input column names, when ``X`` has string column names.

    See Also
    --------
    CNNCropFeaturizer : Produces the crop features.
    DeepBIQRegressor : Uses feature or prediction pooling.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeepbiq import CropPooler
    >>> X = np.array([[1.0, 2.0, 3.0, 6.0]])  # 2 crops of 2 features
    >>> CropPooler(n_crops=2, pooling="mean").fit_transform(X)
    array([[2., 4.]])
    >>> CropPooler(n_crops=2, pooling="max").fit_transform(X)
    array([[3., 6.]])
    """

    _parameter_constraints: dict = {
        "n_crops": [Interval(Integral, 1, None, closed="left")],
        "pooling": [StrOptions({"mean", "min", "max", "concat"})],
    }

    def __init__(self, n_crops=1, pooling="mean"):
        self.n_crops = n_crops
        self.pooling = pooling

    def fit(self, X, y=None):
        """Check ``X`` and record its width.

        Parameters
        ----------
        X : array-like of shape (n_images, n_crops * n_features)
            Crop features.
        y : None
            Ignored.

        Returns
        -------
        self : CropPooler
            The fitted pooler.
        """
        self._validate_params()
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        self._check_width(X.shape[1])
        return self

    def _check_width(self, width: int) -> None:
        if width % self.n_crops:
            raise ValueError(
                f"X has {width} features, which is not a multiple of "
                f"n_crops={self.n_crops}"
            )

    def transform(self, X):
        """Pool the crops of each row.

        Parameters
        ----------
        X : array-like of shape (n_images, n_crops * n_features)
            Crop features.

        Returns
        -------
        X_pooled : ndarray of shape (n_images, n_features) or (n_images, n_crops * n_features)
            Pooled features; unchanged for ``pooling="concat"``.
        """
        if hasattr(self, "n_features_in_"):
            X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        else:  # stateless use: check without recording anything
            self._validate_params()
            X = check_array(X, dtype=[np.float64, np.float32])
            self._check_width(X.shape[1])
        if self.pooling == "concat":
            return X
        return pool_crop_features(X, self.n_crops, self.pooling)

    def get_feature_names_out(self, input_features=None):
        """Names of the pooled features.

        Parameters
        ----------
        input_features : array-like of str, default=None
            Input names; defaults to ``feature_names_in_`` or ``x0, x1, ...``.

        Returns
        -------
        feature_names_out : ndarray of str objects
            The input names for ``"concat"``; otherwise the names of the first
            crop's features prefixed by the pooling, e.g. ``mean_x0``, or
            ``mean_feature0`` for the featurizer's ``crop0_feature0``.
        """
        names = _check_feature_names_in(self, input_features)
        if self.pooling == "concat":
            return names
        per_crop = len(names) // self.n_crops
        first = [name.removeprefix("crop0_") for name in names[:per_crop]]
        return np.asarray([f"{self.pooling}_{name}" for name in first], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
