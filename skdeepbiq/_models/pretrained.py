"""The pretrained models that ship with skdeepbiq, in ``skdeepbiq/data``.

:func:`load_pretrained` loads one (by default ``"clive-efficientnet_lite2"``) as a
fitted :class:`~skdeepbiq.DeepBIQRegressor`; :func:`pretrained_path` gives
its file and :func:`model_metadata` what the file says about it. The files
are found in the package's folder (``Path(__file__).parents[1] / "data"``), not
through the package's name, so that a folder named ``skdeepbiq`` in the
working directory cannot stand in for the installed package.
"""

from __future__ import annotations

from pathlib import Path

from .model_file import read_model_file
from .model_io import load_model, save_model

#: Pretrained models shipped in ``skdeepbiq/data``: name -> file name.
PRETRAINED = {"clive-efficientnet_lite2": "clive-efficientnet_lite2.npz"}
DEFAULT_PRETRAINED = "clive-efficientnet_lite2"
#: The folder of the shipped model files.
DATA_DIR = Path(__file__).resolve().parents[1] / "data"

__all__ = [
    "DEFAULT_PRETRAINED",
    "PRETRAINED",
    "load_model",
    "load_pretrained",
    "model_metadata",
    "pretrained_path",
    "save_model",
]


def model_metadata(path):
    """The metadata and parameters kept in a model file, without loading it.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save_model`, or the name of a pretrained
        model (see :data:`PRETRAINED`).

    Returns
    -------
    info : dict
        The file's metadata (``date``, ``skdeepbiq_version``, and whatever
        was saved, e.g. ``training_set`` and ``accuracy``), with the model's
        parameters under ``"config"``.
    """
    model_file = read_model_file(pretrained_path(path) if path in PRETRAINED else path)
    return {**model_file.metadata, "config": model_file.config}


def pretrained_path(name=DEFAULT_PRETRAINED):
    """Path of the file of a pretrained model shipped with skdeepbiq.

    Parameters
    ----------
    name : str, default="clive-efficientnet_lite2"
        One of :data:`PRETRAINED`.

    Returns
    -------
    path : str
        The ``.npz`` file in the ``data`` folder beside this module.
    """
    if name not in PRETRAINED:
        raise ValueError(
            f"name={name!r} is not a pretrained model; choose one of {sorted(PRETRAINED)}"
        )
    return str(DATA_DIR / PRETRAINED[name])


def load_pretrained(name=DEFAULT_PRETRAINED, **runtime):
    """Load a pretrained quality model: score photos without training.

    ``"clive-efficientnet_lite2"`` is :class:`DeepBIQRegressor` with its
    default parameters and ``fine_tune=True`` (EfficientNet-Lite2 with its
    ImageNet weights, its blocks from the first stride-16 layer on
    fine-tuned; the mean of each stage's output over 25 random 224-px crops,
    each a window of the frozen trunk's maps, standardised, a linear SVR,
    mean of the crop scores), tuned and trained on 812 photographs of the
    LIVE In the Wild Image Quality Challenge Database (D. Ghadiyaram and
    A. C. Bovik, 2015; see ``skdeepbiq/data/LIVE_COPYRIGHT_README.txt``).
    Scores are on CLIVE's MOS scale (0-100, higher is better). It is
    calibrated: :meth:`~DeepBIQRegressor.predict_interval` gives each score
    its interval. Its accuracy is in ``skdeepbiq/data/README.md`` and on the
    user guide's accuracy page.

    Parameters
    ----------
    name : str, default="clive-efficientnet_lite2"
        Which pretrained model (see :data:`PRETRAINED`).
    **runtime
        How to run it: the featurizer's ``device``, ``precision``,
        ``batch_size``, ``n_jobs``, ``memory``, ``verbose`` and ``on_error``,
        as :func:`load_model` takes them.

    Returns
    -------
    model : DeepBIQRegressor
        A fitted model; ``model.predict(paths)`` gives one score per image.

    Raises
    ------
    WeightsNotFoundError
        When the ImageNet weights of EfficientNet-Lite2 are not cached and
        cannot be downloaded; run ``skdeepbiq weights fetch efficientnet_lite2``.

    Examples
    --------
    >>> from skdeepbiq import load_pretrained
    >>> model = load_pretrained()  # doctest: +SKIP
    >>> model.predict(["examples/images/0-original.jpg"])  # doctest: +SKIP
    array([...])
    """
    return load_model(pretrained_path(name), **runtime)
