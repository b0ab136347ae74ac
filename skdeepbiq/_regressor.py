"""DeepBIQRegressor: crop features -> SVR -> pooled quality score per image."""

from __future__ import annotations

import warnings
from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, TransformerMixin, clone
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVR
from sklearn.utils import Bunch
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d

from ._featurizer import CNNCropFeaturizer
from ._finetune import check_fine_tuning
from ._images import check_images, check_readable, image_description
from ._pooling import POOLINGS, pool_crop_features, pool_crop_scores
from .exceptions import (
    ImageFailure,
    ImageReadError,
    UnreadableImageWarning,
    format_failures,
)

#: Default ``C`` of the LinearSVR on standardised features and targets,
#: chosen on clive-dev (see ``benchmarks/choose_default_c.py``).
DEFAULT_C = 1e-4


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
    featurizer : CNNCropFeaturizer, "precomputed" or None, default=None
        Turns images into crop features. None means ``CNNCropFeaturizer()``
        with its defaults (MobileNetV2 ImageNet weights, 25 random crops of
        224 px). Its parameters are nested as ``featurizer__<name>``, e.g.
        ``featurizer__n_crops``; these work even when ``featurizer`` is None
        (setting one replaces None with a default featurizer first).
        ``"precomputed"``: ``X`` already holds crop features, an array of
        shape (n_images, n_crops, n_features_per_crop), or (n_images,
        n_features) for one crop per image; e.g. a featurizer's output
        reshaped to ``(len(X), n_crops_, -1)``. Then every fit reuses the
        same features, and studying fewer crops is slicing ``X[:, :k]``.
    regressor : regressor, default=None
        Maps crop (or pooled) features to scores. None means
        ``LinearSVR(C=1e-4, epsilon=0.0, max_iter=5000, random_state=0)``;
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
    power : float, default=0.5
        Power normalisation of the features before standardisation: each
        feature ``x`` becomes ``sign(x) * |x| ** power`` (Perronnin, Sanchez
        and Mensink, ECCV 2010). The default square root evens out the
        heavy-tailed, non-negative CNN activations; on clive-dev it raised
        the median SROCC of the default model from 0.750 to 0.760
        (``benchmarks/choose_defaults.py``). 1.0 disables it.
    standardize : bool, default=True
        Standardise the features (zero mean, unit variance, learnt on the
        training crops) and the target before the regressor, and map
        predictions back to the target's scale. Makes the default ``C`` work
        on any score scale.
    skip_unreadable : bool, default=False
        What ``fit`` does with images that cannot be read (missing, corrupt,
        not an image, ...). False: refuse them with an
        :class:`~skdeepbiq.exceptions.ImageReadError` listing each as
        ``X[i] ('path'): reason``, raised before the network starts when the
        problem shows without decoding (whatever the featurizer's
        ``on_error``). True: leave them (and their scores) out of training,
        with one :class:`~skdeepbiq.exceptions.UnreadableImageWarning` saying
        how many were skipped and which (its ``failures`` attribute lists
        them); an error if none can be read. At prediction time, set
        ``featurizer__on_error="nan"`` before fitting (or
        ``model.featurizer_.set_params(on_error="nan")`` on a fitted model)
        to get NaN (and a warning) for unreadable images instead of an
        error: rows with NaN features are never passed to the scaler or the
        regressor.
    fine_tune : bool or FineTuning, default=None
        Fine-tune the CNN on the training images and scores before
        extracting features (DeepBIQ's Exp III): True for
        :class:`FineTuning`'s defaults (5 MOS classes, the paper's weighting,
        the trunk frozen, crops re-drawn every epoch), or a
        :class:`FineTuning` with another recipe. Sets the featurizer's
        ``fine_tune`` (None keeps the featurizer's own setting). Inside
        ``cross_validate`` or ``GridSearchCV`` the network is tuned on each
        training fold only. With fine-tuning, crop features use the shared
        trunk (``compute="auto"``, see :class:`CNNCropFeaturizer`).

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
        "featurizer": [
            HasMethods(["fit", "transform"]),
            StrOptions({"precomputed"}),
            None,
        ],
        "regressor": [HasMethods(["fit", "predict"]), None],
        "fusion": [StrOptions({"prediction", "feature", "concatenation"})],
        "pooling": [StrOptions(set(POOLINGS))],
        "power": [Interval(Real, 0, None, closed="neither")],
        "standardize": ["boolean"],
        "skip_unreadable": ["boolean"],
        "fine_tune": ["boolean", HasMethods(["edges"]), None],
    }

    def __init__(
        self,
        featurizer=None,
        regressor=None,
        fusion="prediction",
        pooling="mean",
        power=0.5,
        standardize=True,
        skip_unreadable=False,
        fine_tune=None,
    ):
        self.featurizer = featurizer
        self.regressor = regressor
        self.fusion = fusion
        self.pooling = pooling
        self.power = power
        self.standardize = standardize
        self.skip_unreadable = skip_unreadable
        self.fine_tune = fine_tune

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
        params = super().get_params(deep=deep)
        if deep:
            for name, factory in _DEFAULTS.items():
                if params[name] is not None:
                    continue  # nested parameters already listed
                for key, value in factory().get_params(deep=True).items():
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
        X : sequence of images, or ndarray of shape (n_images, n_crops, n_features)
            Paths, PIL images or HxWxC uint8 arrays; one per score. Crop
            features with ``featurizer="precomputed"``.
        y : array-like of shape (n_images,)
            Quality scores (e.g. MOS).

        Returns
        -------
        self : DeepBIQRegressor
            The fitted model.
        """
        self._validate_params()
        check_fine_tuning(self.fine_tune)
        images = self._check_X(X)
        y = _check_scores(y, len(images))
        if isinstance(self.featurizer, str):  # "precomputed"
            featurizer = _PrecomputedCropFeatures()
        elif self.featurizer is None:
            featurizer = _DEFAULTS["featurizer"]()
        else:
            featurizer = self.featurizer
        self.featurizer_ = clone(featurizer)
        if self.fine_tune is not None:
            if not isinstance(self.featurizer_, CNNCropFeaturizer):
                raise ValueError(
                    "fine_tune needs a CNNCropFeaturizer; got featurizer="
                    f"{self.featurizer!r}"
                )
            self.featurizer_.set_params(fine_tune=clone(self.fine_tune, safe=False))
        features, y = self._training_features(images, y)
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

    def _check_X(self, X):
        """Images as a list; precomputed features are left to their featurizer."""
        if isinstance(self.featurizer, str):  # "precomputed"
            return X
        return check_images(X)

    def _rows(self, features: np.ndarray) -> np.ndarray:
        """Regressor rows: one per crop, or one per image."""
        if self.power != 1.0:
            features = np.sign(features) * np.abs(features) ** self.power
        if self.fusion == "prediction":
            return features.reshape(len(features) * self.n_crops_, -1)
        if self.fusion == "feature":
            return pool_crop_features(features, self.n_crops_, self.pooling)
        return features

    def _training_features(
        self, images: list, y: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Fit ``featurizer_``; features and scores of the readable images.

        Unreadable images (and images whose features are not finite) raise
        :class:`ImageReadError`, or are left out with one warning when
        ``skip_unreadable``. Problems that show without decoding are found
        before the featurizer is fitted (fine-tuning) or run.
        """
        precomputed = isinstance(self.featurizer, str)  # X holds features
        failures = [] if precomputed else check_readable(images)
        if failures and not self.skip_unreadable:
            raise ImageReadError.from_failures(
                failures,
                context=" (checked before running the network; use "
                "skip_unreadable=True to leave them out)",
            )
        failed = {failure.index for failure in failures}
        kept = [index for index in range(len(images)) if index not in failed]
        if not kept:
            self._refuse_all(failures)
        kept_images = [images[index] for index in kept]
        on_error = "nan" if self.skip_unreadable else "raise"
        if isinstance(self.featurizer_, CNNCropFeaturizer):
            self.featurizer_.fit(kept_images, y[kept])
            result = self.featurizer_.extract(kept_images, on_error=on_error)
            features, late = result.features, result.failures
        else:
            features = np.asarray(self.featurizer_.fit_transform(kept_images, y[kept]))
            late = []
        late = [ImageFailure(kept[f.index], f.description, f.reason) for f in late]
        late_indices = {failure.index for failure in late}
        for position in np.flatnonzero(~np.isfinite(features).all(axis=1)).tolist():
            if kept[position] not in late_indices:
                description = image_description(images[kept[position]])
                reason = "its features are not finite (NaN or inf)"
                late.append(ImageFailure(kept[position], description, reason))
        if late and not self.skip_unreadable:
            raise ImageReadError.from_failures(
                sorted(late), context=" (use skip_unreadable=True to leave them out)"
            )
        failures = sorted(failures + late)
        if len(failures) == len(images):
            self._refuse_all(failures)
        if failures:
            warnings.warn(
                UnreadableImageWarning(
                    f"fit skipped {len(failures)} of {len(images)} images that "
                    "could not be read:\n" + format_failures(failures),
                    failures,
                ),
                stacklevel=3,
            )
        late_indices = {failure.index for failure in late}
        usable = np.array([index not in late_indices for index in kept], dtype=bool)
        return features[usable], y[kept][usable]

    @staticmethod
    def _refuse_all(failures: list[ImageFailure]):
        raise ImageReadError(
            f"none of the {len(failures)} images can be read:\n"
            + format_failures(failures),
            failures,
        )

    def _score_rows(self, rows: np.ndarray) -> np.ndarray:
        """Scores of regressor rows; NaN for rows with non-finite features."""
        finite = np.isfinite(rows).all(axis=1)
        scores = np.full(len(rows), np.nan)
        if finite.any():
            usable = rows[finite]
            if self.scaler_ is not None:
                usable = self.scaler_.transform(usable)
            predicted = self.regressor_.predict(usable)
            scores[finite] = predicted * self.y_scale_ + self.y_mean_
        return scores

    def predict_crops(self, X):
        """Score of every crop of each image (prediction fusion only).

        Parameters
        ----------
        X : sequence of images
            Paths, PIL images or HxWxC uint8 arrays.

        Returns
        -------
        crop_scores : ndarray of shape (n_images, `n_crops_`)
            The regressor's score of each crop, on the scale of ``y``.
        """
        check_is_fitted(self, "regressor_")
        if self.fusion != "prediction":
            raise ValueError(
                f"predict_crops needs fusion='prediction'; with fusion="
                f"{self.fusion!r} the regressor scores whole images, not crops"
            )
        features = self.featurizer_.transform(self._check_X(X))
        scores = self._score_rows(self._rows(features))
        return scores.reshape(len(features), self.n_crops_)

    def crop_scores(self, X):
        """Each image's crops: where they are, their scores, the pooled score.

        What :meth:`predict` pools, laid out per image, to see where an image
        is good or bad (:func:`skdeepbiq.quality_maps` spreads the scores of a
        dense grid of crops over the image).

        Parameters
        ----------
        X : sequence of images
            Paths, PIL images or HxWxC uint8 arrays.

        Returns
        -------
        crops : list of :class:`~sklearn.utils.Bunch`
            One per image, with keys:

            - ``boxes``: ndarray of shape (`n_crops_`, 4), float64, each
              crop's ``(left, top, right, bottom)`` in the image's own pixels
              (right and bottom exclusive), see
              :meth:`CNNCropFeaturizer.get_crop_boxes`;
            - ``scores``: ndarray of shape (`n_crops_`,), each crop's score on
              the scale of ``y`` (a row of :meth:`predict_crops`);
            - ``score``: float, the crop scores pooled with ``pooling``, the
              image's :meth:`predict` value.

        Raises
        ------
        ValueError
            With ``fusion="feature"`` or ``"concatenation"``: the regressor
            then scores one pooled or concatenated vector per image, so crops
            have no scores of their own. With ``featurizer="precomputed"``:
            features carry no crop positions.

        Examples
        --------
        >>> import numpy as np
        >>> from skdeepbiq import CNNCropFeaturizer, DeepBIQRegressor
        >>> rng = np.random.default_rng(0)
        >>> images = [rng.integers(0, 256, (48, 64, 3), dtype=np.uint8) for _ in range(6)]
        >>> model = DeepBIQRegressor(
        ...     CNNCropFeaturizer(weights=None, n_crops=3, crop_size=32)
        ... ).fit(images, np.linspace(20, 80, 6))
        >>> crops = model.crop_scores(images[:2])
        >>> crops[0].boxes.shape, crops[0].scores.shape
        ((3, 4), (3,))
        """
        check_is_fitted(self, "regressor_")
        if self.fusion != "prediction":
            raise ValueError(
                f"crop_scores needs fusion='prediction'; with fusion={self.fusion!r} "
                "the regressor scores one pooled or concatenated feature vector "
                "per image, so single crops have no scores"
            )
        if not isinstance(self.featurizer_, CNNCropFeaturizer):
            raise ValueError(
                "crop_scores needs a CNNCropFeaturizer that cuts the crops from "
                f"images; featurizer={self.featurizer!r} gives no crop positions"
            )
        images = check_images(X)
        scores = self.predict_crops(images)
        boxes = self.featurizer_.extract(images, return_boxes=True).boxes
        pooled = pool_crop_scores(scores, self.pooling)
        return [
            Bunch(boxes=image_boxes, scores=image_scores, score=float(score))
            for image_boxes, image_scores, score in zip(
                boxes, scores, pooled, strict=True
            )
        ]

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
        features = self.featurizer_.transform(self._check_X(X))
        return self._score_rows(self._rows(features))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.one_d_array = True
        tags.input_tags.string = True
        return tags


class _PrecomputedCropFeatures(TransformerMixin, BaseEstimator):
    """The featurizer of ``featurizer="precomputed"``: X already holds features.

    Turns ``X`` of shape (n_images, n_crops, n_features_per_crop), or
    (n_images, n_features) for one crop, into the featurizer's row layout
    (n_images, n_crops * n_features_per_crop). NaN rows are kept, so that
    they are reported or skipped like unreadable images.
    """

    def fit(self, X, y=None):
        crops = _check_crop_features(X)
        self.n_crops_, self.n_features_per_crop_ = crops.shape[1:]
        return self

    def transform(self, X):
        crops = _check_crop_features(X)
        expected = (self.n_crops_, self.n_features_per_crop_)
        if crops.shape[1:] != expected:
            raise ValueError(
                f"X has {crops.shape[1]} crops of {crops.shape[2]} features per "
                f"image; the model was fitted on {expected[0]} crops of "
                f"{expected[1]} features"
            )
        return crops.reshape(len(crops), -1)


def _check_crop_features(X) -> np.ndarray:
    """Precomputed crop features as a float array of shape (n, n_crops, n_features)."""
    crops = check_array(
        X,
        dtype=[np.float32, np.float64],
        allow_nd=True,
        ensure_all_finite="allow-nan",
        input_name="X",
    )
    if crops.ndim == 2:
        crops = crops[:, None, :]
    if crops.ndim != 3:
        raise ValueError(
            'with featurizer="precomputed", X must have shape (n_images, '
            f"n_crops, n_features) or (n_images, n_features); got {crops.shape}"
        )
    return crops


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
