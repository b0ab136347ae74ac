"""The scikit-learn scorers of the quality metrics, and finding one by name.

:func:`scorers_by_name` builds ``skdeepbiq.metrics.SCORERS``;
:func:`get_scorer` resolves this package's names, ``"within_<k>_std"`` and
then scikit-learn's own.
"""

from __future__ import annotations

import re

from sklearn import get_config
from sklearn.metrics import get_scorer as _sklearn_get_scorer
from sklearn.metrics import get_scorer_names as _sklearn_get_scorer_names
from sklearn.metrics import make_scorer

from ._correlation import krocc, plcc, srocc
from ._errors import mae, nmae, rmse, within_k_std
from ._logistic import plcc_logistic

#: The names of :func:`scorers_by_name`, in its order.
SCORER_NAMES = (
    "plcc", "srocc", "krocc", "plcc_logistic", "neg_rmse", "neg_mae", "neg_nmae",
)  # fmt: skip


def scorers_by_name() -> dict:
    """A new dict of this package's scorers: name -> scorer.

    Losses are negated (``neg_*``) so that greater is always better.

    Returns
    -------
    scorers : dict of str to callable
        One fresh scorer per name of :data:`SCORER_NAMES`.
    """
    return {
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
    return [*SCORER_NAMES, "within_<k>_std", *_sklearn_get_scorer_names()]


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
    if scoring in SCORER_NAMES:
        return scorers_by_name()[scoring]
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
            f"{sorted(SCORER_NAMES)} and 'within_<k>_std' (e.g. 'within_1_std'); "
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
