"""Loader of the KADID-10k database."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ._common import (
    check_folder,
    check_images_exist,
    check_root,
    make_bunch,
    parse_float,
    read_csv_rows,
)

#: KADID-10k distortion types by code (the TT of I01_TT_LL.png).
KADID_DISTORTIONS = {
    1: "Gaussian blur",
    2: "Lens blur",
    3: "Motion blur",
    4: "Color diffusion",
    5: "Color shift",
    6: "Color quantization",
    7: "Color saturation 1",
    8: "Color saturation 2",
    9: "JPEG2000",
    10: "JPEG",
    11: "White noise",
    12: "White noise in color component",
    13: "Impulse noise",
    14: "Multiplicative noise",
    15: "Denoise",
    16: "Brighten",
    17: "Darken",
    18: "Mean shift",
    19: "Jitter",
    20: "Non-eccentricity patch",
    21: "Pixelate",
    22: "Quantization",
    23: "Color block",
    24: "High sharpen",
    25: "Contrast change",
}
_KADID_NAME = re.compile(r"I(\d+)_(\d+)_(\d+)\.png", re.IGNORECASE)

KADID_DESCR = """\
KADID-10k (Konstanz Artificially Distorted Image quality Database)
------------------------------------------------------------------
81 reference images and 10,125 distorted versions: 25 distortion types at 5
levels (1 = mildest). The column named "dmos" holds degradation category
ratings averaged over 30 crowd workers on a 1-5 scale, where 5 means the
distortion is imperceptible: despite its name, higher is better. ``mos_std``
is the square root of the "var" column. ``groups`` is the reference id.

Cite:
H. Lin, V. Hosu and D. Saupe, "KADID-10k: A Large-scale Artificially
Distorted IQA Database," Eleventh International Conference on Quality of
Multimedia Experience (QoMEX), 2019.
"""


def load_kadid10k(root):
    """Load the KADID-10k database.

    Reads a local copy in the official layout; nothing is downloaded.

    Expected layout::

        root/
          dmos.csv      columns dist_img, ref_img, dmos, var
                        e.g. "I01_01_01.png,I01.png,4.57,0.496"
          images/       I01.png (references) and I01_01_01.png ...
                        (I<reference>_<type>_<level>.png)

    The ``dmos`` column is, despite its name, a mean degradation category
    rating on a 1-5 scale where 5 means "imperceptible": higher is better.
    ``var`` is the variance of the ratings.

    Parameters
    ----------
    root : str or path-like
        Folder holding ``dmos.csv`` and ``images/``.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        paths : ndarray of shape (n_images,) of str
            Absolute paths of the distorted images.
        y : ndarray of shape (n_images,)
            The ``dmos`` column, 1-5; higher is better.
        higher_is_better : bool
            True.
        groups : ndarray of shape (n_images,) of str
            Reference id from ``ref_img`` (``"I01"`` ... ``"I81"``).
        mos_std : ndarray of shape (n_images,) or None
            ``sqrt(var)``; None when there is no ``var`` column.
        distortion_type : ndarray of shape (n_images,) of int
            Distortion code, 1 to 25; names in ``distortion_names``.
        distortion_level : ndarray of shape (n_images,) of int
            Level, 1 (mildest) to 5.
        distortion_names : dict of int to str
            Name of each distortion code.
        name : str
            ``"KADID-10k"``.
        DESCR : str
            Description and the citation to use.

    Raises
    ------
    FileNotFoundError
        If ``dmos.csv``, ``images/`` or a listed image is missing.
    ValueError
        If a column is missing, a value is not a number or a file name does
        not follow ``I<reference>_<type>_<level>.png``.

    Examples
    --------
    >>> from skdeepbiq.datasets import load_kadid10k
    >>> data = load_kadid10k("kadid10k")  # doctest: +SKIP
    >>> data.y.shape, data.higher_is_better  # doctest: +SKIP
    ((10125,), True)
    """
    root = check_root(root, "KADID-10k")
    scores_file = root / "dmos.csv"
    rows = read_csv_rows(
        scores_file, ["dist_img", "ref_img", "dmos"], "the KADID-10k scores"
    )
    images = check_folder(root / "images", "the KADID-10k images")
    has_var = "var" in rows[0]

    paths, y, mos_std, groups, types, levels = [], [], [], [], [], []
    for i, row in enumerate(rows):
        line = i + 2  # after the header
        match = _KADID_NAME.fullmatch(row["dist_img"])
        if match is None:
            raise ValueError(
                f"{scores_file}, line {line}: expected dist_img like "
                f"I01_01_01.png (reference_type_level), got {row['dist_img']!r}"
            )
        paths.append(str(images / row["dist_img"]))
        y.append(parse_float(row["dmos"], scores_file, line, "dmos"))
        if has_var:
            variance = parse_float(row["var"], scores_file, line, "var")
            if variance < 0:
                raise ValueError(f"{scores_file}, line {line}: negative var {variance}")
            mos_std.append(np.sqrt(variance))
        groups.append(Path(row["ref_img"]).stem)
        types.append(int(match.group(2)))
        levels.append(int(match.group(3)))
    check_images_exist(paths, str(scores_file))
    return make_bunch(
        name="KADID-10k",
        paths=paths,
        y=y,
        higher_is_better=True,
        groups=groups,
        mos_std=mos_std if has_var else None,
        distortion_type=types,
        distortion_level=levels,
        descr=KADID_DESCR,
        distortion_names=dict(KADID_DISTORTIONS),
    )
