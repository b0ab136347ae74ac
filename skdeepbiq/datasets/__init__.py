"""Image quality datasets: loaders of local copies, manifests, synthetic data.

Nothing is downloaded: each loader reads a local copy of a database in its
official layout (documented in the loader) and returns a
:class:`~sklearn.utils.Bunch` with the same keys:

- ``paths``: ndarray of absolute image paths (str), one per image;
- ``y``: ndarray of float scores (MOS or DMOS);
- ``higher_is_better``: whether ``y`` grows with quality (False for DMOS);
- ``groups``: reference-image (content) id of each image, for group-aware
  splitting, or None where the database has no references;
- ``mos_std``: standard deviation of each image's ratings, or None;
- ``distortion_type`` and ``distortion_level``: as the database gives them,
  or None;
- ``name`` and ``DESCR``: the database and the citation to use.

A missing file raises :class:`FileNotFoundError` and an inconsistent one
:class:`ValueError`, both naming the file and what was expected.
:func:`load_dataset` recognises a manifest or a database layout by its files
and calls the right loader.
"""

from ._authentic import load_clive, load_koniq10k
from ._csiq import load_csiq
from ._detect import DATASET_TYPES, load_dataset
from ._kadid import load_kadid10k
from ._live import load_live
from ._manifest import load_manifest
from ._synthetic import make_synthetic_iqa
from ._tid import load_tid2008, load_tid2013

__all__ = [
    "DATASET_TYPES",
    "load_clive",
    "load_csiq",
    "load_dataset",
    "load_kadid10k",
    "load_koniq10k",
    "load_live",
    "load_manifest",
    "load_tid2008",
    "load_tid2013",
    "make_synthetic_iqa",
]
