"""DeepBIQRegressor's default sub-estimators and their nested parameters.

``DeepBIQRegressor(featurizer=None, regressor=None)`` stands for
:func:`default_featurizer` and :func:`default_regressor`. As in
:class:`~sklearn.compose.TransformedTargetRegressor`, None is replaced in
``fit`` (:func:`default_sub_estimator`), never in ``__init__``; unlike it,
the defaults' parameters are listed by ``get_params`` as
``featurizer__<name>`` and ``regressor__<name>``, and setting one replaces
None with a fresh default first, so that ``GridSearchCV`` can search
``regressor__C`` of a default model. The default featurizer and the
default regressor's ``C`` depend on ``fine_tune`` (one configuration
without fine-tuning, another with it); setting a nested parameter fixes the
one in force then.
"""

from __future__ import annotations

import numpy as np
from sklearn.svm import LinearSVR

from ._featurizer import CNNCropFeaturizer
from ._finetuning.recipe import FineTuning

#: Default ``C`` of the LinearSVR on standardised features and targets,
#: chosen on clive-dev with the default featurizer among 3e-5, 1e-4, 3e-4
#: and 1e-3 (``benchmarks/accuracy_table.py``).
DEFAULT_C = 3e-4

#: The same when DeepBIQRegressor fine-tunes, chosen on clive-dev with the
#: tuned featurizer among 3e-6, 1e-5, 3e-5, 1e-4, 3e-4 and 1e-3
#: (``benchmarks/finetune.py --load-models DIR --refit``): features of the
#: tuned network are fitted with a stronger penalty.
TUNED_C = 1e-5


#: Parameters of DeepBIQRegressor's default featurizer that differ from
#: ``CNNCropFeaturizer()``'s (the paper's penultimate features of exact
#: crops): multi-level features of the shared trunk, the most accurate
#: configuration measured on clive-dev within the time budget
#: (``benchmarks/accuracy_table.py``).
DEFAULT_FEATURES = {"layer": "stages", "compute": "trunk"}

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


def default_featurizer(fine_tune=None) -> CNNCropFeaturizer:
    """The featurizer used when ``featurizer=None``.

    Parameters
    ----------
    fine_tune : bool, FineTuning or None, default=None
        The regressor's ``fine_tune``: the default featurizer depends on
        whether the network is tuned.

    Returns
    -------
    featurizer : CNNCropFeaturizer
        Without fine-tuning, ``CNNCropFeaturizer(**DEFAULT_FEATURES)``: the
        mean of each stage's output of MobileNetV2 (``layer="stages"``,
        1,672 features per crop) over 25 random 224-px crops, computed
        with the shared trunk (``compute="trunk"``). With it,
        ``CNNCropFeaturizer(**TUNED_FEATURES)``: the mean of each stage's
        output of EfficientNet-Lite2 over 25 random 224-px crops, also
        with the shared trunk: the trunk the tuning kept frozen runs once
        per image, and each crop's window of its maps goes through the
        tuned blocks, as in training.
    """
    return CNNCropFeaturizer(
        **(TUNED_FEATURES if tunes(fine_tune) else DEFAULT_FEATURES)
    )


def default_regressor(fine_tune=None) -> LinearSVR:
    """The regressor used when ``regressor=None``.

    Parameters
    ----------
    fine_tune : bool, FineTuning or None, default=None
        The regressor's ``fine_tune``: the default ``C`` depends on whether
        the network is tuned.

    Returns
    -------
    regressor : LinearSVR
        ``LinearSVR(C=DEFAULT_C, epsilon=0.0, max_iter=5000, random_state=0)``;
        with fine-tuning, ``C=TUNED_C``.
    """
    C = TUNED_C if tunes(fine_tune) else DEFAULT_C
    return LinearSVR(C=C, epsilon=0.0, max_iter=5000, random_state=0)


_SUB_ESTIMATORS = ("featurizer", "regressor")


def default_sub_estimator(name: str, value, fine_tune=None):
    """``value``, or a new default sub-estimator ``name`` when it is None.

    Parameters
    ----------
    name : {"featurizer", "regressor"}
        The parameter.
    value : estimator, str or None
        Its value.
    fine_tune : bool, FineTuning or None, default=None
        The regressor's ``fine_tune``, on which the default featurizer
        and the default ``C`` depend (see :func:`default_featurizer`).

    Returns
    -------
    value : estimator or str
        ``value`` itself unless it is None.
    """
    if value is not None:
        return value
    if name == "featurizer":
        return default_featurizer(fine_tune)
    return default_regressor(fine_tune)


class DefaultSubEstimatorsMixin:
    """``get_params`` and ``set_params`` that reach into None sub-estimators."""

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
            for name in _SUB_ESTIMATORS:
                if params[name] is not None:
                    continue  # nested parameters already listed
                default = default_sub_estimator(name, None, params["fine_tune"])
                for key, value in default.get_params(deep=True).items():
                    params[f"{name}__{key}"] = value
        return params

    def set_params(self, **params):
        """Set parameters, including nested ``featurizer__`` / ``regressor__`` ones.

        Setting a nested parameter while the sub-estimator is None first
        replaces None by the default sub-estimator, the one for the
        ``fine_tune`` in force after this call.

        Parameters
        ----------
        **params : dict
            Parameter names mapped to their new values.

        Returns
        -------
        self : estimator
            This estimator.
        """
        fine_tune = params.get("fine_tune", self.fine_tune)
        for name in _SUB_ESTIMATORS:
            nested = any(key.startswith(f"{name}__") for key in params)
            if nested and params.get(name, getattr(self, name)) is None:
                params[name] = default_sub_estimator(name, None, fine_tune)
        return super().set_params(**params)
