"""Pooling the crops of an image: functions and the CropPooler transformer."""

from __future__ import annotations

import re
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_array,
    validate_data,
)

POOLINGS = ("min", "mean", "max")
_REDUCERS = {"min": np.min, "mean": np.mean, "max": np.max}
#: A feature name of crop ``c``: ``crop<c>_<name>``, as CNNCropFeaturizer writes.
_CROP_NAME = re.compile(r"crop(\d+)_(.+)")


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


def crops_in_names(names) -> int | None:
    """Number of crops that feature names ``crop<c>_<name>`` describe, or None.

    The names must be crop after crop (``crop0_*`` first), every crop with
    the same names in the same order, as :class:`CNNCropFeaturizer` writes
    them; otherwise None.

    Examples
    --------
    >>> from skdeepbiq._pooling import crops_in_names
    >>> crops_in_names(["crop0_a", "crop0_b", "crop1_a", "crop1_b"])
    2
    >>> crops_in_names(["crop0_a", "crop1_b"]) is None
    True
    """
    matches = [_CROP_NAME.fullmatch(str(name)) for name in names]
    if not matches or not all(matches):
        return None
    crops = [int(match.group(1)) for match in matches]
    n_crops = crops[-1] + 1
    width = len(matches)
    if width % n_crops:
        return None
    per_crop = width // n_crops
    suffixes = [match.group(2) for match in matches[:per_crop]]
    expected = [f"crop{c}_{suffix}" for c in range(n_crops) for suffix in suffixes]
    return n_crops if [str(name) for name in names] == expected else None


class CropPooler(TransformerMixin, BaseEstimator):
    """Pool the crop features of each image (the paper's feature pooling).

    The number of crops in a row is ``n_crops`` when set; otherwise it is
    read from the input's feature names ``crop<c>_<name>``, which
    :class:`CNNCropFeaturizer` gives its columns: in a pipeline, call
    ``pipeline.set_output(transform="pandas")`` so that they reach the
    pooler. Without either, ``fit`` refuses rather than pass the crops
    through unpooled.

    Parameters
    ----------
    n_crops : int or None, default=None
        Number of crops in each row; the number of input features must be a
        multiple of it. Use the featurizer's ``n_crops_``. None: read it
        from the feature names of a DataFrame ``X`` (``crop0_feature0``,
        ...); a ``ValueError`` asks for ``n_crops`` when ``X`` has no such
        names (``pooling="concat"`` needs neither).
    pooling : {"mean", "min", "max", "concat"}, default="mean"
        Element-wise reduction over the crops, giving ``n_features`` columns,
        or ``"concat"`` to keep all ``n_crops * n_features`` columns (the
        paper's feature concatenation).

    Attributes
    ----------
    n_crops_ : int or None
        Number of crops pooled: ``n_crops``, or the number read from the
        feature names; None for ``pooling="concat"`` when neither says it.
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

    Named columns say the crops themselves:

    >>> import pandas as pd
    >>> names = ["crop0_a", "crop0_b", "crop1_a", "crop1_b"]
    >>> pooler = CropPooler().fit(pd.DataFrame(X, columns=names))
    >>> pooler.n_crops_, list(pooler.get_feature_names_out())
    (2, ['mean_a', 'mean_b'])
    """

    _parameter_constraints: dict = {
        "n_crops": [Interval(Integral, 1, None, closed="left"), None],
        "pooling": [StrOptions({"mean", "min", "max", "concat"})],
    }

    def __init__(self, n_crops=None, *, pooling="mean"):
        self.n_crops = n_crops
        self.pooling = pooling

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check ``X`` and learn its number of crops.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_images, n_crops * n_features)
            Crop features; with ``n_crops=None``, a DataFrame whose columns
            are named ``crop<c>_<name>``.
        y : None
            Ignored.

        Returns
        -------
        self : CropPooler
            The fitted pooler.
        """
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        self.n_crops_ = self._crop_count(getattr(self, "feature_names_in_", None), X)
        return self

    def _crop_count(self, names, X) -> int | None:
        """Number of crops of the rows of ``X``, whose columns are ``names``."""
        named = None if names is None else crops_in_names(names)
        n_crops = self.n_crops if self.n_crops is not None else named
        if named is not None and n_crops != named:
            raise ValueError(
                f"n_crops={n_crops} but X's feature names are those of {named} crops"
            )
        if n_crops is None and self.pooling != "concat":
            raise ValueError(
                "CropPooler does not know how many crops each row holds: set "
                "n_crops (the featurizer's n_crops_), or give X as a DataFrame "
                "whose columns are named crop<c>_<name> (in a pipeline after "
                "CNNCropFeaturizer: pipeline.set_output(transform='pandas'))"
            )
        if n_crops is not None and X.shape[1] % n_crops:
            raise ValueError(
                f"X has {X.shape[1]} features, which is not a multiple of "
                f"n_crops={n_crops}"
            )
        return n_crops

    def transform(self, X):
        """Pool the crops of each row.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_images, n_crops * n_features)
            Crop features.

        Returns
        -------
        X_pooled : ndarray of shape (n_images, n_features) or (n_images, n_crops * n_features)
            Pooled features; unchanged for ``pooling="concat"``.
        """
        if hasattr(self, "n_features_in_"):
            X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
            n_crops = self.n_crops_
        else:  # stateless use: check without recording anything
            self._validate_params()
            names = getattr(X, "columns", None)
            X = check_array(X, dtype=[np.float64, np.float32])
            n_crops = self._crop_count(names, X)
        if self.pooling == "concat":
            return X
        return pool_crop_features(X, n_crops, self.pooling)

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
        n_crops = getattr(self, "n_crops_", None) or self.n_crops
        if n_crops is None:
            n_crops = self._crop_count(names, np.empty((0, len(names))))
        per_crop = len(names) // n_crops
        first = [name.removeprefix("crop0_") for name in names[:per_crop]]
        return np.asarray([f"{self.pooling}_{name}" for name in first], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
