"""Correlation metrics (PLCC, SROCC, KROCC) and the checks every metric makes.

:func:`check_scores` validates the score arrays of any metric of
:mod:`skdeepbiq.metrics`; :func:`correlation_is_undefined` warns and says
so when a correlation cannot be computed (constant input, one sample).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import stats
from sklearn.utils import assert_all_finite, column_or_1d

from ..exceptions import SkDeepBIQWarning


def check_scores(**arrays) -> list[np.ndarray]:
    """Validate same-length, finite, 1-D float arrays given by keyword.

    The keyword names are used in the error messages.
    """
    checked = []
    for name, values in arrays.items():
        values = column_or_1d(values, dtype=np.float64, input_name=name)
        assert_all_finite(values, input_name=name)
        checked.append(values)
    lengths = [len(values) for values in checked]
    if len(set(lengths)) > 1:
        described = ", ".join(
            f"{name} has {length}" for name, length in zip(arrays, lengths, strict=True)
        )
        raise ValueError(
            f"{', '.join(arrays)} must have the same number of samples; {described}"
        )
    if lengths[0] == 0:
        raise ValueError(
            f"{', '.join(arrays)} are empty: at least one sample is needed"
        )
    return checked


def correlation_is_undefined(
    y_true: np.ndarray, y_pred: np.ndarray, metric: str
) -> bool:
    """Warn and return True when a correlation cannot be computed."""
    if len(y_true) < 2:
        reason = "fewer than two samples"
    elif np.ptp(y_true) == 0:
        reason = "y_true is constant"
    elif np.ptp(y_pred) == 0:
        reason = "y_pred is constant"
    else:
        return False
    warnings.warn(
        f"{metric} is undefined ({reason}); returning nan.",
        SkDeepBIQWarning,
        stacklevel=3,
    )
    return True


def plcc(y_true, y_pred):
    """Pearson linear correlation coefficient (PLCC, also written LCC).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Subjective scores (MOS or DMOS).
    y_pred : array-like of shape (n_samples,)
        Predicted scores.

    Returns
    -------
    score : float
        Correlation in [-1, 1]; ``nan`` (with a ``SkDeepBIQWarning``) when
        either input is constant or there are fewer than two samples.

    See Also
    --------
    plcc_logistic : PLCC after the usual 5-parameter logistic mapping.
    srocc : Rank (Spearman) correlation.

    Examples
    --------
    >>> from skdeepbiq.metrics import plcc
    >>> round(plcc([1, 2, 3, 4], [1.1, 1.9, 3.2, 3.9]), 4)
    0.9934
    """
    y_true, y_pred = check_scores(y_true=y_true, y_pred=y_pred)
    if correlation_is_undefined(y_true, y_pred, "PLCC"):
        return float("nan")
    return float(stats.pearsonr(y_true, y_pred).statistic)


def srocc(y_true, y_pred):
    """Spearman rank-order correlation coefficient (SROCC, also SRCC).

    Ties get their average rank, as in :func:`scipy.stats.spearmanr`.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Subjective scores (MOS or DMOS).
    y_pred : array-like of shape (n_samples,)
        Predicted scores.

    Returns
    -------
    score : float
        Correlation in [-1, 1]; ``nan`` (with a ``SkDeepBIQWarning``) when
        either input is constant or there are fewer than two samples.

    Examples
    --------
    >>> from skdeepbiq.metrics import srocc
    >>> srocc([1, 2, 3, 4], [10, 20, 30, 100])
    1.0
    """
    y_true, y_pred = check_scores(y_true=y_true, y_pred=y_pred)
    if correlation_is_undefined(y_true, y_pred, "SROCC"):
        return float("nan")
    return float(stats.spearmanr(y_true, y_pred).statistic)


def krocc(y_true, y_pred):
    """Kendall rank-order correlation coefficient (KROCC), tau-b.

    Tau-b accounts for ties, as :func:`scipy.stats.kendalltau` by default.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Subjective scores (MOS or DMOS).
    y_pred : array-like of shape (n_samples,)
        Predicted scores.

    Returns
    -------
    score : float
        Correlation in [-1, 1]; ``nan`` (with a ``SkDeepBIQWarning``) when
        either input is constant or there are fewer than two samples.

    Examples
    --------
    >>> from skdeepbiq.metrics import krocc
    >>> round(krocc([1, 2, 3, 4], [1, 3, 2, 4]), 4)
    0.6667
    """
    y_true, y_pred = check_scores(y_true=y_true, y_pred=y_pred)
    if correlation_is_undefined(y_true, y_pred, "KROCC"):
        return float("nan")
    return float(stats.kendalltau(y_true, y_pred).statistic)
