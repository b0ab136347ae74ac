"""DeepBIQRegressor: crop features -> SVR -> pooled quality score per image."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVR
from sklearn.utils._param_validation import HasMethods, StrOptions
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ._featurizer import CNNCropFeaturizer
from ._images import check_images
from ._pooling import POOLINGS, pool_crop_features, pool_crop_scores

#: Default ``C`` of the LinearSVR on standardised features and targets,
#: chosen on clive-dev (see ``benchmarks/choose_default_c.py``).
DEFAULT_C = 1e-3


def default_regressor() -> LinearSVR:
    """The regressor used when ``regressor=None``."""
    return LinearSVR(C=DEFAULT_C, epsilon=0.0, max_iter=5000, random_state=0)


_DEFAULTS = {"featurizer": CNNCropFeaturizer, "regressor": default_regressor}


class DeepBIQRegressor(RegressorMixin, BaseEstimator):
    """DeepBIQ: CNN features of image crops, a linear SVR, pooled per image.

    One row per image in and out: ``fit(paths, mos)``, ``predict(paths)``.
    The crops of an image live inside its row, so they can never fall on
    both sides of a split, and ``cross_validate``, ``GridSearchCV``,
    ``ShuffleSplit`` and ``GroupShuffleSplit`` work as for any regressor.

    Parameters
    ----------
    featurizer : CNNCropFeaturizer, default=None
        Turns images into crop features. None means ``CNNCropFeaturizer()``
        with its defaults (MobileNetV2 ImageNet weights, 25 random crops of
        224 px). Its parameters are nested as ``featurizer__<name>``, e.g.
        ``featurizer__n_crops``; these work even when ``featurizer`` is None
        (setting one replaces None with a default featurizer first).
    regressor : regressor, default=None
        Maps crop (or pooled) features to scores. None means
        ``LinearSVR(C=1e-3, epsilon=0.0, max_iter=5000, random_state=0)``;
        any scikit-learn regressor can replace it. Its parameters are nested
        as ``regressor__<name>``: the SVR's ``regressor__C`` and
        ``regressor__epsilon`` (on the standardised target scale when
        ``standardize=True``).
    fusion : {"prediction", "feature", "concatenation"}, default="prediction"
        How crops are combined. ``"prediction"`` (DeepBIQ): the regressor
        learns from every crop labelled with its image's score, scores every
        crop, and an image's score pools its crops' scores. ``"feature"``:
        crop features are pooled into one row per image before the
        regressor. ``"concatenation"``: crop features are concatenated.
    pooling : {"mean", "min", "max"}, default="mean"
        Reduction over crops, of scores (prediction fusion) or of features
        (feature fusion). Ignored by concatenation.
    standardize : bool, default=True
        Standardise the features (zero mean, unit variance, learnt on the
        training crops) and the target before the regressor, and map
        predictions back to the target's scale. Makes the default ``C`` work
        on any score scale.

    Attributes
    ----------
    featurizer_ : CNNCropFeaturizer
        The fitted clone of ``featurizer``.
    regressor_ : regressor
        The fitted clone of ``regressor``.
    scaler_ : StandardScaler or None
        Feature standardisation, when ``standardize=True``.
    y_mean_, y_scale_ : float
        Mean and standard deviation of the training scores (0 and 1 when
        ``standardize=False``).
    n_crops_ : int
        Crops per image.

    See Also
    --------
    CNNCropFeaturizer : The crop features.
    CropPooler : Feature pooling as a separate transformer.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeepbiq import CNNCropFeaturizer, DeepBIQRegressor
    >>> rng = np.random.default_rng(0)
    >>> images = [rng.integers(0, 256, (48, 48, 3), dtype=np.uint8) for _ in range(6)]
    >>> mos = np.linspace(20, 80, 6)
    >>> model = DeepBIQRegressor(
    ...     CNNCropFeaturizer(weights=None, n_crops=2, crop_size=32)
    ... ).fit(images, mos)
    >>> model.predict(images).shape
    (6,)
    """

    _parameter_constraints: dict = {
        "featurizer": [HasMethods(["fit", "transform"]), None],
        "regressor": [HasMethods(["fit", "predict"]), None],
        "fusion": [StrOptions({"prediction", "feature", "concatenation"})],
        "pooling": [StrOptions(set(POOLINGS))],
        "standardize": ["boolean"],
    }

    def __init__(
        self,
        featurizer=None,
        regressor=None,
        fusion="prediction",
        pooling="mean",
        standardize=True,
    ):
        self.featurizer = featurizer
        self.regressor = regressor
        self.fusion = fusion
        self.pooling = pooling
        self.standardize = standardize

    # Nested parameters of the default sub-estimators ---------------------

    def get_params(self, deep=True):
        """Parameters of this estimator and, with ``deep``, of its parts.

        Parameters
        ----------
        deep : bool, default=True
            Also return ``featurizer__<name>`` and ``regressor__<name>``,
            from the default sub-estimators when those are None.

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        params = super().get_params(deep=False)
        if deep:
            for name, factory in _DEFAULTS.items():
                part = params[name] if params[name] is not None else factory()
                if not hasattr(part, "get_params") or isinstance(part, type):
                    continue
                for key, value in part.get_params(deep=True).items():
                    params[f"{name}__{key}"] = value
        return params

    def set_params(self, **params):
        """Set parameters, including nested ``featurizer__`` / ``regressor__`` ones.

        Setting a nested parameter while the sub-estimator is None first
        replaces None by the default sub-estimator.

        Parameters
        ----------
        **params : dict
            Parameter names mapped to their new values.

        Returns
        -------
        self : DeepBIQRegressor
            This estimator.
        """
        for name, factory in _DEFAULTS.items():
            nested = any(key.startswith(f"{name}__") for key in params)
            if nested and params.get(name, getattr(self, name)) is None:
                params[name] = factory()
        return super().set_params(**params)

    # Fitting and predicting ------------------------------------------------

    def fit(self, X, y):
        """Extract crop features and fit the regressor.

        Parameters
        ----------
        X : sequence of images
            Paths, PIL images or HxWxC uint8 arrays; one per score.
        y : array-like of shape (n_images,)
            Quality scores (e.g. MOS).

        Returns
        -------
        self : DeepBIQRegressor
            The fitted model.
        """
        self._validate_params()
        images = check_images(X)
        y = _check_scores(y, len(images))
        featurizer = (
            self.featurizer
            if self.featurizer is not None
            else _DEFAULTS["featurizer"]()
        )
        self.featurizer_ = clone(featurizer)
        features = self.featurizer_.fit_transform(images, y)
        self.n_crops_ = getattr(self.featurizer_, "n_crops_", 1)
        rows, targets = self._rows(features), y
        if self.fusion == "prediction":
            targets = np.repeat(y, self.n_crops_)
        if self.standardize:
            self.scaler_ = StandardScaler().fit(rows)
            rows = self.scaler_.transform(rows)
            self.y_mean_ = float(np.mean(targets))
            self.y_scale_ = float(np.std(targets)) or 1.0
        else:
            self.scaler_, self.y_mean_, self.y_scale_ = None, 0.0, 1.0
        regressor = (
            self.regressor if self.regressor is not None else _DEFAULTS["regressor"]()
        )
        self.regressor_ = clone(regressor)
        self.regressor_.fit(rows, (targets - self.y_mean_) / self.y_scale_)
        return self

    def _rows(self, features: np.ndarray) -> np.ndarray:
        """Regressor rows: one per crop, or one per image."""
        if self.fusion == "prediction":
            return features.reshape(len(features) * self.n_crops_, -1)
        if self.fusion == "feature":
            return pool_crop_features(features, self.n_crops_, self.pooling)
        return features

    def _score_rows(self, rows: np.ndarray) -> np.ndarray:
        if self.scaler_ is not None:
            rows = self.scaler_.transform(rows)
        return self.regressor_.predict(rows) * self.y_scale_ + self.y_mean_

    def predict_crops(self, X):
        """Score of every crop of each image (prediction fusion only).

        Parameters
        ----------
        X : sequence of images
            Paths, PIL images or HxWxC uint8 arrays.

        Returns
        -------
        crop_scores : ndarray of shape (n_images, n_crops_)
            The regressor's score of each crop, on the scale of ``y``.
        """
        check_is_fitted(self, "regressor_")
        if self.fusion != "prediction":
            raise ValueError(
                f"predict_crops needs fusion='prediction'; with fusion="
                f"{self.fusion!r} the regressor scores whole images, not crops"
            )
        features = self.featurizer_.transform(check_images(X))
        scores = self._score_rows(self._rows(features))
        return scores.reshape(len(features), self.n_crops_)

    def predict(self, X):
        """Predicted quality score of each image.

        Parameters
        ----------
        X : sequence of images
            Paths, PIL images or HxWxC uint8 arrays.

        Returns
        -------
        scores : ndarray of shape (n_images,)
            Pooled crop scores (prediction fusion) or the regressor's score of
            the pooled or concatenated features.
        """
        check_is_fitted(self, "regressor_")
        if self.fusion == "prediction":
            return pool_crop_scores(self.predict_crops(X), self.pooling)
        features = self.featurizer_.transform(check_images(X))
        return self._score_rows(self._rows(features))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.one_d_array = True
        tags.input_tags.string = True
        return tags


def _check_scores(y, n_images: int) -> np.ndarray:
    """``y`` as a finite float vector with one score per image."""
    if y is None:
        raise ValueError("y is required: one quality score per image")
    try:
        y = column_or_1d(np.asarray(y, dtype=np.float64), warn=True)
    except (TypeError, ValueError) as error:
        raise ValueError(f"y must be a 1-D array of numbers: {error}") from error
    if len(y) != n_images:
        raise ValueError(f"y has {len(y)} scores but X has {n_images} images")
    bad = np.flatnonzero(~np.isfinite(y))
    if len(bad):
        raise ValueError(
            f"y must be finite; y[{bad[0]}] = {y[bad[0]]} "
            f"({len(bad)} non-finite value(s) at indices {bad[:10].tolist()})"
        )
    return y
