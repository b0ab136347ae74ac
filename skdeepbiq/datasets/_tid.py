"""Loaders of the Tampere Image Databases TID2008 and TID2013."""

from __future__ import annotations

import re
from pathlib import Path

from ._common import (
    case_insensitive_files,
    check_file,
    check_folder,
    check_images_exist,
    check_root,
    make_bunch,
    parse_float,
)

#: TID2013 distortion types by code (the two-digit TT of iXX_TT_L.bmp);
#: TID2008 has the first 17.
TID_DISTORTIONS = {
    1: "Additive Gaussian noise",
    2: "Additive noise in color components",
    3: "Spatially correlated noise",
    4: "Masked noise",
    5: "High frequency noise",
    6: "Impulse noise",
    7: "Quantization noise",
    8: "Gaussian blur",
    9: "Image denoising",
    10: "JPEG compression",
    11: "JPEG2000 compression",
    12: "JPEG transmission errors",
    13: "JPEG2000 transmission errors",
    14: "Non eccentricity pattern noise",
    15: "Local block-wise distortions of different intensity",
    16: "Mean shift (intensity shift)",
    17: "Contrast change",
    18: "Change of color saturation",
    19: "Multiplicative Gaussian noise",
    20: "Comfort noise",
    21: "Lossy compression of noisy images",
    22: "Image color quantization with dither",
    23: "Chromatic aberrations",
    24: "Sparse sampling and reconstruction",
}
_TID_NAME = re.compile(r"i(\d+)_(\d+)_(\d+)\.bmp", re.IGNORECASE)

TID2008_DESCR = """\
TID2008 (Tampere Image Database 2008)
-------------------------------------
25 reference images and 1,700 distorted versions: 17 distortion types at 4
levels. MOS from pairwise comparisons, 0-9 in principle (about 0-7.7 in
practice), higher is better. ``groups`` is the reference id (``"I01"``...).

Cite:
N. Ponomarenko, V. Lukin, A. Zelensky, K. Egiazarian, M. Carli and
F. Battisti, "TID2008 - A Database for Evaluation of Full-Reference Visual
Quality Assessment Metrics," Advances of Modern Radioelectronics,
10:30-45, 2009.
"""

TID2013_DESCR = """\
TID2013 (Tampere Image Database 2013)
-------------------------------------
25 reference images and 3,000 distorted versions: 24 distortion types at 5
levels (1 = mildest). MOS from pairwise comparisons, 0-9 in principle (about
0-7.2 in practice), higher is better; ``mos_std`` from ``mos_std.txt``.
``groups`` is the reference id (``"I01"``...).

Cite:
N. Ponomarenko, L. Jin, O. Ieremeiev, V. Lukin, K. Egiazarian, J. Astola,
B. Vozel, K. Chehdi, M. Carli, F. Battisti and C.-C. J. Kuo, "Image
database TID2013: Peculiarities, results and perspectives," Signal
Processing: Image Communication, 30:57-77, 2015.
"""


def _read_tid_scores(path: Path) -> list[tuple[int, float, str]]:
    """(line, MOS, file name) of each line "MOS name" of mos_with_names.txt."""
    check_file(path, 'one line "MOS file_name" per distorted image')
    entries = []
    with open(path, encoding="latin-1") as file:
        for line, text in enumerate(file, start=1):
            fields = text.split()
            if not fields:
                continue
            if len(fields) != 2:
                raise ValueError(
                    f'{path}, line {line}: expected "MOS file_name", got {text.strip()!r}'
                )
            entries.append((line, parse_float(fields[0], path, line, "MOS"), fields[1]))
    if not entries:
        raise ValueError(f"{path}: no scores")
    return entries


def _load_tid(root, database: str, n_types: int, descr: str):
    root = check_root(root, database)
    scores_file = root / "mos_with_names.txt"
    entries = _read_tid_scores(scores_file)
    images = check_folder(root / "distorted_images", f"the {database} distorted images")
    files = case_insensitive_files(images)

    paths, groups, types, levels = [], [], [], []
    for line, _, file_name in entries:
        match = _TID_NAME.fullmatch(file_name)
        if match is None:
            raise ValueError(
                f"{scores_file}, line {line}: expected a file name like "
                f"i01_01_1.bmp (reference_type_level), got {file_name!r}"
            )
        reference, kind, level = (int(part) for part in match.groups())
        if not 1 <= kind <= n_types:
            raise ValueError(
                f"{scores_file}, line {line}: distortion type {kind} of "
                f"{file_name!r} is not one of the {n_types} types of {database}"
            )
        paths.append(str(files.get(file_name.lower(), images / file_name)))
        groups.append(f"I{reference:02d}")
        types.append(kind)
        levels.append(level)

    mos_std = None
    std_file = root / "mos_std.txt"
    if std_file.is_file():
        with open(std_file, encoding="latin-1") as file:
            texts = [
                (i, text.strip())
                for i, text in enumerate(file, start=1)
                if text.strip()
            ]
        if len(texts) != len(entries):
            raise ValueError(
                f"{std_file}: expected {len(entries)} values (one per line of "
                f"{scores_file.name}), found {len(texts)}"
            )
        mos_std = [parse_float(text, std_file, i, "std") for i, text in texts]
    check_images_exist(paths, str(scores_file))
    return make_bunch(
        name=database,
        paths=paths,
        y=[mos for _, mos, _ in entries],
        higher_is_better=True,
        groups=groups,
        mos_std=mos_std,
        distortion_type=types,
        distortion_level=levels,
        descr=descr,
        distortion_names={
            code: TID_DISTORTIONS[code] for code in range(1, n_types + 1)
        },
    )


_TID_DOC = """Load the {database} database.

    Reads a local copy in the official layout; nothing is downloaded.

    Expected layout::

        root/
          mos_with_names.txt   one line "MOS file_name" per distorted image,
                               e.g. "5.51429 i01_01_1.bmp"
          mos_std.txt          optional: one standard deviation per line, in
                               the same order{std_note}
          distorted_images/    i01_01_1.bmp ... (iXX_TT_L: reference XX,
                               distortion type TT, level L)
          reference_images/    I01.BMP ... (not read)

    File names are matched case-insensitively (``I25_01_1.BMP`` is found
    for ``i25_01_1.bmp``).

    Parameters
    ----------
    root : str or path-like
        Folder holding ``mos_with_names.txt`` and ``distorted_images/``.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        paths : ndarray of shape (n_images,) of str
            Absolute paths of the distorted images, in the file's order.
        y : ndarray of shape (n_images,)
            MOS; higher is better.
        higher_is_better : bool
            True.
        groups : ndarray of shape (n_images,) of str
            Reference id, ``"I01"`` to ``"I25"``.
        mos_std : ndarray of shape (n_images,) or None
            From ``mos_std.txt``, None when that file is absent.
        distortion_type : ndarray of shape (n_images,) of int
            Distortion code TT, 1 to {n_types}; names in ``distortion_names``.
        distortion_level : ndarray of shape (n_images,) of int
            Level L, 1 (mildest) to {n_levels}.
        distortion_names : dict of int to str
            Name of each distortion code.
        name : str
            ``"{database}"``.
        DESCR : str
            Description and the citation to use.

    Raises
    ------
    FileNotFoundError
        If ``mos_with_names.txt``, ``distorted_images/`` or a listed image
        is missing.
    ValueError
        If a line is malformed, a distortion code is out of range, or
        ``mos_std.txt`` has a different number of lines.

    Examples
    --------
    >>> from skdeepbiq.datasets import {function}
    >>> data = {function}("{folder}")  # doctest: +SKIP
    >>> data.y.shape  # doctest: +SKIP
    ({n_images},)
    """


def load_tid2008(root):
    return _load_tid(root, "TID2008", 17, TID2008_DESCR)


def load_tid2013(root):
    return _load_tid(root, "TID2013", 24, TID2013_DESCR)


load_tid2008.__doc__ = _TID_DOC.format(
    database="TID2008",
    function="load_tid2008",
    folder="tid2008",
    n_types=17,
    n_levels=4,
    n_images=1700,
    std_note=" (not part of every TID2008 copy)",
)
load_tid2013.__doc__ = _TID_DOC.format(
    database="TID2013",
    function="load_tid2013",
    folder="tid2013",
    n_types=24,
    n_levels=5,
    n_images=3000,
    std_note="",
)
