"""Saving a fitted DeepBIQRegressor to a model file and loading it back.

A fitted :class:`DeepBIQRegressor` whose regressor is linear is fully
described by a few arrays: the featurizer's parameters (the backbone's
weights come from torchvision's file, not from the model file), the feature
standardisation, the target scale and the regressor's ``coef_`` and
``intercept_``. :func:`save_model` writes them to a ``.npz`` file of plain
numeric and string arrays (:mod:`skdeepbiq._models.model_file`), and
:func:`load_model` rebuilds a fitted estimator from it.
"""

from __future__ import annotations

import datetime
import os

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.svm import LinearSVR
from sklearn.utils import Bunch
from sklearn.utils.validation import check_is_fitted

from .._engine.backbones import resolve_weights
from .._featurizer import RUNTIME_PARAMS, CNNCropFeaturizer
from .._finetuning.recipe import FineTuning, describe_fine_tuning
from .._regressor import DeepBIQRegressor
from ..exceptions import ModelFileError
from .model_file import read_model_file, write_model_file

#: Featurizer parameters that define the features, saved in the file.
_MODEL_PARAMS = (
    "backbone", "weights", "layer", "n_crops", "crop_size", "crops", "compute",
)  # fmt: skip
#: Featurizer parameters added since format 1: kept only when not at their
#: defaults, so that files of older models stay the same, and readable by
#: older skdeepbiq.
_NEWER_PARAMS = ("spatial_pooling", "max_side", "fine_tune")
#: ``viewing_scale`` of a file that does not set it: files written before the
#: parameter existed cut crops from every image's own pixels.
_OLD_VIEWING_SCALE = "native"
#: Prefix of the arrays of tuned network weights (``network.<state-dict name>``).
_NETWORK_PREFIX = "network."
#: Linear regressors whose prediction is ``X @ coef_ + intercept_``.
_REGRESSORS = {cls.__name__: cls for cls in (LinearSVR, Ridge, LinearRegression)}
#: The arrays of the fitted StandardScaler, when the model standardises.
_SCALER_ARRAYS = ("scaler_mean", "scaler_scale", "scaler_n_samples_seen")
#: The array of the training images' fingerprints (``training_fingerprints_``),
#: absent from files saved before they were kept.
_FINGERPRINTS = "training_fingerprints"

#: The sorted conformity scores of a calibrated model (``calibration_``);
#: their method, ``beta`` and source are in the config.
_CALIBRATION = "calibration_scores"
_CALIBRATION_PREDICTIONS = "calibration_predictions"

__all__ = ["load_model", "save_model"]


def _featurizer_config(featurizer) -> dict:
    """The parameters of a fitted featurizer that the file must keep."""
    if type(featurizer) is not CNNCropFeaturizer:
        raise TypeError(
            "only models whose featurizer is a CNNCropFeaturizer can be saved "
            f"in the npz format, not {type(featurizer).__name__}"
        )
    params = featurizer.get_params(deep=False)
    defaults = CNNCropFeaturizer().get_params(deep=False)
    unsupported = [
        name
        for name, value in params.items()
        if name
        not in (
            *_MODEL_PARAMS,
            *_NEWER_PARAMS,
            "random_state",
            "viewing_scale",
            *RUNTIME_PARAMS,
        )  # fmt: skip
        and value != defaults.get(name)
    ]
    if unsupported:
        raise ValueError(
            "the npz format cannot keep the featurizer parameters "
            f"{unsupported}; save this model with joblib instead"
        )
    config = {name: params[name] for name in _MODEL_PARAMS}
    config |= {
        name: params[name] for name in _NEWER_PARAMS if params[name] != defaults[name]
    }
    if "fine_tune" in config:
        config["fine_tune"] = describe_fine_tuning(config["fine_tune"])
    kind, value = resolve_weights(config["backbone"], config["weights"])
    if kind == "enum":
        config["weights"] = value.name
    elif kind == "file":
        config["weights"] = value
    config["random_state"] = int(featurizer.seed_)
    # Kept unless native, so that files of native models stay readable by
    # versions without viewing scales, which cut crops at native pixels.
    if params["viewing_scale"] != _OLD_VIEWING_SCALE:
        config["viewing_scale"] = params["viewing_scale"]
        config["training_scale"] = featurizer.training_scale_
    return config


def _regressor_config(regressor) -> dict:
    name = type(regressor).__name__
    if _REGRESSORS.get(name) is not type(regressor):
        raise TypeError(
            f"the npz format keeps only the linear regressors {sorted(_REGRESSORS)}, "
            f"not {name}; save this model with joblib instead"
        )
    coef = np.asarray(regressor.coef_)
    if coef.ndim != 1:
        raise ValueError(f"expected one target, got coef_ of shape {coef.shape}")
    return {"class": name, "params": regressor.get_params()}


def _estimator_params(model) -> dict:
    """The DeepBIQRegressor's own parameters (all but its two sub-estimators)."""
    params = model.get_params(deep=False)
    params["fine_tune"] = describe_fine_tuning(params["fine_tune"])
    return {
        name: value
        for name, value in params.items()
        if name not in ("featurizer", "regressor")
    }


def save_model(model, path, *, metadata=None):
    """Save a fitted DeepBIQRegressor to a ``.npz`` file without pickle.

    Parameters
    ----------
    model : DeepBIQRegressor
        Fitted, with a :class:`CNNCropFeaturizer` and a ``LinearSVR``,
        ``Ridge`` or ``LinearRegression`` regressor. The backbone's weights
        are not copied: the file names them (torchvision weights name, or a
        state_dict path), and :func:`load_model` loads them again. A
        fine-tuned model also keeps the weights that tuning changed, as
        ``network.<name>`` arrays (MobileNetV2's tuned tail: about 7 MB),
        and its recipe. All the model's own parameters (``fusion``,
        ``pooling``, ``power``, ...) are kept, and the fingerprints of its
        training images (``training_fingerprints_``, 8 bytes an image; see
        :func:`~skdeepbiq.training_overlap`), and a calibrated model's
        conformity scores and predictions (``calibration_``, 16 bytes a
        calibration photo),
        so that the loaded model's :meth:`~DeepBIQRegressor.predict_interval`
        answers offline.
    path : str or path-like
        Output file; ``.npz`` is appended when missing (as numpy does).
    metadata : dict, default=None
        JSON-serialisable notes kept in the file (training set, accuracy,
        ...); the date and skdeepbiq's version are added.

    Returns
    -------
    path : str
        The file written.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from skdeepbiq import CNNCropFeaturizer, DeepBIQRegressor
    >>> from skdeepbiq import load_model, save_model
    >>> rng = np.random.default_rng(0)
    >>> images = [rng.integers(0, 256, (48, 48, 3), dtype=np.uint8) for _ in range(6)]
    >>> model = DeepBIQRegressor(
    ...     CNNCropFeaturizer(weights=None, n_crops=2, crop_size=32)
    ... ).fit(images, np.linspace(20, 80, 6))
    >>> path = save_model(model, os.path.join(tempfile.mkdtemp(), "model.npz"))
    >>> bool(np.array_equal(load_model(path).predict(images), model.predict(images)))
    True
    """
    from .._version import __version__

    if not isinstance(model, DeepBIQRegressor):
        raise TypeError(f"model must be a DeepBIQRegressor, not {type(model).__name__}")
    check_is_fitted(model, "regressor_")
    stamp = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    config = {
        "featurizer": _featurizer_config(model.featurizer_),
        "regressor": _regressor_config(model.regressor_),
        "estimator": _estimator_params(model),
        "y_mean": float(model.y_mean_),
        "y_scale": float(model.y_scale_),
    }
    metadata = {"date": stamp, "skdeepbiq_version": __version__, **(metadata or {})}
    arrays = {"coef": model.regressor_.coef_, "intercept": model.regressor_.intercept_}
    if model.scaler_ is not None:
        arrays["scaler_mean"] = model.scaler_.mean_
        arrays["scaler_scale"] = model.scaler_.scale_
        arrays["scaler_n_samples_seen"] = model.scaler_.n_samples_seen_
    fingerprints = getattr(model, "training_fingerprints_", None)
    if fingerprints is not None:
        arrays[_FINGERPRINTS] = np.asarray(fingerprints, dtype=np.uint64)
    calibration = getattr(model, "calibration_", None)
    if calibration is not None:
        arrays[_CALIBRATION] = np.asarray(calibration.scores, dtype=np.float64)
        arrays[_CALIBRATION_PREDICTIONS] = np.asarray(
            calibration.predictions, dtype=np.float64
        )
        config["calibration"] = {
            key: calibration[key] for key in ("method", "beta", "source")
        }
    if config["featurizer"].get("fine_tune") is not None:
        tuned = model.featurizer_.tuned_weights()
        arrays |= {_NETWORK_PREFIX + name: value for name, value in tuned.items()}
    return write_model_file(path, config, metadata, arrays)


def _calibration(config: dict, arrays: dict):
    """The saved ``calibration_`` (None in files of uncalibrated models)."""
    if _CALIBRATION not in arrays:
        return None
    return Bunch(
        scores=np.asarray(arrays[_CALIBRATION]),
        predictions=np.asarray(arrays[_CALIBRATION_PREDICTIONS]),
        **config["calibration"],
    )


def _scaling(path: str, config: dict, arrays: dict) -> dict:
    """The saved feature and target scaling, as ``_fitted_from_parts`` takes it."""
    missing = [name for name in _SCALER_ARRAYS if name not in arrays]
    if missing:
        raise ModelFileError(f"{path!r} is a damaged model file: no {missing}")
    return dict(
        scaler_mean=arrays["scaler_mean"],
        scaler_scale=arrays["scaler_scale"],
        scaler_n_samples_seen=arrays["scaler_n_samples_seen"],
        y_mean=config["y_mean"],
        y_scale=config["y_scale"],
    )


def _fitted_regressor(path: str, config: dict, arrays: dict):
    cls = _REGRESSORS.get(config["class"])
    if cls is None:
        raise ModelFileError(
            f"{path!r} holds the regressor {config['class']!r}, which this "
            f"skdeepbiq does not load (it loads {sorted(_REGRESSORS)})"
        )
    regressor = cls(**config["params"])
    regressor.coef_ = arrays["coef"]
    intercept = arrays["intercept"]
    regressor.intercept_ = intercept[()] if intercept.ndim == 0 else intercept
    regressor.n_features_in_ = len(regressor.coef_)
    return regressor


def _recipe(params: dict) -> FineTuning:
    """The FineTuning of a recipe saved as JSON (whose tuples became lists)."""
    return FineTuning(**{**params, "score_range": tuple(params["score_range"])})


def _estimator_kwargs(path: str, params: dict) -> dict:
    """The saved DeepBIQRegressor parameters this skdeepbiq understands.

    A parameter this version lacks is dropped when the file sets it to
    None (switched off, as a version without it behaves); any other value
    is an error naming it.
    """
    known = DeepBIQRegressor().get_params(deep=False)
    unknown = sorted(
        name
        for name, value in params.items()
        if name not in known and value is not None
    )
    if unknown:
        raise ModelFileError(
            f"{path!r} sets DeepBIQRegressor parameters {unknown} that "
            "this version of skdeepbiq does not have: upgrade skdeepbiq"
        )
    kwargs = {name: value for name, value in params.items() if name in known}
    if kwargs.get("fine_tune") is not None:
        kwargs["fine_tune"] = _recipe(kwargs["fine_tune"])
    return kwargs


def load_model(path, **runtime):
    """Load a model saved by :func:`save_model` as a fitted DeepBIQRegressor.

    The backbone's weights are loaded from torch's cache; if they are
    missing, the error names the weights file and its folder, and the
    command that fetches it where one can.

    Parameters
    ----------
    path : str or path-like
        The ``.npz`` file. It is read with ``allow_pickle=False``.
    **runtime
        How to run the model, not what it computes: the featurizer's
        ``device``, ``precision``, ``batch_size``, ``n_jobs``, ``memory``,
        ``verbose`` and ``on_error`` (see :class:`CNNCropFeaturizer`, whose
        defaults apply to those not given).

    Returns
    -------
    model : DeepBIQRegressor
        Fitted: ``predict`` works at once. Its ``training_fingerprints_``
        are the file's, None for a file saved without them.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ModelFileError
        The file is not a skdeepbiq model file (a text file, an image,
        another npz archive), or has a format version this skdeepbiq does
        not read; the message names the file, and the versions found and
        read.
    """
    path = os.fspath(path)
    model_file = read_model_file(path)
    config, arrays = model_file.config, model_file.arrays
    unknown = sorted(set(runtime) - set(RUNTIME_PARAMS))
    if unknown:
        raise TypeError(
            f"load_model() got unexpected keyword arguments {unknown}; the "
            f"runtime parameters are {list(RUNTIME_PARAMS)}"
        )
    params = dict(config["featurizer"])
    recipe = params.pop("fine_tune", None)
    params.setdefault("viewing_scale", _OLD_VIEWING_SCALE)
    training_scale = params.pop("training_scale", None)
    if recipe is not None:
        params["fine_tune"] = _recipe(recipe)
    featurizer = CNNCropFeaturizer(**params, **runtime)
    regressor = _fitted_regressor(path, config["regressor"], arrays)
    model = DeepBIQRegressor(
        featurizer=featurizer,
        regressor=clone(regressor),
        **_estimator_kwargs(path, config["estimator"]),
    )
    tuned = {
        name.removeprefix(_NETWORK_PREFIX): values
        for name, values in arrays.items()
        if name.startswith(_NETWORK_PREFIX)
    }
    fitted_featurizer = clone(featurizer)._fitted_from_parts(
        training_scale=training_scale, tuned_weights=tuned
    )
    expected = fitted_featurizer.n_features_per_crop_
    if model.fusion == "concatenation":
        expected = fitted_featurizer.n_features_out_
    if regressor.n_features_in_ != expected:
        raise ModelFileError(
            f"{path!r} expects {regressor.n_features_in_} features per "
            f"row but its featurizer gives {expected}"
        )
    return model._fitted_from_parts(
        featurizer=fitted_featurizer,
        regressor=regressor,
        training_fingerprints=arrays.get(_FINGERPRINTS),
        calibration=_calibration(config, arrays),
        **(_scaling(path, config, arrays) if model.standardize else {}),
    )
