"""Recognising a dataset by its files and loading it with the right loader.

A CSV manifest, a folder holding ``mos.csv`` (such as clive-dev) or the root
of a database in its official layout: :func:`load_dataset` finds which by
the files each layout is known by, then calls that layout's loader.
"""

from __future__ import annotations

from pathlib import Path

from ._authentic import load_clive, load_koniq10k
from ._common import absolute_path
from ._csiq import load_csiq
from ._kadid import load_kadid10k
from ._live import load_live
from ._manifest import load_manifest
from ._tid import load_tid2008, load_tid2013

#: The values of ``load_dataset``'s ``dataset_type``.
DATASET_TYPES = (
    "auto",
    "manifest",
    "clive",
    "live",
    "csiq",
    "tid2008",
    "tid2013",
    "kadid10k",
    "koniq10k",
)
_LOADERS = {
    "clive": load_clive,
    "live": load_live,
    "csiq": load_csiq,
    "tid2008": load_tid2008,
    "tid2013": load_tid2013,
    "kadid10k": load_kadid10k,
    "koniq10k": load_koniq10k,
}
#: (file or folder inside the root, its dataset type), tried in this order.
_MARKERS = (
    ("mos.csv", "manifest"),
    ("Data/AllMOS_release.mat", "clive"),
    ("refnames_all.mat", "live"),
    ("dst_imgs", "csiq"),
    ("koniq10k_scores_and_distributions.csv", "koniq10k"),
    ("dmos.csv", "kadid10k"),
)


def load_dataset(source, dataset_type="auto"):
    """Load a dataset from a manifest CSV or a database root, guessing its type.

    Parameters
    ----------
    source : str or path-like
        A CSV manifest (``image, mos[, mos_std][, group]``), a folder holding
        ``mos.csv`` (such as clive-dev), or the root of a database in its
        official layout.
    dataset_type : {"auto", "manifest", "clive", "live", "csiq", "tid2008", \
"tid2013", "kadid10k", "koniq10k"}, default="auto"
        ``"auto"`` recognises each layout by its files: a file is a
        manifest; a folder is recognised by ``mos.csv`` (a manifest),
        ``Data/AllMOS_release.mat`` (CLIVE), ``refnames_all.mat`` (LIVE),
        ``dst_imgs/`` (CSIQ), ``koniq10k_scores_and_distributions.csv``
        (KonIQ-10k), ``dmos.csv`` (KADID-10k), or ``mos_with_names.txt`` in
        a folder whose name contains 2008 or 2013 (TID2008, TID2013).

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        As returned by the loader of that layout
        (:func:`~skdeepbiq.datasets.load_manifest`,
        :func:`~skdeepbiq.datasets.load_clive`, ...).

    Raises
    ------
    FileNotFoundError
        If ``source`` does not exist, or is a folder of no known layout
        (the message lists what each layout is recognised by).
    ValueError
        If ``dataset_type`` is unknown, or a TID layout is not named after
        TID2008 or TID2013.

    Examples
    --------
    >>> from skdeepbiq.datasets import load_dataset
    >>> data = load_dataset("clive-dev")  # doctest: +SKIP
    >>> data.paths[:2], data.y[:2]  # doctest: +SKIP
    """
    path = absolute_path(source)
    if dataset_type not in DATASET_TYPES:
        raise ValueError(
            f"dataset_type must be one of {list(DATASET_TYPES)}, got {dataset_type!r}"
        )
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    if dataset_type == "auto":
        dataset_type = _guess_type(path)
    if dataset_type == "manifest":
        return load_manifest(path / "mos.csv" if path.is_dir() else path)
    return _LOADERS[dataset_type](path)


def _guess_type(path: Path) -> str:
    """The dataset type of an existing file or folder, from its files."""
    if path.is_file():
        return "manifest"
    for marker, kind in _MARKERS:
        if (path / marker).exists():
            return kind
    if (path / "mos_with_names.txt").exists():
        for year in ("2013", "2008"):
            if year in path.name:
                return f"tid{year}"
        raise ValueError(
            f"{path}: a TID layout, but not named after TID2008 or TID2013; "
            "pass dataset_type='tid2008' or 'tid2013'"
        )
    raise FileNotFoundError(
        f"{path}: not a dataset this command knows; expected a CSV manifest "
        "(image, mos[, mos_std][, group]), a folder holding mos.csv, or a "
        "database root in its official layout (CLIVE: Data/AllMOS_release.mat; "
        "LIVE: refnames_all.mat; CSIQ: dst_imgs/; TID: mos_with_names.txt; "
        "KADID-10k: dmos.csv; KonIQ-10k: koniq10k_scores_and_distributions.csv)"
    )
