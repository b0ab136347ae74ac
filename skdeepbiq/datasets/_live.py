"""Loader of the LIVE Image Quality Assessment Database, release 2."""

from __future__ import annotations

import numpy as np

from ._common import (
    check_file,
    check_folder,
    check_images_exist,
    check_root,
    load_mat_strings,
    load_mat_vector,
    make_bunch,
)

#: Folders of LIVE release 2 and their number of images, in the order of
#: the 982 entries of refnames_all.mat and dmos*.mat.
LIVE_FOLDERS = (
    ("jp2k", 227),
    ("jpeg", 233),
    ("wn", 174),
    ("gblur", 174),
    ("fastfading", 174),
)
_LIVE_N_IMAGES = sum(count for _, count in LIVE_FOLDERS)

LIVE_DESCR = """\
LIVE Image Quality Assessment Database, release 2
-------------------------------------------------
29 reference images and 779 distorted versions of them: JPEG2000 and JPEG
compression, white noise, Gaussian blur and a Rayleigh fast-fading channel
error ("fastfading"). Scores are DMOS (difference mean opinion scores):
higher means worse. ``groups`` is the reference image's name.

Cite:
H. R. Sheikh, M. F. Sabir and A. C. Bovik, "A Statistical Evaluation of
Recent Full Reference Image Quality Assessment Algorithms," IEEE
Transactions on Image Processing, 15(11):3440-3451, 2006.
H. R. Sheikh, Z. Wang, L. Cormack and A. C. Bovik, "LIVE Image Quality
Assessment Database Release 2," http://live.ece.utexas.edu/research/quality.
"""


def load_live(root, *, include_references=False):
    """Load the LIVE Image Quality Assessment Database, release 2.

    Reads a local copy of the official release; nothing is downloaded.

    Expected layout (``databaserelease2``)::

        root/
          refnames_all.mat     refnames_all: 1x982 cell array, the reference
                               image name of each entry
          dmos_realigned.mat   dmos_new (1x982 DMOS), orgs (1x982, 1 for the
                               undistorted references), dmos_std (1x982)
          dmos.mat             dmos, orgs: read only if dmos_realigned.mat
                               is absent (then mos_std is None)
          jp2k/ jpeg/ wn/ gblur/ fastfading/
                               img1.bmp, img2.bmp, ... and info.txt

    The 982 entries are the images of ``jp2k`` (227), ``jpeg`` (233),
    ``wn`` (174), ``gblur`` (174) and ``fastfading`` (174) in that order,
    each folder numbered from ``img1.bmp``.

    Parameters
    ----------
    root : str or path-like
        Folder holding the ``.mat`` files and the five image folders.
    include_references : bool, default=False
        Also return the entries flagged as undistorted references
        (``orgs == 1``, DMOS about 0), which most protocols leave out.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        paths : ndarray of shape (n_images,) of str
            Absolute paths of the images.
        y : ndarray of shape (n_images,)
            DMOS (realigned when available); higher is worse.
        higher_is_better : bool
            False.
        groups : ndarray of shape (n_images,) of str
            Reference image name of each image.
        mos_std : ndarray of shape (n_images,) or None
            ``dmos_std`` of ``dmos_realigned.mat``; None with ``dmos.mat``.
        distortion_type : ndarray of shape (n_images,) of str
            The folder: ``"jp2k"``, ``"jpeg"``, ``"wn"``, ``"gblur"`` or
            ``"fastfading"``.
        distortion_level : None
            LIVE gives a distortion parameter per image in each folder's
            ``info.txt`` (bit rate, noise or blur sigma, ...), not a level
            comparable across types; it is not read.
        is_reference : ndarray of shape (n_images,) of bool
            ``orgs == 1`` (all False by default).
        scores_file : str
            The ``.mat`` file the scores were read from.
        name : str
            ``"LIVE"``.
        DESCR : str
            Description and the citation to use.

    Raises
    ------
    FileNotFoundError
        If a file of the layout or a listed image is missing.
    ValueError
        If a file lacks its variable or does not have 982 values.

    Examples
    --------
    >>> from skdeepbiq.datasets import load_live
    >>> data = load_live("databaserelease2")  # doctest: +SKIP
    >>> data.y.shape, data.higher_is_better  # doctest: +SKIP
    ((779,), False)
    """
    root = check_root(root, "the LIVE Image Quality Assessment Database release 2")
    why = " (227 jp2k + 233 jpeg + 174 wn + 174 gblur + 174 fastfading)"
    refnames = load_mat_strings(
        root / "refnames_all.mat", "refnames_all", _LIVE_N_IMAGES, why
    )
    scores_file = root / "dmos_realigned.mat"
    if scores_file.is_file():
        dmos = load_mat_vector(scores_file, "dmos_new", _LIVE_N_IMAGES, why)
        mos_std = load_mat_vector(scores_file, "dmos_std", _LIVE_N_IMAGES, why)
    else:
        scores_file = check_file(
            root / "dmos.mat",
            "the LIVE DMOS: dmos_realigned.mat (dmos_new, orgs, dmos_std) "
            "or dmos.mat (dmos, orgs)",
        )
        dmos = load_mat_vector(scores_file, "dmos", _LIVE_N_IMAGES, why)
        mos_std = None
    is_reference = load_mat_vector(scores_file, "orgs", _LIVE_N_IMAGES, why) == 1

    paths, types = [], []
    for folder, count in LIVE_FOLDERS:
        check_folder(
            root / folder, f"the LIVE {folder} images img1.bmp ... img{count}.bmp"
        )
        paths += [str(root / folder / f"img{i}.bmp") for i in range(1, count + 1)]
        types += [folder] * count
    keep = np.ones(_LIVE_N_IMAGES, bool) if include_references else ~is_reference
    paths = np.asarray(paths, dtype=object)[keep]
    check_images_exist(paths, str(root / "refnames_all.mat"))
    return make_bunch(
        name="LIVE",
        paths=paths,
        y=dmos[keep],
        higher_is_better=False,
        groups=np.asarray(refnames, dtype=object)[keep],
        mos_std=None if mos_std is None else mos_std[keep],
        distortion_type=np.asarray(types, dtype=object)[keep],
        descr=LIVE_DESCR,
        is_reference=is_reference[keep],
        scores_file=str(scores_file),
    )
