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

from ._correlation import krocc, plcc, srocc
from ._errors import mae, nmae, rmse, within_k_std
from ._logistic import fit_logistic_5, logistic_5, plcc_logistic
from ._scorers import get_scorer, get_scorer_names, scorers_by_name

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

#: Scorers by name, for ``scoring=`` in ``cross_validate``, ``GridSearchCV``
#: and friends, whole (``scoring=SCORERS``) or in part
#: (``scoring={name: SCORERS[name] for name in ["srocc", "plcc"]}``).
#: Losses are negated (``neg_*``) so that greater is always better. Treat it
#: as read-only; :func:`get_scorer` returns a fresh copy of one scorer.
SCORERS = scorers_by_name()
