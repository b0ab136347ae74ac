"""DeepBIQRegressor: crop features -> SVR -> pooled quality score per image."""

from __future__ import annotations

import warnings
from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVR
from sklearn.utils import Bunch
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._featurizer import CNNCropFeaturizer
from ._head import (
    fitted_scaler,
    frozen_head,
    make_head,
    score_crops,
    score_rows,
    unfrozen,
)
from ._images import check_images
from ._pooling import POOLINGS, pool_crop_scores
from ._precomputed import PrecomputedCropFeatures
from ._training import featurizer_to_fit, training_features
from .exceptions import UnreadableImageWarning

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
    Between the features and the scores runs one scikit-learn estimator,
    ``head_``: the power normalisation (a ``FunctionTransformer``), the
    feature pooling (a :class:`CropPooler`, feature fusion only), the feature
    scaling (a ``StandardScaler``) and ``regressor`` in a ``Pipeline``,
    inside a ``TransformedTargetRegressor`` that standardises the target.

    Parameters
    ----------
    featurizer : CNNCropFeaturizer, "precomputed" or None, default=None
        Turns images into crop features. None means ``CNNCropFeaturizer()``
        with its defaults (MobileNetV2 ImageNet weights, 25 random crops of
        224 px). ``"precomputed"``: ``X`` already holds crop features, an
        array of shape (n_images, n_crops, n_features_per_crop), or
        (n_images, n_features) for one crop per image; e.g. a featurizer's
        output reshaped to ``(len(X), n_crops_, -1)``. Then every fit reuses
        the same features, and studying fewer crops is slicing ``X[:, :k]``.
    regressor : regressor, default=None
        Maps crop (or pooled) features to scores. None means
        ``LinearSVR(C=1e-4, epsilon=0.0, max_iter=5000, random_state=0)``;
        any scikit-learn regressor can replace it.
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
        on any score scale. Constant training scores keep a scale of 1.
    skip_unreadable : bool, default=False
        What ``fit`` does with images that cannot be read (missing, corrupt,
        not an image, ...). False: refuse them with an
        :class:`~skdeepbiq.exceptions.ImageReadError` listing each as
        ``X[i] ('path'): reason``, raised before the network starts when the
        problem shows without decoding (whatever the featurizer's
        ``on_error``). True: leave them (and their scores) out of training,
        with one :class:`~skdeepbiq.exceptions.UnreadableImageWarning` saying
        how many were skipped and which (its ``failures`` attribute lists
        them); an error if none can be read. Rows of precomputed features
        that hold NaN count as unreadable images. At prediction time, set
        ``featurizer__on_error="nan"`` before fitting (or
        ``model.featurizer_.set_params(on_error="nan")`` on a fitted model)
        to get NaN (and a warning) for unreadable images instead of an
        error: rows with NaN features are never passed to ``head_``, and
        get NaN scores.
    fine_tune : bool or FineTuning, default=None
        Fine-tune the CNN on the training images and scores before
        extracting features (DeepBIQ's Exp III): True for
        :class:`FineTuning`'s defaults, or a :class:`FineTuning` with
        another recipe. A shorthand for the featurizer's own ``fine_tune``
        (``featurizer__fine_tune``), which does the work: ``fit`` hands it to
        its featurizer's clone; None keeps the featurizer's own setting, and
        setting both to different values is an error. Inside
        ``cross_validate`` or ``GridSearchCV`` the network is tuned on each
        training fold only. With fine-tuning, crop features use the shared
        trunk (``compute="auto"``, see :class:`CNNCropFeaturizer`).

    Attributes
    ----------
    featurizer_ : CNNCropFeaturizer
        The fitted clone of ``featurizer``.
    head_ : TransformedTargetRegressor
        The fitted estimator between the features and the scores (see
        above); print it to see its steps.
    regressor_ : regressor
        The fitted clone of ``regressor``, the last step of ``head_``.
    scaler_ : StandardScaler or None
        Feature standardisation, the ``"scale"`` step of ``head_``, when
        ``standardize=True``.
    y_mean_, y_scale_ : float
        Mean and standard deviation (1 for constant scores) of the training
        scores, of ``head_``'s target scaler (0 and 1 when
        ``standardize=False``).
    n_crops_ : int
        Crops per image.
    n_features_in_ : int
        Features per image (``n_crops_ * n_features_per_crop``), with
        ``featurizer="precomputed"`` only.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names of a DataFrame of precomputed features.

    See Also
    --------
    CNNCropFeaturizer : The crop features.
    CropPooler : Feature pooling as a separate transformer.

    Notes
    -----
    Nested parameters, for ``set_params`` and ``GridSearchCV``, are named
    ``featurizer__<name>`` (e.g. ``featurizer__n_crops``,
    ``featurizer__backbone``, ``featurizer__fine_tune``) and
    ``regressor__<name>`` (e.g. the SVR's ``regressor__C`` and
    ``regressor__epsilon``, on the standardised target scale when
    ``standardize=True``). They work even when ``featurizer`` or
    ``regressor`` is None: ``get_params`` lists the default's, and setting
    one replaces None with a default sub-estimator first.

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
    >>> list(model.head_.regressor_.named_steps)
    ['power', 'scale', 'regressor']
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

    # Fitting -------------------------------------------------------------

    def fit(self, X, y):
        """Extract crop features and fit the head.

        Parameters
        ----------
        X : sequence of images, or array-like of shape (n_images, n_crops, n_features) or (n_images, n_features)
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
        featurizer = self.featurizer
        if featurizer is None:
            featurizer = _DEFAULTS["featurizer"]()
        featurizer = featurizer_to_fit(featurizer, self.fine_tune)
        features, y = training_features(
            featurizer, X, y, skip_unreadable=self.skip_unreadable
        )
        self.featurizer_ = featurizer
        self.n_crops_ = getattr(featurizer, "n_crops_", 1)
        rows, targets = features, y
        if self.fusion == "prediction":
            rows = features.reshape(len(features) * self.n_crops_, -1)
            targets = np.repeat(y, self.n_crops_)
        regressor = self.regressor
        if regressor is None:
            regressor = _DEFAULTS["regressor"]()
        self.head_ = self._make_head(
            clone(regressor),
            make_head,
            *(
                (StandardScaler(), StandardScaler())
                if self.standardize
                else (None, None)
            ),
        ).fit(rows, targets)
        return self

    def _make_head(self, regressor, build, scaler, target_scaler):
        """The head from ``build`` (:func:`make_head` or :func:`frozen_head`)."""
        feature_fusion = self.fusion == "feature"
        return build(
            regressor,
            power=self.power,
            n_crops=self.n_crops_ if feature_fusion else None,
            pooling=self.pooling,
            scaler=scaler,
            target_scaler=target_scaler,
        )

    # Predicting ----------------------------------------------------------

    def _check_X(self, X):
        """Images as a list; precomputed features are left to their featurizer."""
        if isinstance(self.featurizer_, PrecomputedCropFeatures):
            return X
        return check_images(X)

    def _check_crop_fusion(self, method: str) -> None:
        check_is_fitted(self, "head_")
        if self.fusion != "prediction":
            raise ValueError(
                f"{method} needs fusion='prediction'; with fusion={self.fusion!r} "
                "the regressor scores one pooled or concatenated feature vector "
                "per image, so single crops have no scores"
            )

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
        self._check_crop_fusion("predict_crops")
        return score_crops(
            self.head_, self.n_crops_, self.featurizer_.transform(self._check_X(X))
        )

    def crop_scores(self, X):
        """Each image's crops: where they are, their scores, the pooled score.

        What :meth:`predict` pools, laid out per image, to see where an image
        is good or bad (:func:`skdeepbiq.quality_maps` spreads the scores of a
        dense grid of crops over the image). Each image is featurized once,
        its boxes found in the same pass.

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

            With the featurizer's ``on_error="nan"``, an unreadable image
            gets NaN boxes and scores, and one
            :class:`~skdeepbiq.exceptions.UnreadableImageWarning` names them.

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
        self._check_crop_fusion("crop_scores")
        if not isinstance(self.featurizer_, CNNCropFeaturizer):
            raise ValueError(
                "crop_scores needs a CNNCropFeaturizer that cuts the crops from "
                f"images; featurizer={self.featurizer!r} gives no crop positions"
            )
        images = check_images(X)
        extracted = self.featurizer_.extract(images, return_boxes=True)
        if extracted.failures:
            warnings.warn(
                UnreadableImageWarning.from_failures(
                    extracted.failures, len(images), "their boxes and scores are NaN"
                ),
                stacklevel=2,
            )
        scores = score_crops(self.head_, self.n_crops_, extracted.features)
        pooled = pool_crop_scores(scores, self.pooling)
        return [
            Bunch(boxes=image_boxes, scores=image_scores, score=float(score))
            for image_boxes, image_scores, score in zip(
                extracted.boxes, scores, pooled, strict=True
            )
        ]

    def predict(self, X):
        """Predicted quality score of each image.

        Parameters
        ----------
        X : sequence of images, or array-like of crop features
            Paths, PIL images or HxWxC uint8 arrays; crop features, shaped
            as in ``fit``, with ``featurizer="precomputed"``.

        Returns
        -------
        scores : ndarray of shape (n_images,)
            Pooled crop scores (prediction fusion) or the regressor's score of
            the pooled or concatenated features; NaN for images without
            features (unreadable with ``on_error="nan"``, or NaN rows of
            precomputed features).
        """
        check_is_fitted(self, "head_")
        features = self.featurizer_.transform(self._check_X(X))
        if self.fusion == "prediction":
            return pool_crop_scores(
                score_crops(self.head_, self.n_crops_, features), self.pooling
            )
        return score_rows(self.head_, features)

    # Views of the fitted parts ---------------------------------------------

    @property
    def regressor_(self):
        """The fitted regressor, the last step of ``head_``."""
        return unfrozen(self.head_.regressor_.named_steps["regressor"])

    @property
    def scaler_(self):
        """The fitted feature scaler of ``head_``, or None."""
        scaler = self.head_.regressor_.named_steps["scale"]
        return None if isinstance(scaler, str) else unfrozen(scaler)

    @property
    def y_mean_(self) -> float:
        """Mean of the training scores, or 0 without standardisation."""
        if self.head_.transformer is None:
            return 0.0
        return float(unfrozen(self.head_.transformer_).mean_[0])

    @property
    def y_scale_(self) -> float:
        """Standard deviation of the training scores, or 1."""
        if self.head_.transformer is None:
            return 1.0
        return float(unfrozen(self.head_.transformer_).scale_[0])

    @property
    def n_features_in_(self) -> int:
        """Features per image of precomputed features."""
        return self._precomputed_featurizer().n_features_in_

    @property
    def feature_names_in_(self) -> np.ndarray:
        """Column names of a DataFrame of precomputed features."""
        return self._precomputed_featurizer().feature_names_in_

    def _precomputed_featurizer(self) -> PrecomputedCropFeatures:
        featurizer = getattr(self, "featurizer_", None)
        if not isinstance(featurizer, PrecomputedCropFeatures):
            raise AttributeError(
                "only a DeepBIQRegressor fitted on precomputed features has "
                "n_features_in_ and feature_names_in_"
            )
        return featurizer

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        precomputed = isinstance(self.featurizer, str)
        tags.input_tags.two_d_array = precomputed
        tags.input_tags.three_d_array = precomputed
        tags.input_tags.one_d_array = not precomputed
        tags.input_tags.string = not precomputed
        # The default C suits standardised CNN features, not every toy problem.
        tags.regressor_tags.poor_score = True
        return tags


def fitted_model(
    model,
    *,
    featurizer,
    regressor,
    scaler_mean=None,
    scaler_scale=None,
    scaler_n_samples_seen=1,
    y_mean=0.0,
    y_scale=1.0,
):
    """``model`` fitted from parts fitted elsewhere (a model read from a file).

    Parameters
    ----------
    model : DeepBIQRegressor
        Unfitted, with the parameters of the model the parts come from.
    featurizer : CNNCropFeaturizer
        Fitted; becomes ``featurizer_``.
    regressor : regressor
        Fitted; becomes ``regressor_``.
    scaler_mean, scaler_scale : array-like of shape (n_features,), default=None
        Statistics of the feature scaler (``scaler_.mean_``,
        ``scaler_.scale_``); ignored when ``model.standardize`` is False.
    scaler_n_samples_seen : int or array-like, default=1
        ``scaler_.n_samples_seen_``.
    y_mean, y_scale : float, default=0.0 and 1.0
        ``y_mean_`` and ``y_scale_``; ignored when ``model.standardize`` is
        False.

    Returns
    -------
    model : DeepBIQRegressor
        ``model`` itself, fitted: ``predict`` works at once. Its ``head_``
        holds ``regressor`` and the scalers inside
        :class:`~sklearn.frozen.FrozenEstimator`.
    """
    model.featurizer_ = featurizer
    model.n_crops_ = featurizer.n_crops_
    scalers = (None, None)
    if model.standardize:
        scalers = (
            fitted_scaler(scaler_mean, scaler_scale, scaler_n_samples_seen),
            fitted_scaler([y_mean], [y_scale]),
        )
    model.head_ = model._make_head(regressor, frozen_head, *scalers)
    return model
