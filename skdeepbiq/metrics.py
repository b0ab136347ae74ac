"""Image quality metrics and the scikit-learn scorers built on them.

The correlation metrics (PLCC, SROCC, KROCC) measure how well predicted
scores follow the subjective scores (MOS or DMOS); the error metrics (RMSE,
MAE, nMAE) are in the units of the subjective scale; ``within_k_std`` counts
the predictions that fall within ``k`` standard deviations of the human
ratings of each image, the "units of human disagreement" of Bianco et al.
(2018).

scikit-learn offers no public way to register new scorer names for its
``scoring="..."`` strings. ``scoring`` does accept a callable, a list of
scikit-learn's own names, or a dict of name -> callable, so this module
provides the scorers as objects: ``SCORERS`` (a dict that can be passed
whole or in part as ``scoring=``) and :func:`get_scorer` (one scorer by
name). Loss scorers follow scikit-learn's convention of being negated, so
that greater is always better: ``"neg_rmse"``, ``"neg_mae"``,
``"neg_nmae"``.
"""

from __future__ import annotations

import copy
import re
import warnings
from numbers import Real

import numpy as np
from scipy import optimize, special, stats
from sklearn import get_config
from sklearn.metrics import get_scorer as _sklearn_get_scorer
from sklearn.metrics import get_scorer_names as _sklearn_get_scorer_names
from sklearn.metrics import make_scorer
from sklearn.utils import assert_all_finite, column_or_1d

from .exceptions import SkDeepBIQWarning

__all__ = [
    "SCORERS",
    "fit_logistic_5",
    "get_scorer",
    "get_scorer_names",
    "krocc",
    "logistic_5",
    "mae",
    "nmae",
    "plcc",
    "plcc_logistic",
    "rmse",
    "srocc",
    "within_k_std",
]


# ---------------------------------------------------------------------------
# Input validation
# ---------------------------------------------------------------------------


def _check_scores(**arrays) -> list[np.ndarray]:
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


def _correlation_is_undefined(
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


# ---------------------------------------------------------------------------
# Correlations
# ---------------------------------------------------------------------------


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
    y_true, y_pred = _check_scores(y_true=y_true, y_pred=y_pred)
    if _correlation_is_undefined(y_true, y_pred, "PLCC"):
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
    y_true, y_pred = _check_scores(y_true=y_true, y_pred=y_pred)
    if _correlation_is_undefined(y_true, y_pred, "SROCC"):
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
    y_true, y_pred = _check_scores(y_true=y_true, y_pred=y_pred)
    if _correlation_is_undefined(y_true, y_pred, "KROCC"):
        return float("nan")
    return float(stats.kendalltau(y_true, y_pred).statistic)


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


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
    y_true, y_pred = _check_scores(y_true=y_true, y_pred=y_pred)
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
    y_true, y_pred = _check_scores(y_true=y_true, y_pred=y_pred)
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
    y_true, y_pred = _check_scores(y_true=y_true, y_pred=y_pred)
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
    y_true, y_pred, mos_std = _check_scores(
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


# ---------------------------------------------------------------------------
# 5-parameter logistic mapping (VQEG)
# ---------------------------------------------------------------------------


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
    x, y = _check_scores(x=x, y=y)
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
    y_true, y_pred = _check_scores(y_true=y_true, y_pred=y_pred)
    if _correlation_is_undefined(y_true, y_pred, "PLCC"):
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


# ---------------------------------------------------------------------------
# Scorers
# ---------------------------------------------------------------------------

#: Scorers by name, for ``scoring=`` in ``cross_validate``, ``GridSearchCV``
#: and friends, whole (``scoring=SCORERS``) or in part
#: (``scoring={name: SCORERS[name] for name in ["srocc", "plcc"]}``).
#: Losses are negated (``neg_*``) so that greater is always better. Treat it
#: as read-only; :func:`get_scorer` returns a fresh copy of one scorer.
SCORERS = {
    "plcc": make_scorer(plcc),
    "srocc": make_scorer(srocc),
    "krocc": make_scorer(krocc),
    "plcc_logistic": make_scorer(plcc_logistic),
    "neg_rmse": make_scorer(rmse, greater_is_better=False),
    "neg_mae": make_scorer(mae, greater_is_better=False),
    "neg_nmae": make_scorer(nmae, greater_is_better=False),
}

_WITHIN_K_STD_NAME = re.compile(r"within_(\d+(?:\.\d+)?)_std")


def get_scorer_names():
    """Names accepted by :func:`get_scorer`, this package's first.

    Returns
    -------
    names : list of str
        The names of ``SCORERS``, ``"within_<k>_std"`` (e.g.
        ``"within_1_std"``, see :func:`get_scorer`), then scikit-learn's own
        scorer names.

    Examples
    --------
    >>> from skdeepbiq.metrics import get_scorer_names
    >>> get_scorer_names()[:4]
    ['plcc', 'srocc', 'krocc', 'plcc_logistic']
    """
    return [*SCORERS, "within_<k>_std", *_sklearn_get_scorer_names()]


def get_scorer(scoring):
    """Get a scorer by name: this package's names, then scikit-learn's.

    Parameters
    ----------
    scoring : str or callable
        One of ``"plcc"``, ``"srocc"``, ``"krocc"``, ``"plcc_logistic"``,
        ``"neg_rmse"``, ``"neg_mae"``, ``"neg_nmae"``;
        ``"within_<k>_std"`` such as ``"within_1_std"`` or
        ``"within_2.5_std"``; or any name that
        :func:`sklearn.metrics.get_scorer` accepts (``"r2"``, ...). A
        callable is returned unchanged.

    Returns
    -------
    scorer : callable
        A scorer ``scorer(estimator, X, y)``, greater is better. Names are
        resolved to a fresh copy, never to the object in ``SCORERS``.

    Raises
    ------
    ValueError
        For an unknown name; ``"rmse"``, ``"mae"`` and ``"nmae"`` point to
        their ``"neg_"`` forms.
    RuntimeError
        For ``"within_<k>_std"`` when scikit-learn's metadata routing is
        disabled.

    Notes
    -----
    ``"within_<k>_std"`` needs each test image's ``mos_std``, which reaches
    the scorer through metadata routing: enable it with
    ``sklearn.set_config(enable_metadata_routing=True)`` before calling
    ``get_scorer``, then pass ``params={"mos_std": mos_std}`` to
    ``cross_validate`` or to ``GridSearchCV.fit``; each fold's scorer gets
    the ``mos_std`` of its own test images.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn.model_selection import cross_val_score
    >>> from skdeepbiq.metrics import get_scorer
    >>> X, y = make_regression(n_samples=60, n_features=5, noise=1.0, random_state=0)
    >>> scores = cross_val_score(Ridge(), X, y, cv=3, scoring=get_scorer("srocc"))
    >>> bool((scores > 0.9).all())
    True
    """
    if callable(scoring):
        return scoring
    if not isinstance(scoring, str):
        raise TypeError(
            f"scoring must be a str or a callable, got {type(scoring).__name__}"
        )
    if scoring in SCORERS:
        return copy.deepcopy(SCORERS[scoring])
    match = _WITHIN_K_STD_NAME.fullmatch(scoring)
    if match:
        return _make_within_k_std_scorer(float(match.group(1)), scoring)
    if scoring in ("rmse", "mae", "nmae"):
        raise ValueError(
            f"{scoring!r} is a loss; scorers are greater-is-better, so use "
            f"'neg_{scoring}'"
        )
    try:
        return _sklearn_get_scorer(scoring)
    except ValueError:
        raise ValueError(
            f"{scoring!r} is not a valid scoring value. skdeepbiq's names: "
            f"{sorted(SCORERS)} and 'within_<k>_std' (e.g. 'within_1_std'); "
            "use sklearn.metrics.get_scorer_names() for scikit-learn's."
        ) from None


def _make_within_k_std_scorer(k: float, name: str):
    """A ``within_k_std`` scorer that requests ``mos_std`` through routing."""
    if not get_config()["enable_metadata_routing"]:
        raise RuntimeError(
            f"the {name!r} scorer needs the mos_std of the test images, which "
            "only metadata routing can pass to it: call "
            "sklearn.set_config(enable_metadata_routing=True) first, then pass "
            "params={'mos_std': mos_std} to cross_validate or GridSearchCV.fit"
        )
    return make_scorer(within_k_std, k=k).set_score_request(mos_std=True)
