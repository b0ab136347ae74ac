"""Conformal prediction intervals from out-of-sample conformity scores.

Split conformal prediction (Vovk et al., 2005; Lei et al., 2018): the
absolute errors of predictions on photos the model never saw, sorted, give
an interval ``prediction ± q`` that holds the true score with probability at
least ``confidence`` for a new photo exchangeable with them, where ``q`` is
their ``ceil((n + 1) * confidence)``-th smallest. With ``"crop_spread"``, the
errors are first divided by each photo's difficulty, the spread of its crop
scores plus a constant, and the interval scales with the new photo's spread
(normalised conformity scores, Papadopoulos et al., 2008): as wide as the
crops disagree. With ``"score_bins"``, the calibration photos are split in
three bins by their predicted score (low, middle, high thirds), and a new
photo's interval comes from the errors of its bin only (Mondrian conformal
prediction, Vovk et al., 2005): the coverage holds within each bin, where
errors differ, not only on average.

The functions here work on plain arrays; :meth:`DeepBIQRegressor.calibrate`
and :meth:`DeepBIQRegressor.predict_interval` use them, and model files keep
the scores as an array.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.utils import Bunch

#: How conformity scores are made: the plain absolute error; the error
#: divided by the spread of the photo's crop scores (plus ``beta``); or the
#: absolute error within the photo's third of the predicted scores.
METHODS = ("absolute", "crop_spread", "score_bins")

#: The number of bins of predicted scores of ``"score_bins"``.
N_BINS = 3


def crop_spread(crop_scores: np.ndarray) -> np.ndarray:
    """Standard deviation of each photo's crop scores, shape (n_images,)."""
    crop_scores = np.asarray(crop_scores, dtype=np.float64)
    if crop_scores.ndim != 2:
        raise ValueError(
            f"crop scores must be of shape (n_images, n_crops), not {crop_scores.shape}"
        )
    return crop_scores.std(axis=1)


def make_calibration(y_true, y_pred, *, spread=None, method="absolute", source):
    """The calibration of a model from its out-of-sample predictions.

    Parameters
    ----------
    y_true : array-like of shape (n_images,)
        The true scores.
    y_pred : array-like of shape (n_images,)
        The model's predictions of photos it was not fitted on.
    spread : array-like of shape (n_images,), default=None
        Each photo's crop-score spread (:func:`crop_spread`); needed by
        ``method="crop_spread"``.
    method : {"absolute", "crop_spread"}, default="absolute"
        How conformity scores are made.
    source : str
        Where the predictions come from, kept for the record
        (``"held-out"``, ``"cross-validation"``, ...).

    Returns
    -------
    calibration : Bunch
        ``scores`` (finite, in the order given), ``predictions`` (those of
        the scores), ``method``, ``beta`` (the constant added to spreads:
        their median, 0 otherwise), ``source``.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    y_true = np.asarray(y_true, dtype=np.float64).ravel()
    y_pred = np.asarray(y_pred, dtype=np.float64).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"{len(y_true)} true scores for {len(y_pred)} predictions: one each"
        )
    errors = np.abs(y_true - y_pred)
    beta = 0.0
    if method == "crop_spread":
        if spread is None:
            raise ValueError(
                "method='crop_spread' needs each photo's crop scores (fusion="
                "'prediction'); use method='absolute' otherwise"
            )
        spread = np.asarray(spread, dtype=np.float64).ravel()
        if spread.shape != errors.shape:
            raise ValueError(f"{len(spread)} spreads for {len(errors)} predictions")
        beta = float(np.nanmedian(spread))
        errors = errors / (spread + beta)
    finite = np.isfinite(errors)
    if not finite.any():
        raise ValueError("no finite prediction to calibrate on")
    return Bunch(
        scores=errors[finite],
        predictions=y_pred[finite],
        method=method,
        beta=beta,
        source=source,
    )


def check_confidence(confidence) -> None:
    """A ValueError unless ``confidence`` is a probability strictly in (0, 1)."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), not {confidence!r}")


def conformal_quantile(scores: np.ndarray, confidence: float) -> float:
    """The ``ceil((n + 1) * confidence)``-th smallest of ``n`` scores.

    Infinite when ``n`` is too small for ``confidence`` (fewer than
    ``confidence / (1 - confidence)`` scores): no finite interval has that
    guarantee.
    """
    check_confidence(confidence)
    rank = math.ceil((len(scores) + 1) * confidence)
    if rank > len(scores):
        return math.inf
    return float(np.partition(np.asarray(scores), rank - 1)[rank - 1])


def score_bin_edges(predictions: np.ndarray) -> np.ndarray:
    """The cut points of the calibration's predicted scores into ``N_BINS`` bins."""
    return np.quantile(predictions, np.arange(1, N_BINS) / N_BINS)


def score_groups(calibration) -> list[np.ndarray]:
    """The conformity scores that each interval draws on, one array per group.

    One group, all the scores, except with ``"score_bins"``: one per bin of
    predicted scores, lowest first.
    """
    if calibration.method != "score_bins":
        return [calibration.scores]
    edges = score_bin_edges(calibration.predictions)
    own = np.searchsorted(edges, calibration.predictions, side="right")
    return [calibration.scores[own == b] for b in range(N_BINS)]


def fewest_scores(confidence: float) -> int:
    """The fewest scores whose :func:`conformal_quantile` is finite."""
    check_confidence(confidence)
    n = max(1, math.floor(confidence / (1 - confidence)) - 1)
    while math.ceil((n + 1) * confidence) > n:  # the very test of the quantile
        n += 1
    return n


def shortfall(calibration, confidence: float) -> str | None:
    """Why ``calibration`` gives infinite intervals at ``confidence``, else None.

    Parameters
    ----------
    calibration : Bunch
        As :func:`make_calibration` returns.
    confidence : float
        The intervals' confidence, in (0, 1).

    Returns
    -------
    reason : str or None
        A sentence that gives the photos held, the photos needed and the
        highest confidence the calibration supports; None when every
        interval is finite.
    """
    needed = fewest_scores(confidence)
    held = min(len(scores) for scores in score_groups(calibration))
    if held >= needed:
        return None
    where = (
        "the calibration"
        if calibration.method != "score_bins"
        else "the smallest third of the calibration (by predicted score)"
    )
    highest = math.floor(1000 * held / (held + 1)) / 1000
    return (
        f"{where} holds {held} photos, and a {confidence:g} interval needs at "
        f"least {needed}; the highest confidence it supports is {highest:g}"
    )


def intervals(calibration, predictions, spread, confidence) -> np.ndarray:
    """Lower and upper bounds, shape (n_images, 2), around ``predictions``."""
    predictions = np.asarray(predictions, dtype=np.float64)
    quantiles = np.array(
        [conformal_quantile(scores, confidence) for scores in score_groups(calibration)]
    )
    if calibration.method == "score_bins":
        edges = score_bin_edges(calibration.predictions)
        bins = np.searchsorted(edges, np.nan_to_num(predictions), side="right")
        half = quantiles[bins]
    else:
        half = np.full(predictions.shape, quantiles[0])
        if calibration.method == "crop_spread":
            half = half * (np.asarray(spread, dtype=np.float64) + calibration.beta)
    return np.column_stack([predictions - half, predictions + half])
