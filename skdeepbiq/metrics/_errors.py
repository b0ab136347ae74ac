"""Error metrics in the units of the subjective scale: RMSE, MAE, nMAE, within k std."""

from __future__ import annotations

import warnings
from numbers import Real

import numpy as np

from ..exceptions import SkDeepBIQWarning
from ._correlation import check_scores


def rmse(y_true, y_pred):
    """Root mean squared error, in the units of the scores.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Subjective scores.
    y_pred : array-like of shape (n_samples,)
        Predicted scores.

    Returns
    -------
    loss : float
        ``sqrt(mean((y_pred - y_true) ** 2))``; 0 is a perfect prediction.

    Examples
    --------
    >>> from skdeepbiq.metrics import rmse
    >>> rmse([0, 0, 0, 0], [1, -1, 1, -1])
    1.0
    """
    y_true, y_pred = check_scores(y_true=y_true, y_pred=y_pred)
    return float(np.sqrt(np.mean((y_pred - y_true) ** 2)))


def mae(y_true, y_pred):
    """Mean absolute error, in the units of the scores.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Subjective scores.
    y_pred : array-like of shape (n_samples,)
        Predicted scores.

    Returns
    -------
    loss : float
        ``mean(abs(y_pred - y_true))``; 0 is a perfect prediction.

    Examples
    --------
    >>> from skdeepbiq.metrics import mae
    >>> mae([10, 20, 30], [12, 20, 25])
    2.3333333333333335
    """
    y_true, y_pred = check_scores(y_true=y_true, y_pred=y_pred)
    return float(np.mean(np.abs(y_pred - y_true)))


def nmae(y_true, y_pred, *, score_range=None):
    """Normalised mean absolute error: MAE divided by the range of the scores.

    ``nmae = mean(abs(y_pred - y_true)) / (max(y_true) - min(y_true))``

    Definitions of "normalised MAE" differ between papers (the range of the
    scores, their mean, or the width of the rating scale). Bianco et al.
    (2018) report an nMAE next to RMSE and MAE; this package's definition is
    the one above, the MAE as a fraction of the spread of the subjective
    scores being predicted, which makes it free of the scale's units (0-100
    MOS, 1-5 MOS or 0-1 DMOS). Pass ``score_range`` to normalise by a fixed
    width instead, e.g. ``score_range=100`` for the 0-100 CLIVE scale, so
    that values are comparable between test sets.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Subjective scores.
    y_pred : array-like of shape (n_samples,)
        Predicted scores.
    score_range : float, default=None
        Width to divide by. None means ``max(y_true) - min(y_true)``.

    Returns
    -------
    loss : float
        The normalised MAE; 0 is a perfect prediction. ``nan`` (with a
        ``SkDeepBIQWarning``) when ``score_range`` is None and ``y_true``
        is constant, so that its range is zero.

    Examples
    --------
    >>> from skdeepbiq.metrics import nmae
    >>> nmae([0, 50, 100], [10, 50, 90])
    0.06666666666666667
    >>> nmae([20, 50, 60], [10, 50, 90], score_range=100)
    0.13333333333333333
    """
    y_true, y_pred = check_scores(y_true=y_true, y_pred=y_pred)
    if score_range is None:
        score_range = float(np.ptp(y_true))
        if score_range == 0:
            warnings.warn(
                "nMAE is undefined (y_true is constant, so its range is 0); "
                "returning nan. Pass score_range to normalise by a fixed width.",
                SkDeepBIQWarning,
                stacklevel=2,
            )
            return float("nan")
    elif not isinstance(score_range, Real) or not score_range > 0:
        raise ValueError(
            f"score_range must be a positive number or None, got {score_range!r}"
        )
    return float(np.mean(np.abs(y_pred - y_true)) / score_range)


def within_k_std(y_true, y_pred, mos_std, k=1):
    """Share of images predicted within ``k`` standard deviations of their MOS.

    An image counts when ``abs(y_pred - y_true) <= k * mos_std``, where
    ``mos_std`` is the standard deviation of that image's individual
    ratings: the error is measured in units of human disagreement. Bianco
    et al. (2018) report this share for k = 1, 2 and 3 on CLIVE.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Mean opinion scores.
    y_pred : array-like of shape (n_samples,)
        Predicted scores.
    mos_std : array-like of shape (n_samples,)
        Standard deviation of the ratings of each image, on the same scale
        as ``y_true``. Must be non-negative.
    k : float, default=1
        Number of standard deviations; non-negative.

    Returns
    -------
    share : float
        Fraction of images in [0, 1] (not a percentage).

    Notes
    -----
    To use it as a scorer, ``mos_std`` must travel with the samples through
    cross-validation; see :func:`get_scorer` with ``"within_1_std"``, which
    relies on scikit-learn's metadata routing.

    Examples
    --------
    >>> from skdeepbiq.metrics import within_k_std
    >>> within_k_std([50, 60, 70, 80], [55, 70, 70, 60], mos_std=[5, 5, 5, 5])
    0.5
    >>> within_k_std([50, 60, 70, 80], [55, 70, 70, 60], [5, 5, 5, 5], k=2)
    0.75
    """
    y_true, y_pred, mos_std = check_scores(
        y_true=y_true, y_pred=y_pred, mos_std=mos_std
    )
    if np.any(mos_std < 0):
        raise ValueError(
            f"mos_std must be non-negative; found {int(np.sum(mos_std < 0))} "
            f"negative value(s), the smallest {mos_std.min()!r}"
        )
    if isinstance(k, bool) or not isinstance(k, Real) or not k >= 0:
        raise ValueError(f"k must be a non-negative number, got {k!r}")
    return float(np.mean(np.abs(y_pred - y_true) <= k * mos_std))
