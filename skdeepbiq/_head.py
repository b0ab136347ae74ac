"""The head of DeepBIQRegressor: scikit-learn's estimators after the featurizer.

Between the crop features and the scores, a :class:`DeepBIQRegressor` runs
one scikit-learn estimator, its head::

    TransformedTargetRegressor(           # target scaling
        Pipeline([
            ("power", FunctionTransformer(signed_power)),  # power normalisation
            ("pool", CropPooler(n_crops, pooling)),        # feature fusion only
            ("scale", StandardScaler()),                   # feature scaling
            ("regressor", LinearSVR(...)),
        ]),
        transformer=StandardScaler(),
    )

``make_head`` builds it unfitted; ``frozen_head`` builds a fitted one from
parts fitted elsewhere (a model read from a file), and ``fitted_scaler`` a
fitted :class:`~sklearn.preprocessing.StandardScaler` from its statistics.
``score_rows``, ``score_crops`` and ``crop_score_bunches`` score feature
rows, NaN rows included; ``unfrozen`` unwraps a frozen part, so that the
regressor's ``regressor_``, ``scaler_``, ``y_mean_`` and ``y_scale_`` read
the fitted parts of its ``head_``.
"""

from __future__ import annotations

import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.utils import Bunch

from ._pooling import CropPooler, pool_crop_scores


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
