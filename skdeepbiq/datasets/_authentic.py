"""Loaders of databases of authentically distorted photographs: CLIVE, KonIQ-10k.

Each photograph is its own content: there are no reference images, so
``groups``, ``distortion_type`` and ``distortion_level`` are None.
"""

from __future__ import annotations

import numpy as np

from ._common import (
    check_folder,
    check_images_exist,
    check_root,
    load_mat_strings,
    load_mat_vector,
    make_bunch,
    parse_float,
    read_csv_rows,
)

CLIVE_N_TRAINING_IMAGES = 7

CLIVE_DESCR = """\
LIVE In the Wild Image Quality Challenge Database (CLIVE)
---------------------------------------------------------
1,162 photographs taken with mobile devices, with authentic (not simulated)
distortions, most of them 500x500 pixels (not all). MOS on a 0-100 scale,
higher is better, from about 175 crowdsourced ratings per image; ``mos_std``
is the standard deviation of those ratings. Seven more images were used to
train the raters; they are left out unless asked for.

Cite, as the database's copyright notice requires:
D. Ghadiyaram and A. C. Bovik, "Massive Online Crowdsourced Study of
Subjective and Objective Picture Quality," IEEE Transactions on Image
Processing, 25(1):372-387, 2016.
D. Ghadiyaram and A. C. Bovik, "LIVE In the Wild Image Quality Challenge
Database," http://live.ece.utexas.edu/research/ChallengeDB/index.html, 2015.
"""

KONIQ_DESCR = """\
KonIQ-10k
---------
10,073 photographs from the YFCC100M collection with authentic distortions,
each rated by about 120 crowd workers on a 1-5 scale. ``MOS`` (1-5) comes
with ``SD``, the standard deviation of the ratings; ``MOS_zscore`` is the
mean of the raters' z-scores rescaled to about 0-100 (no standard deviation
on that scale is distributed). Higher is better.

Cite:
V. Hosu, H. Lin, T. Sziranyi and D. Saupe, "KonIQ-10k: An Ecologically
Valid Database for Deep Learning of Blind Image Quality Assessment," IEEE
Transactions on Image Processing, 29:4041-4056, 2020.
"""


def load_clive(root, *, include_training_images=False):
    """Load the LIVE In the Wild Image Quality Challenge Database (CLIVE).

    Reads a local copy of the official release; nothing is downloaded.

    Expected layout (``ChallengeDB_release``)::

        root/
          Images/                      the 1,162 test images (.bmp, .JPG)
          Images/trainingImages/       the 7 rater-training images
          Data/AllImages_release.mat   AllImages_release: 1169x1 cell array
                                       of file names; the first 7 are the
                                       training images
          Data/AllMOS_release.mat      AllMOS_release: 1x1169 MOS, 0-100
          Data/AllStdDev_release.mat   AllStdDev_release: 1x1169 std of
                                       the ratings

    Parameters
    ----------
    root : str or path-like
        Folder holding ``Images/`` and ``Data/``.
    include_training_images : bool, default=False
        Also return the 7 rater-training images (the first 7 entries),
        which are not part of the test set that papers report on.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        paths : ndarray of shape (n_images,) of str
            Absolute paths of the images, in the release's order.
        y : ndarray of shape (n_images,)
            MOS, 0-100.
        higher_is_better : bool
            True.
        groups : None
            No reference images.
        mos_std : ndarray of shape (n_images,)
            Standard deviation of each image's ratings.
        distortion_type, distortion_level : None
            Authentic distortions have no type or level.
        is_training_image : ndarray of shape (n_images,) of bool
            True for the rater-training images (all False by default).
        name : str
            ``"CLIVE"``.
        DESCR : str
            Description and the citation to use.

    Raises
    ------
    FileNotFoundError
        If a file of the layout or a listed image is missing.
    ValueError
        If a file lacks its variable or the three files disagree in length.

    Examples
    --------
    >>> from skdeepbiq.datasets import load_clive
    >>> data = load_clive("ChallengeDB_release")  # doctest: +SKIP
    >>> data.paths.shape, data.y.shape, data.mos_std.shape  # doctest: +SKIP
    ((1162,), (1162,), (1162,))
    """
    root = check_root(root, "the LIVE In the Wild Image Quality Challenge Database")
    data = root / "Data"
    names_file = data / "AllImages_release.mat"
    names = load_mat_strings(names_file, "AllImages_release")
    if len(names) <= CLIVE_N_TRAINING_IMAGES:
        raise ValueError(
            f"{names_file}: expected the variable 'AllImages_release' with "
            f"1169 names (7 training images, then 1162 test images), found "
            f"{len(names)}"
        )
    why = f" (one per name in {names_file.name})"
    mos = load_mat_vector(
        data / "AllMOS_release.mat", "AllMOS_release", len(names), why
    )
    std = load_mat_vector(
        data / "AllStdDev_release.mat", "AllStdDev_release", len(names), why
    )

    images = check_folder(root / "Images", "the CLIVE images")
    is_training = np.arange(len(names)) < CLIVE_N_TRAINING_IMAGES
    paths = np.asarray(
        [
            str((images / "trainingImages" if training else images) / name)
            for name, training in zip(names, is_training, strict=True)
        ],
        dtype=object,
    )
    keep = np.ones(len(names), bool) if include_training_images else ~is_training
    paths = paths[keep]
    check_images_exist(paths, str(names_file))
    return make_bunch(
        name="CLIVE",
        paths=paths,
        y=mos[keep],
        higher_is_better=True,
        mos_std=std[keep],
        descr=CLIVE_DESCR,
        is_training_image=is_training[keep],
    )


_KONIQ_SIZES = ("1024x768", "512x384")
_KONIQ_SCORES = ("MOS", "MOS_zscore")


def load_koniq10k(root, *, image_size="1024x768", score="MOS"):
    """Load the KonIQ-10k database.

    Reads a local copy in the official layout; nothing is downloaded.

    Expected layout::

        root/
          koniq10k_scores_and_distributions.csv
              columns image_name, c1..c5, c_total, MOS, SD, MOS_zscore
              (other columns are ignored)
          1024x768/     the images at full size   (koniq10k_1024x768.zip)
          512x384/      the images at half size   (koniq10k_512x384.zip)

    Only the folder of the chosen ``image_size`` is needed.

    Parameters
    ----------
    root : str or path-like
        Folder holding the scores file and the image folder.
    image_size : {"1024x768", "512x384"}, default="1024x768"
        Which of the two distributed sizes to point ``paths`` at.
    score : {"MOS", "MOS_zscore"}, default="MOS"
        Column used as ``y``: ``"MOS"`` (1-5, with ``SD`` as ``mos_std``) or
        ``"MOS_zscore"`` (about 0-100, the scale most papers report; then
        ``mos_std`` is None, since no standard deviation on that scale is
        distributed).

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        paths : ndarray of shape (n_images,) of str
            Absolute paths of the images.
        y : ndarray of shape (n_images,)
            The ``score`` column; higher is better.
        higher_is_better : bool
            True.
        groups : None
            No reference images.
        mos_std : ndarray of shape (n_images,) or None
            ``SD`` when ``score="MOS"``, else None.
        distortion_type, distortion_level : None
            Authentic distortions have no type or level.
        name : str
            ``"KonIQ-10k"``.
        DESCR : str
            Description and the citation to use.

    Raises
    ------
    FileNotFoundError
        If the scores file, the image folder or a listed image is missing.
    ValueError
        If a column is missing or a value is not a number.

    Examples
    --------
    >>> from skdeepbiq.datasets import load_koniq10k
    >>> data = load_koniq10k("koniq10k", image_size="512x384")  # doctest: +SKIP
    >>> data.y.shape  # doctest: +SKIP
    (10073,)
    """
    if image_size not in _KONIQ_SIZES:
        raise ValueError(
            f"image_size must be one of {list(_KONIQ_SIZES)}, got {image_size!r}"
        )
    if score not in _KONIQ_SCORES:
        raise ValueError(f"score must be one of {list(_KONIQ_SCORES)}, got {score!r}")
    root = check_root(root, "KonIQ-10k")
    scores_file = root / "koniq10k_scores_and_distributions.csv"
    required = ["image_name", score] + (["SD"] if score == "MOS" else [])
    rows = read_csv_rows(scores_file, required, "the KonIQ-10k scores")
    images = check_folder(root / image_size, f"the KonIQ-10k images at {image_size}")

    paths = [str(images / row["image_name"]) for row in rows]
    y = [
        parse_float(row[score], scores_file, i + 2, score) for i, row in enumerate(rows)
    ]
    mos_std = None
    if score == "MOS":
        mos_std = [
            parse_float(row["SD"], scores_file, i + 2, "SD")
            for i, row in enumerate(rows)
        ]
    check_images_exist(paths, str(scores_file))
    return make_bunch(
        name="KonIQ-10k",
        paths=paths,
        y=y,
        higher_is_better=True,
        mos_std=mos_std,
        descr=KONIQ_DESCR,
    )
