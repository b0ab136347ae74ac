"""DeepBIQRegressor: crop features -> SVR -> pooled quality score per image.

The module holds the whole regressor, top to bottom: its defaults, the
class, then the functions that build and score its head (scikit-learn's
estimators after the featurizer) and that check its training data; the
torch engine it calls is in ``_engine/``.

The defaults. ``DeepBIQRegressor(
featurizer=None, regressor=None)`` stands for :func:`default_featurizer` and
:func:`default_regressor`, which depend on ``fine_tune``. As in
:class:`~sklearn.compose.TransformedTargetRegressor`, None is resolved in
``fit`` (into ``featurizer_`` and ``regressor_``), never in ``__init__`` or
``set_params``: the parameters stay what the user gave, in whatever order
they were set. To set a default's own parameters (``featurizer__memory``,
``regressor__C`` in a grid search), pass it: ``DeepBIQRegressor(
featurizer=default_featurizer(memory="cache/"))``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from numbers import Real

import joblib
import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context, clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import check_cv
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.svm import LinearSVR
from sklearn.utils import Bunch
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ._conformal import crop_spread, intervals, make_calibration, shortfall
from ._engine.images import check_images, check_readable, image_description
from ._featurizer import CNNCropFeaturizer
from ._finetuning.recipe import FineTuning, check_fine_tuning
from ._fingerprint import fingerprint_images
from ._pooling import POOLINGS, CropPooler, pool_crop_scores
from ._precomputed import PrecomputedCropFeatures
from .exceptions import (
    ImageFailure,
    ImageReadError,
    SkDeepBIQWarning,
    UnreadableImageWarning,
    format_failures,
)

__all__ = [
    "DEFAULT_C",
    "DEFAULT_FEATURES",
    "TUNED_C",
    "TUNED_FEATURES",
    "DeepBIQRegressor",
    "default_featurizer",
    "default_regressor",
]

#: How :meth:`DeepBIQRegressor.calibrate` makes conformity scores by default:
#: absolute errors within the photo's third of the predicted scores. On
#: clive-dev's choice splits, and confirmed on the fresh ones, it held the
#: coverage of the lowest-rated photos better than one width for all
#: (``"absolute"``) at about the same width, and better than errors divided
#: by the crop spread (``"crop_spread"``) did (``benchmarks/intervals.py``).
DEFAULT_INTERVALS = "score_bins"

#: Default ``C`` of the LinearSVR on standardised features and targets,
#: chosen on clive-dev's choice splits with the default featurizer among
#: 3e-5, 1e-4 and 3e-4 (``benchmarks/accuracy_table.py``).
DEFAULT_C = 1e-4

#: The same when DeepBIQRegressor fine-tunes, chosen on clive-dev with the
#: tuned featurizer among 3e-6, 1e-5, 3e-5, 1e-4, 3e-4 and 1e-3
#: (``benchmarks/finetune.py --load-models DIR --refit``): features of the
#: tuned network are fitted with a stronger penalty.
TUNED_C = 1e-5


#: Parameters of DeepBIQRegressor's default featurizer that differ from
#: ``CNNCropFeaturizer()``'s (the paper's penultimate features of exact
#: crops): the mean and standard deviation of each of EfficientNet-Lite2's
#: stage outputs, over 25 windows of the shared trunk's maps. Chosen on
#: clive-dev's choice splits against MobileNetV2's stage means, and
#: confirmed on the fresh splits (``benchmarks/accuracy_table.py``,
#: :doc:`/user_guide/accuracy`); the backbone is the tuned default's, so
#: one weights file serves both.
DEFAULT_FEATURES = {
    "backbone": "efficientnet_lite2",
    "layer": "stages",
    "spatial_pooling": "mean_std",
    "compute": "trunk",
}

#: The same when DeepBIQRegressor fine-tunes: EfficientNet-Lite2's stage
#: outputs of 25 crops, as windows of the trunk's maps, which is how the
#: tuned blocks saw their crops in training; the most accurate fine-tuned
#: configuration measured on clive-dev (``benchmarks/finetune.py``,
#: ``benchmarks/results/finetune_cpu_lite2_deep_trunk.log``).
TUNED_FEATURES = {
    "backbone": "efficientnet_lite2",
    "layer": "stages",
    "n_crops": 25,
    "compute": "trunk",
}


def tunes(fine_tune) -> bool:
    """Whether a ``fine_tune`` parameter asks for fine-tuning (True or a recipe).

    The same reading as :func:`~skdeepbiq._finetuning.recipe.check_fine_tuning`'s,
    without its validation: NumPy booleans count as booleans, and a value
    that is neither a boolean nor a recipe (which ``fit`` refuses) does not
    tune.
    """
    if isinstance(fine_tune, FineTuning):
        return True
    return isinstance(fine_tune, bool | np.bool_) and bool(fine_tune)


def default_featurizer(*, fine_tune=False, **params) -> CNNCropFeaturizer:
    """The featurizer that ``DeepBIQRegressor(featurizer=None)`` uses.

    Pass it, with parameters of your own, to set them on the default
    configuration: ``DeepBIQRegressor(featurizer=default_featurizer(
    memory="cache/"))`` caches the default features, and
    ``DeepBIQRegressor(featurizer=default_featurizer(fine_tune=True,
    memory="cache/"), fine_tune=True)`` the tuned ones.

    Parameters
    ----------
    fine_tune : bool or FineTuning, default=False
        The regressor's ``fine_tune``: the default featurizer depends on
        whether the network is tuned. The featurizer returned does not
        tune by itself; the regressor's ``fine_tune`` says so.
    **params
        Parameters of :class:`CNNCropFeaturizer` that replace the
        default's (``memory``, ``device``, ``n_crops``, ...).

    Returns
    -------
    featurizer : CNNCropFeaturizer
        Without fine-tuning, ``CNNCropFeaturizer(
        backbone="efficientnet_lite2", layer="stages",
        spatial_pooling="mean_std", compute="trunk")``: the mean and
        standard deviation of each stage's output of EfficientNet-Lite2
        (4,272 features per crop) over 25 random 224-px crops, computed
        as windows of the shared trunk's maps. With it,
        ``CNNCropFeaturizer(backbone="efficientnet_lite2", layer="stages",
        n_crops=25, compute="trunk")``: the trunk the tuning kept frozen
        runs once per image, and each crop's window of its maps goes
        through the tuned blocks, as in training. Both were chosen on
        clive-dev, as :doc:`/user_guide/accuracy` tells.

    Examples
    --------
    >>> from skdeepbiq import default_featurizer
    >>> default_featurizer(memory="cache/").get_params()["layer"]
    'stages'
    >>> default_featurizer().spatial_pooling, default_featurizer(fine_tune=True).backbone
    ('mean_std', 'efficientnet_lite2')
    """
    defaults = TUNED_FEATURES if tunes(fine_tune) else DEFAULT_FEATURES
    return CNNCropFeaturizer(**{**defaults, **params})


def default_regressor(*, fine_tune=False, **params) -> LinearSVR:
    """The regressor that ``DeepBIQRegressor(regressor=None)`` uses.

    Pass it to search its ``C``: ``GridSearchCV(DeepBIQRegressor(
    regressor=default_regressor()), {"regressor__C": [1e-4, 3e-4, 1e-3]})``.

    Parameters
    ----------
    fine_tune : bool or FineTuning, default=False
        The regressor's ``fine_tune``: the default ``C`` depends on whether
        the network is tuned.
    **params
        Parameters of :class:`~sklearn.svm.LinearSVR` that replace the
        default's (``C``, ``epsilon``, ...).

    Returns
    -------
    regressor : LinearSVR
        ``LinearSVR(C=1e-4, epsilon=0.0, max_iter=5000, random_state=0)``
        (``DEFAULT_C``); with fine-tuning, ``C=1e-5`` (``TUNED_C``), as the
        tuned network's features are fitted best with a stronger penalty.

    Examples
    --------
    >>> from skdeepbiq import default_regressor
    >>> default_regressor().C, default_regressor(fine_tune=True).C
    (0.0001, 1e-05)
    >>> default_regressor(C=1e-3).C
    0.001
    """
    C = TUNED_C if tunes(fine_tune) else DEFAULT_C
    defaults = {"C": C, "epsilon": 0.0, "max_iter": 5000, "random_state": 0}
    return LinearSVR(**{**defaults, **params})


_SUB_ESTIMATORS = {"featurizer": default_featurizer, "regressor": default_regressor}


class DeepBIQRegressor(RegressorMixin, BaseEstimator):
    """DeepBIQ: CNN features of image crops, a linear SVR, pooled per image.

    One row per image in and out: ``fit(paths, mos)``, ``predict(paths)``;
    an image's crops live inside its row, so they never fall on both sides
    of a split, and scikit-learn's model selection works as for any
    regressor. Between features and scores runs ``head_``: the power (a
    ``FunctionTransformer``), the feature pooling (a :class:`CropPooler`,
    feature fusion only), a ``StandardScaler`` and ``regressor`` in a
    ``Pipeline``, in a ``TransformedTargetRegressor`` scaling the target.

    Parameters
    ----------
    featurizer : CNNCropFeaturizer, "precomputed" or None, default=None
        Turns images into crop features; None means the defaults chosen
        on clive-dev: EfficientNet-Lite2's stage outputs over 25 windows of
        its shared trunk, their means and standard deviations untuned,
        their means tuned with ``fine_tune`` (:func:`default_featurizer`
        gives both). ``"precomputed"``: ``X`` holds crop features, of
        shape (n_images, n_crops, n_features_per_crop), e.g. a featurizer's
        output reshaped to ``(len(X), n_crops_, -1)``.
    regressor : regressor, default=None
        Maps crop (or pooled) features to scores. None means
        ``LinearSVR(C=1e-4, epsilon=0.0, max_iter=5000, random_state=0)``,
        with ``fine_tune`` ``C=1e-5``; any scikit-learn regressor can replace it.
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
        feature ``x`` becomes ``sign(x) * |x| ** power`` (Perronnin et al.,
        ECCV 2010; see the user guide). 1.0 disables it.
    standardize : bool, default=True
        Standardise the features and the target before the regressor (so
        that the default ``C`` works on any score scale), and map
        predictions back to the target's scale.
    skip_unreadable : bool, default=False
        What ``fit`` does with images that cannot be read, and rows of
        precomputed features that hold NaN. False: refuse them with an
        :class:`~skdeepbiq.exceptions.ImageReadError` listing each as
        ``X[i] ('path'): reason``, before the network starts when the problem
        shows without decoding. True: leave them out of training, with one
        :class:`~skdeepbiq.exceptions.UnreadableImageWarning` (an error if
        none can be read). At prediction time, the featurizer's
        ``on_error="nan"`` gives unreadable images NaN scores and a warning;
        NaN feature rows get NaN scores.
    fine_tune : bool or FineTuning, default=None
        Fine-tune the CNN on the training images and scores before
        extracting features (DeepBIQ's Exp III): True for
        :class:`FineTuning`'s defaults, or a :class:`FineTuning` (and, with
        ``featurizer=None``, EfficientNet-Lite2 features; see ``featurizer``). A shorthand
        for the featurizer's own ``fine_tune``, which does the work: ``fit``
        hands it to its featurizer's clone. None keeps the featurizer's
        setting; setting both to different recipes is an error. Inside
        ``cross_validate`` the network is tuned on training folds only.

    Attributes
    ----------
    featurizer_ : CNNCropFeaturizer
        The fitted clone of ``featurizer``.
    head_ : TransformedTargetRegressor
        The fitted estimator between features and scores; print it.
    regressor_ : regressor
        The fitted clone of ``regressor``, the last step of ``head_``.
    scaler_ : StandardScaler or None
        The feature scaler of ``head_`` (None unless ``standardize``).
    y_mean_, y_scale_ : float
        Mean and standard deviation (1 if constant) of the training scores,
        from ``head_``'s target scaler (0 and 1 unless ``standardize``).
    n_crops_ : int
        Crops per image.
    n_features_in_ : int
        Features per image (``n_crops_ * n_features_per_crop``), with
        ``featurizer="precomputed"`` only.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names of a DataFrame of precomputed features.
    training_fingerprints_ : ndarray of shape (n_training_images,) of uint64 or None
        A fingerprint of each training image that could be read (8 bytes of
        BLAKE2b of a file's bytes, or of an array's shape and pixels), kept
        by model files: :func:`~skdeepbiq.training_overlap` counts the
        images of ``X`` the model was trained on. None with
        ``featurizer="precomputed"`` and for files saved without them.
    calibration_ : Bunch
        After :meth:`calibrate` (or in a calibrated model file): the
        conformity ``scores`` of the calibration photos and their
        ``predictions``, the ``method``, ``beta`` and ``source``, from which
        :meth:`predict_interval` makes intervals.

    See Also
    --------
    CNNCropFeaturizer : The crop features.
    CropPooler : Feature pooling as a separate transformer.
    default_featurizer : The featurizer that None stands for.
    default_regressor : The regressor that None stands for.

    Notes
    -----
    Nested parameters (``set_params``, ``GridSearchCV``) are named
    ``featurizer__<name>`` (``featurizer__n_crops``,
    ``featurizer__memory``, ...) and ``regressor__<name>`` (the SVR's
    ``regressor__C``, on the standardised target scale). As in
    scikit-learn, a None sub-estimator is resolved in ``fit`` and has no
    parameters to set: pass the default to set its own,
    ``DeepBIQRegressor(featurizer=default_featurizer(memory="cache/"))`` or
    ``DeepBIQRegressor(regressor=default_regressor(C=1e-3))``.

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
        "fine_tune": ["boolean", FineTuning, None],
    }

    def __init__(
        self,
        featurizer=None,
        *,
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

    # it is given estimators, whose parameters must be validated too
    @_fit_context(prefer_skip_nested_validation=False)
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
        featurizer = self._sub_estimator("featurizer")
        featurizer = featurizer_to_fit(featurizer, self.fine_tune)
        self.__dict__.pop("calibration_", None)  # it belonged to the model before
        precomputed = isinstance(featurizer, PrecomputedCropFeatures)
        if not precomputed:
            X = check_images(X)  # a list: read again for the fingerprints
        features, y = training_features(
            featurizer, X, y, skip_unreadable=self.skip_unreadable
        )
        self.featurizer_ = featurizer
        self.n_crops_ = getattr(featurizer, "n_crops_", 1)
        self.training_fingerprints_ = (
            None if precomputed else fingerprint_images(X, skip_unreadable=True)
        )
        self.head_ = self._fitted_head(features, y)
        return self

    def _fitted_head(self, features, y):
        """A new head fitted on feature rows and their images' scores.

        With prediction fusion every crop is a row, labelled with its
        image's score.
        """
        rows, targets = features, y
        if self.fusion == "prediction":
            rows = features.reshape(len(features) * self.n_crops_, -1)
            targets = np.repeat(y, self.n_crops_)
        regressor = self._sub_estimator("regressor")
        scalers = (StandardScaler(), StandardScaler()) if self.standardize else ()
        head = self._make_head(clone(regressor), make_head, *scalers)
        return head.fit(rows, targets)

    def _make_head(self, regressor, build, scaler=None, target_scaler=None):
        """The head from ``build`` (:func:`make_head` or :func:`frozen_head`)."""
        n_crops = self.n_crops_ if self.fusion == "feature" else None
        parts = dict(scaler=scaler, target_scaler=target_scaler)
        return build(
            regressor, power=self.power, n_crops=n_crops, pooling=self.pooling, **parts
        )

    def _fitted_from_parts(
        self,
        *,
        featurizer,
        regressor,
        scaler_mean=None,
        scaler_scale=None,
        scaler_n_samples_seen=1,
        y_mean=0.0,
        y_scale=1.0,
        training_fingerprints=None,
        calibration=None,
    ):
        """This model fitted from parts fitted elsewhere: what ``load_model`` uses.

        Parameters
        ----------
        featurizer : CNNCropFeaturizer
            Fitted; becomes ``featurizer_``.
        regressor : regressor
            Fitted; becomes ``regressor_``.
        scaler_mean, scaler_scale, scaler_n_samples_seen : array-like, default=None, None, 1
            ``mean_``, ``scale_`` and ``n_samples_seen_`` of ``scaler_``.
        y_mean, y_scale : float, default=0.0 and 1.0
            ``y_mean_`` and ``y_scale_``. The scaling arguments are ignored when
            ``standardize`` is False.
        training_fingerprints : ndarray of shape (n_training_images,) of uint64, default=None
            Becomes ``training_fingerprints_``.
        calibration : Bunch, default=None
            Becomes ``calibration_`` (none when None).

        Returns
        -------
        self : DeepBIQRegressor
            This model, fitted; its ``head_`` holds the parts frozen.
        """
        self.featurizer_ = featurizer
        self.n_crops_ = featurizer.n_crops_
        self.training_fingerprints_ = training_fingerprints
        if calibration is not None:
            self.calibration_ = calibration
        scalers = ()
        if self.standardize:
            scalers = (
                fitted_scaler(scaler_mean, scaler_scale, scaler_n_samples_seen),
                fitted_scaler([y_mean], [y_scale]),
            )
        self.head_ = self._make_head(regressor, frozen_head, *scalers)
        return self

    def _sub_estimator(self, name):
        """``featurizer`` or ``regressor``, or its default when it is None.

        The defaults depend on ``fine_tune``, read here, at fit time (as
        ``TransformedTargetRegressor._get_regressor`` does).
        """
        value = getattr(self, name)
        if value is None:
            return _SUB_ESTIMATORS[name](fine_tune=self.fine_tune)
        return value

    def set_params(self, **params):
        """Set parameters, including nested ``featurizer__`` / ``regressor__`` ones.

        Nested parameters need a sub-estimator to set them on: when
        ``featurizer`` or ``regressor`` is None (its default is chosen in
        ``fit``, from ``fine_tune``), setting one raises a ValueError that
        says what to pass instead (:func:`default_featurizer`,
        :func:`default_regressor`).

        Parameters
        ----------
        **params : dict
            Parameter names mapped to their new values.

        Returns
        -------
        self : estimator
            This estimator.
        """
        for name, make_default in _SUB_ESTIMATORS.items():
            nested = sorted(key for key in params if key.startswith(f"{name}__"))
            if nested and params.get(name, getattr(self, name)) is None:
                key = nested[0]
                inner = key[len(name) + 2 :]
                tuned = (
                    ", fine_tune=True"
                    if tunes(params.get("fine_tune", self.fine_tune))
                    else ""
                )
                raise ValueError(
                    f"Cannot set {key!r}: {name} is None, so its default is "
                    f"chosen in fit, from fine_tune. Pass the default with "
                    f"your {inner!r} instead: {name}={make_default.__name__}("
                    f"{inner}=...{tuned}), from skdeepbiq."
                )
        return super().set_params(**params)

    @property
    def regressor_(self):
        """The fitted regressor, the last step of ``head_``."""
        return unfrozen(self.head_.regressor_.named_steps["regressor"])

    @property
    def scaler_(self):
        """The fitted feature scaler (``"scale"`` step of ``head_``), or None."""
        scaler = self.head_.regressor_.named_steps["scale"]
        return None if isinstance(scaler, str) else unfrozen(scaler)

    @property
    def y_mean_(self) -> float:
        """Mean of the training scores, or 0.0 without target scaling."""
        if self.head_.transformer is None:
            return 0.0
        return float(unfrozen(self.head_.transformer_).mean_[0])

    @property
    def y_scale_(self) -> float:
        """Standard deviation of the training scores (1.0 when constant or unscaled)."""
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
                f"only a {type(self).__name__} fitted on precomputed features "
                "has n_features_in_ and feature_names_in_"
            )
        return featurizer

    def _features(self, X) -> np.ndarray:
        """``featurizer_``'s rows of images (as a list) or precomputed features."""
        if not isinstance(self.featurizer_, PrecomputedCropFeatures):
            X = check_images(X)
        return self.featurizer_.transform(X)

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
        return score_crops(self.head_, self.n_crops_, self._features(X))

    def crop_scores(self, X, *, dense_stride=None):
        """Each image's crops: where they are, their scores, the pooled score.

        What :meth:`predict` pools, laid out per image, to see where an image
        is good or bad. Boxes and features come from one pass over the images.

        Parameters
        ----------
        X : sequence of images
            Paths, PIL images or HxWxC uint8 arrays.
        dense_stride : int, default=None
            Score, instead of the model's own crops, a grid covering each
            image with at most ``dense_stride`` pixels between neighbouring
            crops (what :func:`skdeepbiq.quality_maps` maps).

        Returns
        -------
        crops : list of :class:`~sklearn.utils.Bunch`
            One per image: ``boxes``, ndarray of shape (`n_crops_`, 4), each
            crop's ``(left, top, right, bottom)`` in the image's own pixels
            (see :meth:`CNNCropFeaturizer.get_crop_boxes`); ``scores``,
            ndarray of shape (`n_crops_`,), a row of :meth:`predict_crops`;
            ``score``, float, the image's :meth:`predict` value; ``shape``,
            its ``(height, width)``. With ``on_error="nan"``, unreadable
            images get NaN (no crops in a dense grid) and one warning.

        Raises
        ------
        ValueError
            With ``fusion="feature"`` or ``"concatenation"`` (crops have no
            scores of their own) or precomputed features (no crop positions).

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
        >>> crops[0].boxes.shape, crops[0].scores.shape, crops[0].shape
        ((3, 4), (3,), (48, 64))
        """
        self._check_crop_fusion("crop_scores")
        if not isinstance(self.featurizer_, CNNCropFeaturizer):
            raise ValueError(
                "crop_scores needs a CNNCropFeaturizer that cuts the crops from "
                f"images; featurizer={self.featurizer!r} gives no crop positions"
            )
        images = check_images(X)
        extracted = self.featurizer_.extract(
            images, return_boxes=True, dense_stride=dense_stride
        )
        if failures := extracted.failures:
            nan = "their boxes and scores are NaN"
            warning = UnreadableImageWarning.from_failures(failures, len(images), nan)
            warnings.warn(warning, stacklevel=2)
        return crop_score_bunches(
            self.head_, extracted, n_crops=self.n_crops_, pooling=self.pooling
        )

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
            features.
        """
        check_is_fitted(self, "head_")
        return self._scores_and_spreads(self.head_, self._features(X))[0]

    def _scores_and_spreads(self, head, features):
        """``head``'s scores of feature rows, and their crops' spreads (or None)."""
        if self.fusion == "prediction":
            crops = score_crops(head, self.n_crops_, features)
            return pool_crop_scores(crops, self.pooling), crop_spread(crops)
        return score_rows(head, features), None

    def calibrate(self, X, y, *, cv=None, method=DEFAULT_INTERVALS):
        """Calibrate :meth:`predict_interval` on photos the model did not learn from.

        Conformal prediction: the model's errors on photos that neither its
        network's tuning nor its head saw set the width of its intervals, so
        that they hold the true score of a new photo like them with the
        confidence asked for (see :doc:`/user_guide/intervals`).

        Parameters
        ----------
        X : sequence of images, or array-like of crop features
            With ``cv=None``: held-out photos, not among those the model was
            fitted on (split conformal prediction: the coverage holds in
            finite samples). With ``cv``: the photos the model was fitted
            on, as given to ``fit``.
        y : array-like of shape (n_images,)
            Their true scores.
        cv : int, cross-validation generator or iterable, default=None
            Out-of-fold predictions instead of held-out photos: the head is
            fitted again on each training part of ``X`` and predicts the
            rest, from the features of the fitted network (cached with
            ``memory``). Only for a network that was not tuned (the tuned
            network has seen every photo of ``X``); a tuned model needs
            held-out photos.
        method : {"score_bins", "absolute", "crop_spread"}, default="score_bins"
            ``"absolute"``: the conformity score is the absolute error, and
            every interval has one width. ``"crop_spread"``: the error divided
            by the spread of the photo's crop scores (plus their median), so
            that intervals widen where the crops disagree; prediction fusion
            only. ``"score_bins"``: the absolute error within the photo's
            third of the predicted scores (Mondrian conformal prediction),
            so that the coverage holds for low, middle and high scores
            alike and the width follows how hard each range is.

        Returns
        -------
        self : DeepBIQRegressor
            This model, with ``calibration_``.
        """
        check_is_fitted(self, "head_")
        y = column_or_1d(np.asarray(y, dtype=np.float64), warn=True)
        features = self._features(X)
        if len(features) != len(y):
            raise ValueError(f"{len(features)} images for {len(y)} scores: one each")
        if cv is None:
            predictions, spread = self._scores_and_spreads(self.head_, features)
            source = "held-out"
        else:
            if tunes(getattr(self.featurizer_, "fine_tune", None)):
                raise ValueError(
                    "calibrate(cv=...) refits the head on parts of the training "
                    "photos, but this model's network was tuned on all of them, "
                    "so their errors would be too small: calibrate on held-out "
                    "photos (cv=None) instead"
                )
            predictions, spread = self._out_of_fold(features, y, cv)
            source = "cross-validation"
        self.calibration_ = make_calibration(
            y, predictions, spread=spread, method=method, source=source
        )
        return self

    def _out_of_fold(self, features, y, cv):
        """Each photo's prediction by a head fitted without it, and its spread."""
        predictions = np.full(len(y), np.nan)
        spread = np.full(len(y), np.nan) if self.fusion == "prediction" else None
        for train, test in check_cv(cv).split(features, y):
            head = self._fitted_head(features[train], y[train])
            scores, spreads = self._scores_and_spreads(head, features[test])
            predictions[test] = scores
            if spread is not None:
                spread[test] = spreads
        return predictions, spread

    def calibrate_from_predictions(
        self, y, y_pred, *, spread=None, method=DEFAULT_INTERVALS, source="given"
    ):
        """Calibrate :meth:`predict_interval` from out-of-sample predictions made elsewhere.

        For predictions of your own protocol, e.g. the test predictions of
        each split of a cross-validation in which the network was tuned on
        the training photos only (how the pretrained model was calibrated).

        Parameters
        ----------
        y : array-like of shape (n_images,)
            True scores.
        y_pred : array-like of shape (n_images,)
            Predictions of models that did not learn from those photos.
        spread : array-like of shape (n_images,), default=None
            The standard deviation of each photo's crop scores under the same
            models; needed by ``method="crop_spread"``.
        method : {"score_bins", "absolute", "crop_spread"}, default="score_bins"
            See :meth:`calibrate`.
        source : str, default="given"
            Where the predictions come from, kept in ``calibration_``.

        Returns
        -------
        self : DeepBIQRegressor
            This model, with ``calibration_``.
        """
        check_is_fitted(self, "head_")
        self.calibration_ = make_calibration(
            y, y_pred, spread=spread, method=method, source=source
        )
        return self

    def predict_interval(self, X, confidence=0.9):
        """Prediction intervals that hold the true score with ``confidence``.

        Parameters
        ----------
        X : sequence of images, or array-like of crop features
            As in :meth:`predict`.
        confidence : float, default=0.9
            The probability that an interval holds the photo's true score,
            for photos like those of the calibration.

        Returns
        -------
        intervals : ndarray of shape (n_images, 2)
            Lower and upper bounds, on the scale of ``y``, around
            :meth:`predict`'s scores; infinite, with a warning, when the
            calibration holds too few photos for ``confidence``; NaN for
            unreadable images.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            When the model has no calibration (:meth:`calibrate`).
        """
        check_is_fitted(self, "head_")
        if not hasattr(self, "calibration_"):
            raise NotFittedError(
                "this DeepBIQRegressor is not calibrated: call calibrate() with "
                "held-out photos (or cv=5 for an untuned network) before "
                "predict_interval"
            )
        reason = shortfall(self.calibration_, confidence)
        if reason is not None:
            warnings.warn(
                f"the intervals are infinite: {reason}. Calibrate on more "
                "photos, or ask for a lower confidence",
                SkDeepBIQWarning,
                stacklevel=2,
            )
        predictions, spread = self._scores_and_spreads(self.head_, self._features(X))
        return intervals(self.calibration_, predictions, spread, confidence)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Precomputed features are 2-D and 3-D arrays of numbers (so that
        # scikit-learn's checks run on them); otherwise X is a list of images.
        precomputed = isinstance(self.featurizer, str)  # "precomputed"
        tags.input_tags.two_d_array = precomputed
        tags.input_tags.three_d_array = precomputed
        tags.input_tags.one_d_array = not precomputed
        tags.input_tags.string = not precomputed
        # The default C suits standardised CNN features, not every toy problem.
        tags.regressor_tags.poor_score = True
        return tags


# The head --------------------------------------------------------------------
# The head of DeepBIQRegressor: scikit-learn's estimators after the featurizer.
#
# Between the crop features and the scores, a :class:`DeepBIQRegressor` runs
# one scikit-learn estimator, its head::
#
#     TransformedTargetRegressor(           # target scaling
#         Pipeline([
#             ("power", FunctionTransformer(signed_power)),  # power normalisation
#             ("pool", CropPooler(n_crops, pooling)),        # feature fusion only
#             ("scale", StandardScaler()),                   # feature scaling
#             ("regressor", LinearSVR(...)),
#         ]),
#         transformer=StandardScaler(),
#     )
#
# ``make_head`` builds it unfitted; ``frozen_head`` builds a fitted one from
# parts fitted elsewhere (a model read from a file), and ``fitted_scaler`` a
# fitted :class:`~sklearn.preprocessing.StandardScaler` from its statistics.
# ``score_rows``, ``score_crops`` and ``crop_score_bunches`` score feature
# rows, NaN rows included; ``unfrozen`` unwraps a frozen part, so that the
# regressor's ``regressor_``, ``scaler_``, ``y_mean_`` and ``y_scale_`` read
# the fitted parts of its ``head_``.


def signed_power(features: np.ndarray, power: float) -> np.ndarray:
    """Power normalisation ``sign(x) * |x| ** power`` of each feature.

    Parameters
    ----------
    features : ndarray of shape (n_rows, n_features)
        Crop or image features.
    power : float
        The exponent; 1.0 returns ``features`` unchanged.

    Returns
    -------
    normalised : ndarray of shape (n_rows, n_features)
        Same dtype as ``features``.
    """
    if power == 1.0:
        return features
    return np.sign(features) * np.abs(features) ** power


def make_head(
    regressor,
    *,
    power: float,
    n_crops: int | None = None,
    pooling: str = "mean",
    scaler=None,
    target_scaler=None,
) -> TransformedTargetRegressor:
    """The unfitted head: power, pooling, scaling, regressor, target scaling.

    Parameters
    ----------
    regressor : regressor
        The last step, e.g. a ``LinearSVR``.
    power : float
        Exponent of :func:`signed_power`.
    n_crops : int, default=None
        Crops per row to pool with a :class:`CropPooler` (feature fusion);
        None for no pooling step (prediction fusion and concatenation).
    pooling : {"mean", "min", "max"}, default="mean"
        The pooler's reduction.
    scaler : transformer, default=None
        The feature scaling step; None for none.
    target_scaler : transformer, default=None
        Transformer of the target; None for none (identity).

    Returns
    -------
    head : TransformedTargetRegressor
        Wrapping ``Pipeline([("power", ...), ("pool", ...), ("scale", ...),
        ("regressor", regressor)])``.
    """
    power_step = FunctionTransformer(
        signed_power, kw_args={"power": power}, feature_names_out="one-to-one"
    )
    steps = [("power", power_step)]
    if n_crops is not None:
        steps.append(("pool", CropPooler(n_crops=n_crops, pooling=pooling)))
    steps.append(("scale", "passthrough" if scaler is None else scaler))
    steps.append(("regressor", regressor))
    return TransformedTargetRegressor(Pipeline(steps), transformer=target_scaler)


def fitted_scaler(mean, scale, n_samples_seen=1) -> StandardScaler:
    """A fitted StandardScaler with the given statistics.

    Parameters
    ----------
    mean, scale : array-like of shape (n_features,)
        Its ``mean_`` and ``scale_``.
    n_samples_seen : int or array-like of shape (n_features,), default=1
        Its ``n_samples_seen_`` (it does not change what it computes).

    Returns
    -------
    scaler : StandardScaler
        ``transform`` gives ``(X - mean) / scale``.
    """
    scaler = StandardScaler()
    scaler.mean_ = np.asarray(mean, dtype=np.float64)
    scaler.scale_ = np.asarray(scale, dtype=np.float64)
    scaler.var_ = scaler.scale_**2
    scaler.n_samples_seen_ = n_samples_seen
    scaler.n_features_in_ = len(scaler.mean_)
    return scaler


class FrozenTarget(FrozenEstimator):
    """A frozen target transformer: TransformedTargetRegressor fits it on y alone."""

    def fit(self, X, y=None, *args, **kwargs):
        """No-op (see :class:`~sklearn.frozen.FrozenEstimator`).

        Parameters
        ----------
        X : array-like
            Ignored (the target, for a target transformer).
        y : None
            Ignored.
        *args, **kwargs
            Ignored.

        Returns
        -------
        self : FrozenTarget
            This estimator.
        """
        return super().fit(X, y, *args, **kwargs)


def frozen_head(
    regressor, *, scaler=None, target_scaler=None, **steps
) -> TransformedTargetRegressor:
    """A fitted head made of fitted parts, which are frozen.

    The parts keep what they learnt: ``regressor`` and ``scaler`` are wrapped
    in :class:`~sklearn.frozen.FrozenEstimator`, ``target_scaler`` in
    :class:`FrozenTarget`; the stateless steps (power, pooling) are fitted on
    one placeholder row.

    Parameters
    ----------
    regressor : regressor
        Fitted; ``n_features_in_`` gives the width of its rows.
    scaler, target_scaler : StandardScaler or None, default=None
        Fitted scalers, or None for none.
    **steps
        ``power``, ``n_crops`` and ``pooling``, as for :func:`make_head`.

    Returns
    -------
    head : TransformedTargetRegressor
        Fitted: ``predict`` works at once.
    """
    head = make_head(
        FrozenEstimator(regressor),
        scaler=None if scaler is None else FrozenEstimator(scaler),
        target_scaler=None if target_scaler is None else FrozenTarget(target_scaler),
        **steps,
    )
    width = regressor.n_features_in_ * (steps.get("n_crops") or 1)
    return head.fit(np.zeros((1, width)), np.zeros(1))


def score_rows(head, rows: np.ndarray) -> np.ndarray:
    """The head's scores of ``rows``; NaN for rows with non-finite features.

    Parameters
    ----------
    head : TransformedTargetRegressor
        Fitted.
    rows : ndarray of shape (n_rows, n_features)
        Feature rows, some of them NaN (unreadable images).

    Returns
    -------
    scores : ndarray of shape (n_rows,)
        float64.
    """
    finite = np.isfinite(rows).all(axis=1)
    scores = np.full(len(rows), np.nan)
    if finite.any():
        scores[finite] = head.predict(rows[finite])
    return scores


def score_crops(head, n_crops: int, features: np.ndarray) -> np.ndarray:
    """The head's score of each crop of the featurizer's rows.

    Parameters
    ----------
    head : TransformedTargetRegressor
        Fitted on crop rows (prediction fusion).
    n_crops : int
        Crops per row of ``features``.
    features : ndarray of shape (n_images, n_crops * n_features)
        Crop features, crop after crop.

    Returns
    -------
    scores : ndarray of shape (n_images, n_crops)
        NaN for crops with non-finite features.
    """
    rows = features.reshape(len(features) * n_crops, -1)
    return score_rows(head, rows).reshape(len(features), n_crops)


def crop_score_bunches(head, extracted, *, n_crops: int, pooling: str) -> list:
    """Per image: its crops' boxes and scores, their pooled score, its size.

    Parameters
    ----------
    head : TransformedTargetRegressor
        Fitted on crop rows (prediction fusion).
    extracted : Bunch
        What :meth:`CNNCropFeaturizer.extract` returns with
        ``return_boxes=True``: ``features`` as rows of ``n_crops`` crops, or
        (dense grid) a list of (n_crops_i, n_features) arrays, None for
        unreadable images; ``boxes`` and ``shapes`` of each image.
    n_crops : int
        Crops per row of an array of ``features``.
    pooling : {"mean", "min", "max"}
        Reduction of an image's crop scores.

    Returns
    -------
    crops : list of Bunch
        ``boxes`` (n_crops_i, 4), ``scores`` (n_crops_i,), ``score`` (float,
        NaN without scores) and ``shape`` ((height, width), or None).
    """
    features = extracted.features
    if isinstance(features, np.ndarray):
        scores = list(score_crops(head, n_crops, features))
    else:  # a dense grid: crop counts differ between images
        counts = [0 if crops is None else len(crops) for crops in features]
        rows = [crops for crops in features if crops is not None]
        flat = score_rows(head, np.concatenate(rows)) if rows else np.empty(0)
        scores = np.split(flat, np.cumsum(counts)[:-1])
    return [
        Bunch(
            boxes=np.empty((0, 4)) if boxes is None else boxes,
            scores=image_scores,
            score=float(pool_crop_scores(image_scores[None], pooling)[0])
            if len(image_scores)
            else np.nan,
            shape=shape,
        )
        for boxes, image_scores, shape in zip(
            extracted.boxes, scores, extracted.shapes, strict=True
        )
    ]


def unfrozen(estimator):
    """The estimator inside a FrozenEstimator, or ``estimator`` itself."""
    if isinstance(estimator, FrozenEstimator):
        return estimator.estimator
    return estimator


# Training data ---------------------------------------------------------------
# What a DeepBIQRegressor learns from: readable images, finite features, scores.
#
# ``fit`` refuses unreadable images (and feature rows that are not finite)
# with one :class:`~skdeepbiq.exceptions.ImageReadError` naming each, raised
# before the network runs whenever the problem shows without decoding; with
# ``skip_unreadable=True`` it leaves them out with one
# :class:`~skdeepbiq.exceptions.UnreadableImageWarning`.


def featurizer_to_fit(featurizer, fine_tune):
    """A clone of the regressor's ``featurizer``, given its ``fine_tune``.

    Parameters
    ----------
    featurizer : transformer or "precomputed"
        The regressor's featurizer, its default already in place of None
        (:func:`~skdeepbiq.default_featurizer`).
    fine_tune : bool, FineTuning or None
        The regressor's ``fine_tune``: None leaves the featurizer's own
        setting; otherwise it is checked (:func:`check_fine_tuning`) and
        becomes the clone's ``fine_tune``, and a featurizer whose own
        ``fine_tune`` gives another recipe is an error (True and
        ``FineTuning()`` are the same recipe, as are None and False).

    Returns
    -------
    featurizer : transformer
        Unfitted; :class:`PrecomputedCropFeatures` for ``"precomputed"``.
    """
    if fine_tune is not None:
        recipe = check_fine_tuning(fine_tune)  # a bad recipe fails here, at once
        if not isinstance(featurizer, CNNCropFeaturizer):
            raise ValueError(
                f"fine_tune needs a CNNCropFeaturizer; got featurizer={featurizer!r}"
            )
    if isinstance(featurizer, str):  # "precomputed"
        return PrecomputedCropFeatures()
    featurizer = clone(featurizer)
    if fine_tune is None:
        return featurizer
    own = featurizer.get_params()["fine_tune"]
    if own is not None and _fingerprint(check_fine_tuning(own)) != _fingerprint(recipe):
        raise ValueError(
            f"fine_tune is set both on DeepBIQRegressor (fine_tune={fine_tune!r}) "
            f"and on its featurizer (featurizer__fine_tune={own!r}), to different "
            "recipes: set only one of them"
        )
    return featurizer.set_params(fine_tune=clone(fine_tune, safe=False))


def _fingerprint(value) -> str:
    """A hash of a recipe, equal for equal parameters."""
    return joblib.hash(clone(value, safe=False))


def check_scores(y, n_images: int) -> np.ndarray:
    """``y`` as a finite float vector with one score per image.

    Parameters
    ----------
    y : array-like of shape (n_images,)
        Quality scores.
    n_images : int
        Number of images of ``X``.

    Returns
    -------
    y : ndarray of shape (n_images,)
        float64.
    """
    if y is None:
        raise ValueError(
            "y is required: one quality score per image (DeepBIQRegressor "
            "requires y to be passed, but the target y is None)"
        )
    try:
        y = column_or_1d(np.asarray(y, dtype=np.float64), warn=True)
    except (TypeError, ValueError) as error:
        raise ValueError(f"y must be a 1-D array of numbers: {error}") from error
    if len(y) != n_images:
        raise ValueError(f"y has {len(y)} scores but X has {n_images} images")
    bad = np.flatnonzero(~np.isfinite(y))
    if len(bad):
        kind = "NaN" if np.isnan(y[bad[0]]) else "infinity"
        raise ValueError(
            f"Input y contains {kind}: y must be finite; y[{bad[0]}] = {y[bad[0]]} "
            f"({len(bad)} non-finite value(s) at indices {bad[:10].tolist()})"
        )
    return y


def training_features(
    featurizer, X, y, *, skip_unreadable: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Fit ``featurizer``; the feature rows and scores of the usable images.

    Parameters
    ----------
    featurizer : transformer
        Unfitted: a :class:`CNNCropFeaturizer` (its ``extract`` reports
        unreadable images), :class:`PrecomputedCropFeatures`, or any
        transformer of images.
    X : sequence of images, or array of crop features
        As given to the regressor's ``fit``.
    y : array-like of shape (n_images,)
        Quality scores, checked here.
    skip_unreadable : bool
        Leave unusable images out with a warning instead of raising.

    Returns
    -------
    features : ndarray of shape (n_usable, n_features)
        Finite feature rows of the usable images.
    y : ndarray of shape (n_usable,)
        Their scores.
    """
    if isinstance(featurizer, PrecomputedCropFeatures):
        features = featurizer.fit_transform(X)
        y = check_scores(y, len(features))
        kept = list(range(len(features)))

        def row(index: int) -> np.ndarray:  # described by its shape, as images are
            return np.asarray(X)[index]

        return _usable(features, y, [], [], kept, row, skip_unreadable)
    images = check_images(X)
    y = check_scores(y, len(images))
    failures = check_readable(images)
    if failures and not skip_unreadable:
        raise ImageReadError.from_failures(
            failures,
            context=" (checked before running the network; use "
            "skip_unreadable=True to leave them out)",
        )
    failed = {failure.index for failure in failures}
    kept = [index for index in range(len(images)) if index not in failed]
    if not kept:
        _refuse_all(failures)
    kept_images = [images[index] for index in kept]
    if isinstance(featurizer, CNNCropFeaturizer):
        featurizer.fit(kept_images, y[kept])
        on_error = "nan" if skip_unreadable else "raise"
        result = featurizer.extract(kept_images, on_error=on_error)
        features, late = result.features, result.failures
    else:
        features = np.asarray(featurizer.fit_transform(kept_images, y[kept]))
        late = []
    late = [ImageFailure(kept[f.index], f.description, f.reason) for f in late]
    return _usable(
        features, y, failures, late, kept, images.__getitem__, skip_unreadable
    )


def _usable(
    features: np.ndarray,
    y: np.ndarray,
    failures: list[ImageFailure],
    late: list[ImageFailure],
    kept: list[int],
    image: Callable[[int], object],
    skip_unreadable: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``features`` (of images ``kept``) that are finite, and their scores.

    ``failures`` were found before featurizing, ``late`` while featurizing;
    rows that are not finite are added to ``late``; all of them raise, or
    are skipped with one warning.
    """
    late_indices = {failure.index for failure in late}
    for position in np.flatnonzero(~np.isfinite(features).all(axis=1)).tolist():
        if kept[position] not in late_indices:
            description = image_description(image(kept[position]))
            reason = "its features are not finite (NaN or inf)"
            late.append(ImageFailure(kept[position], description, reason))
    if late and not skip_unreadable:
        raise ImageReadError.from_failures(
            sorted(late), context=" (use skip_unreadable=True to leave them out)"
        )
    n_images = len(y)
    failures = sorted(failures + late)
    if len(failures) == n_images:
        _refuse_all(failures)
    if failures:
        warnings.warn(
            UnreadableImageWarning(
                f"fit skipped {len(failures)} of {n_images} images that "
                "could not be read:\n" + format_failures(failures),
                failures,
            ),
            stacklevel=4,
        )
    late_indices = {failure.index for failure in late}
    usable = np.array([index not in late_indices for index in kept], dtype=bool)
    return features[usable], y[kept][usable]


def _refuse_all(failures: list[ImageFailure]):
    raise ImageReadError(
        f"none of the {len(failures)} images can be read:\n"
        + format_failures(failures),
        failures,
    )
