"""The 5-parameter logistic mapping (VQEG) and the PLCC after it."""

from __future__ import annotations

import warnings

import numpy as np
from scipy import optimize, special, stats

from ..exceptions import SkDeepBIQWarning
from ._correlation import check_scores, correlation_is_undefined


def logistic_5(x, b1, b2, b3, b4, b5):
    """Five-parameter logistic function used to map objective to subjective scores.

    ``q = b1 * (0.5 - 1 / (1 + exp(b2 * (x - b3)))) + b4 * x + b5``

    This is the monotonic mapping of the VQEG FR-TV Phase II report, used by
    Sheikh, Sabir and Bovik (2006) and most IQA papers since, before
    computing PLCC. It is evaluated without overflow for any ``b2 * x``.

    Parameters
    ----------
    x : array-like
        Objective (predicted) scores.
    b1, b2, b3, b4, b5 : float
        Amplitude of the sigmoid, its slope, its centre, the slope of the
        linear term and the offset.

    Returns
    -------
    q : ndarray
        Mapped scores, same shape as ``x``.

    Examples
    --------
    >>> from skdeepbiq.metrics import logistic_5
    >>> logistic_5([0.0, 1000.0], 2.0, 1.0, 0.0, 0.0, 1.0)
    array([1., 2.])
    """
    x = np.asarray(x, dtype=np.float64)
    # 1 / (1 + exp(z)) == expit(-z), which does not overflow.
    return b1 * (0.5 - special.expit(-b2 * (x - b3))) + b4 * x + b5


def _logistic_5_starts(u: np.ndarray, v: np.ndarray) -> list[np.ndarray]:
    """Starting points for a fit on standardised ``u`` (x) and ``v`` (y).

    The first start puts the sigmoid's centre at the mean of ``x``, its
    amplitude at the range of ``y`` and its central slope at the slope of
    the least-squares line, with no linear term; the others move the centre
    by one standard deviation and make the sigmoid four times steeper, so
    that a saturating relation is found from at least one of them.
    """
    r = float(np.mean(u * v))  # Pearson correlation of standardised data
    amplitude = float(np.ptp(v))
    direction = 1.0 if r >= 0 else -1.0
    slope = 4.0 * direction * max(abs(r), 0.1) / amplitude
    return [
        np.array([amplitude, slope * steepness, centre, 0.0, 0.0])
        for steepness in (1.0, 4.0)
        for centre in (0.0, -1.0, 1.0)
    ]


def _logistic_5_residuals(c: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return logistic_5(u, *c) - v


def _logistic_5_jacobian(c: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Derivatives of the residuals with respect to ``b1 .. b5``."""
    b1, b2, b3 = c[0], c[1], c[2]
    s = special.expit(-b2 * (u - b3))  # 1 / (1 + exp(b2 * (u - b3)))
    slope = s * (1.0 - s)
    return np.stack(
        [0.5 - s, b1 * slope * (u - b3), -b1 * slope * b2, u, np.ones_like(u)],
        axis=1,
    )


def fit_logistic_5(x, y, *, max_nfev=500):
    """Least-squares fit of :func:`logistic_5` mapping ``x`` to ``y``.

    The fit runs on standardised ``x`` and ``y`` from several starting
    points (see Notes) with Levenberg-Marquardt
    (:func:`scipy.optimize.least_squares`, as
    :func:`scipy.optimize.curve_fit` uses); the parameters of the best fit
    are returned on the original scales.

    Parameters
    ----------
    x : array-like of shape (n_samples,)
        Objective (predicted) scores.
    y : array-like of shape (n_samples,)
        Subjective scores (MOS or DMOS).
    max_nfev : int, default=500
        Maximum number of function evaluations per starting point. A run
        that reaches it is kept, not discarded: on a nearly linear relation
        the optimum drifts slowly towards a degenerate curve (huge
        amplitude, vanishing slope) while its fit barely improves, and
        stopping it early saves time without losing accuracy.

    Returns
    -------
    params : ndarray of shape (5,)
        ``b1, b2, b3, b4, b5`` such that ``logistic_5(x, *params)``
        approximates ``y``. Changing the signs of both ``b1`` and ``b2``
        gives the same curve; the form with ``b1 >= 0`` is returned.

    Raises
    ------
    ValueError
        If there are fewer than 5 samples, or ``x`` or ``y`` is constant.
    RuntimeError
        If the fit gives non-finite parameters from every starting point.

    Notes
    -----
    Starting points (on standardised data): amplitude = range of ``y``,
    centre = mean of ``x`` or one standard deviation either side, central
    slope equal to the least-squares line's slope or four times it, linear
    term 0, offset = mean of ``y``. The fit with the smallest sum of squared
    residuals wins.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeepbiq.metrics import fit_logistic_5, logistic_5
    >>> x = np.linspace(-5, 5, 50)
    >>> y = logistic_5(x, 40.0, 1.5, 0.5, 1.0, 50.0)
    >>> np.round(fit_logistic_5(x, y), 3)
    array([40. ,  1.5,  0.5,  1. , 50. ])
    """
    x, y = check_scores(x=x, y=y)
    if len(x) < 5:
        raise ValueError(
            f"fitting the 5-parameter logistic needs at least 5 samples, got {len(x)}"
        )
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        raise ValueError("fitting the 5-parameter logistic needs non-constant x and y")
    x_mean, x_std = float(np.mean(x)), float(np.std(x))
    y_mean, y_std = float(np.mean(y)), float(np.std(y))
    u = (x - x_mean) / x_std
    v = (y - y_mean) / y_std

    best_params, best_sse = None, np.inf
    for start in _logistic_5_starts(u, v):
        with np.errstate(over="ignore", invalid="ignore"):
            fit = optimize.least_squares(
                _logistic_5_residuals,
                start,
                jac=_logistic_5_jacobian,
                method="lm",
                max_nfev=max_nfev,
                args=(u, v),
            )
        sse = float(np.sum(fit.fun**2))
        if np.all(np.isfinite(fit.x)) and np.isfinite(sse) and sse < best_sse:
            best_params, best_sse = fit.x, sse
    if best_params is None:
        raise RuntimeError(
            "the 5-parameter logistic fit gave non-finite parameters from every "
            "starting point"
        )

    c1, c2, c3, c4, c5 = best_params
    if c1 < 0:  # the same curve; report the form with b1 >= 0
        c1, c2 = -c1, -c2
    # Undo the standardisation: x = x_mean + x_std * u, y = y_mean + y_std * v.
    return np.array(
        [
            y_std * c1,
            c2 / x_std,
            x_mean + x_std * c3,
            y_std * c4 / x_std,
            y_mean + y_std * c5 - y_std * c4 * x_mean / x_std,
        ]
    )


def plcc_logistic(y_true, y_pred):
    """PLCC after mapping the predictions with a fitted 5-parameter logistic.

    The standard IQA protocol (VQEG; Sheikh et al., 2006): fit
    :func:`logistic_5` from ``y_pred`` to ``y_true`` by least squares
    (:func:`fit_logistic_5`), then return the Pearson correlation between
    ``y_true`` and the mapped predictions. The mapping is fitted on the same
    samples it is evaluated on, as the protocol prescribes; used as a scorer
    in cross-validation, it is fitted on each test fold.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Subjective scores (MOS or DMOS).
    y_pred : array-like of shape (n_samples,)
        Predicted scores.

    Returns
    -------
    score : float
        Correlation in [-1, 1]. The mapping may be decreasing, so a
        prediction that falls as ``y_true`` rises (a quality score against
        DMOS) still scores close to +1 when it follows the data. When the
        fit is impossible (fewer than 5 samples) or fails, a
        ``SkDeepBIQWarning`` is emitted and the plain :func:`plcc` is
        returned instead. ``nan`` (with a warning) when either input is
        constant.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeepbiq.metrics import plcc, plcc_logistic
    >>> y_pred = np.linspace(-4, 4, 40)
    >>> y_true = 100 / (1 + np.exp(-2 * y_pred))
    >>> plcc_logistic(y_true, y_pred) > 0.999 > plcc(y_true, y_pred)
    True
    """
    y_true, y_pred = check_scores(y_true=y_true, y_pred=y_pred)
    if correlation_is_undefined(y_true, y_pred, "PLCC"):
        return float("nan")
    try:
        params = fit_logistic_5(y_pred, y_true)
    except (ValueError, RuntimeError) as exc:
        warnings.warn(
            f"5-parameter logistic fit failed ({exc}); returning the PLCC "
            "of the unmapped predictions.",
            SkDeepBIQWarning,
            stacklevel=2,
        )
        return float(stats.pearsonr(y_true, y_pred).statistic)
    mapped = logistic_5(y_pred, *params)
    if np.ptp(mapped) == 0:
        warnings.warn(
            "the fitted 5-parameter logistic is constant; returning the PLCC "
            "of the unmapped predictions.",
            SkDeepBIQWarning,
            stacklevel=2,
        )
        return float(stats.pearsonr(y_true, y_pred).statistic)
    return float(stats.pearsonr(y_true, mapped).statistic)
