"""Precomputed crop features: the featurizer of ``featurizer="precomputed"``.

A :class:`DeepBIQRegressor` given ``featurizer="precomputed"`` takes crop
features instead of images: an array of shape (n_images, n_crops,
n_features_per_crop), or (n_images, n_features) for one crop per image.
:class:`PrecomputedCropFeatures` checks them as scikit-learn checks tabular
input (``n_features_in_``, ``feature_names_in_``, NaN and inf) and lays them
out as :class:`CNNCropFeaturizer` rows, so that the regressor treats both
alike.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted, validate_data


def check_crop_features(X) -> np.ndarray:
    """Precomputed crop features as a float array of 2 or 3 dimensions.

    Parameters
    ----------
    X : array-like of shape (n_images, n_crops, n_features) or (n_images, n_features)
        Crop features; a 2-D array holds one crop per image. NaN is allowed
        (it marks an image without features), inf is not.

    Returns
    -------
    features : ndarray of shape (n_images, n_crops, n_features) or (n_images, n_features)
        float32 or float64.
    """
    features = check_array(
        X,
        dtype=[np.float32, np.float64],
        allow_nd=True,
        ensure_all_finite="allow-nan",
        input_name="X",
    )
    if features.ndim not in (2, 3):
        raise ValueError(
            'with featurizer="precomputed", X must have shape (n_images, '
            f"n_crops, n_features) or (n_images, n_features); got {features.shape}"
        )
    return features


class PrecomputedCropFeatures(TransformerMixin, BaseEstimator):
    """The featurizer of ``featurizer="precomputed"``: X already holds features.

    Turns ``X`` of shape (n_images, n_crops, n_features_per_crop), or
    (n_images, n_features) for one crop, into the featurizer's row layout
    (n_images, n_crops * n_features_per_crop). NaN rows are kept, so that
    the regressor reports or skips them like unreadable images.

    Attributes
    ----------
    n_crops_ : int
        Crops per image: ``X.shape[1]`` of 3-D input, 1 for 2-D input.
    n_features_per_crop_ : int
        Features of each crop.
    n_features_in_ : int
        Features per image, ``n_crops_ * n_features_per_crop_``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names of a 2-D ``X`` that has string column names (a pandas
        DataFrame).
    """

    def fit(self, X, y=None):
        """Record the crop count and width of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_images, n_crops, n_features) or (n_images, n_features)
            Crop features.
        y : None
            Ignored.

        Returns
        -------
        self : PrecomputedCropFeatures
            The fitted transformer.
        """
        crops = self._checked_crops(X, reset=True)
        self.n_crops_, self.n_features_per_crop_ = crops.shape[1:]
        return self

    def transform(self, X):
        """Crop features of each image as one row.

        Parameters
        ----------
        X : array-like of shape (n_images, `n_crops_`, `n_features_per_crop_`) or (n_images, `n_features_per_crop_`)
            Crop features, as many crops of as many features as in ``fit``
            (2-D input for a model fitted on one crop per image).

        Returns
        -------
        features : ndarray of shape (n_images, `n_features_in_`)
            Row ``i`` holds crop 0's features, then crop 1's, ...
        """
        check_is_fitted(self)
        crops = self._checked_crops(X, reset=False)
        return crops.reshape(len(crops), -1)

    def _checked_crops(self, X, reset: bool) -> np.ndarray:
        """``X`` as (n, n_crops, n_features); its width and column names recorded
        (``reset``) or compared with those of ``fit``."""
        features = check_crop_features(X)
        crops = features[:, None, :] if features.ndim == 2 else features
        if not reset and features.ndim == 3:
            self._check_crop_shape(crops)  # before the width check: name crops
        rows = crops.reshape(len(crops), -1)
        # scikit-learn's own width and column-name checks and messages
        named = X if features.ndim == 2 and hasattr(X, "columns") else rows
        validate_data(self, named, reset=reset, skip_check_array=True)
        if not reset and features.ndim == 2:
            self._check_crop_shape(crops)  # one crop for a model of several
        return crops

    def _check_crop_shape(self, crops: np.ndarray) -> None:
        expected = (self.n_crops_, self.n_features_per_crop_)
        if crops.shape[1:] != expected:
            raise ValueError(
                f"X has {crops.shape[1]} crops of {crops.shape[2]} features per "
                f"image; the model was fitted on {expected[0]} crops of "
                f"{expected[1]} features"
            )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.allow_nan = True
        return tags
