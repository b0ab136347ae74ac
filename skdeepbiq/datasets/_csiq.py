"""Loader of the CSIQ database, from its per-image DMOS table saved as text."""

from __future__ import annotations

import csv
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

#: dst_idx of the CSIQ table -> (distortion type = folder, code in file names)
CSIQ_DISTORTIONS = {
    1: ("awgn", "AWGN"),
    2: ("jpeg", "JPEG"),
    3: ("jpeg2000", "jpeg2000"),
    4: ("fnoise", "fnoise"),
    5: ("blur", "BLUR"),
    6: ("contrast", "contrast"),
}
_CSIQ_COLUMNS = ("image", "dst_idx", "dst_type", "dst_lev", "dmos_std", "dmos")

CSIQ_DESCR = """\
CSIQ (Categorical Subjective Image Quality) database
----------------------------------------------------
30 reference images and 866 distorted versions: additive white Gaussian
noise, JPEG, JPEG2000, additive pink Gaussian noise ("fnoise"), Gaussian
blur and global contrast decrements, at 4 or 5 levels (1 = mildest). Scores
are DMOS on a 0-1 scale: higher means worse. ``groups`` is the reference
image's name.

Cite:
E. C. Larson and D. M. Chandler, "Most apparent distortion: full-reference
image quality assessment and the role of strategy," Journal of Electronic
Imaging, 19(1):011006, 2010.
"""


def _read_csiq_table(path: Path) -> list[dict]:
    """Rows of the CSIQ per-image table (tab- or comma-separated)."""
    check_file(path, "the CSIQ per-image DMOS table (" + ", ".join(_CSIQ_COLUMNS) + ")")
    with open(path, newline="", encoding="utf-8-sig") as file:
        lines = [(i, line) for i, line in enumerate(file, start=1) if line.strip()]
    if not lines:
        raise ValueError(f"{path}: empty; expected the CSIQ per-image DMOS table")
    delimiter = "\t" if "\t" in lines[0][1] else ","
    records = [
        (i, [field.strip() for field in next(csv.reader([line], delimiter=delimiter))])
        for i, line in lines
    ]
    columns = list(_CSIQ_COLUMNS)
    first_line, first = records[0]
    if len(first) < 2 or not first[1].isdigit():  # a header: use its names
        header = [name.lower() for name in first]
        missing = [name for name in _CSIQ_COLUMNS if name not in header]
        if missing:
            raise ValueError(
                f"{path}, line {first_line}: header lacks the columns {missing}; "
                f"expected {list(_CSIQ_COLUMNS)}"
            )
        columns = header
        records = records[1:]
    rows = []
    for line, fields in records:
        if len(fields) < len(columns):
            raise ValueError(
                f"{path}, line {line}: expected {len(columns)} fields "
                f"({', '.join(columns)}) separated by {delimiter!r}, found {len(fields)}"
            )
        rows.append(
            {"line": line, **dict(zip(columns, fields[: len(columns)], strict=True))}
        )
    if not rows:
        raise ValueError(f"{path}: no data rows")
    return rows


def _parse_int(text: str, path: Path, line: int, column: str) -> int:
    value = parse_float(text, path, line, column)
    if value != int(value):
        raise ValueError(
            f"{path}, line {line}: column {column!r} must be an integer, got {text!r}"
        )
    return int(value)


def load_csiq(root, *, scores_file="csiq.DMOS.txt"):
    """Load the CSIQ database.

    Reads a local copy; nothing is downloaded. CSIQ distributes its scores
    as a spreadsheet (``csiq.DMOS.xlsx``); this loader reads its per-image
    table saved as text, so that no spreadsheet reader is needed.

    Expected layout::

        root/
          csiq.DMOS.txt      one row per distorted image, six columns:
                             image, dst_idx, dst_type, dst_lev, dmos_std, dmos
                             e.g. "1600<TAB>1<TAB>noise<TAB>1<TAB>0.012<TAB>0.062"
          dst_imgs/<type>/<image>.<CODE>.<dst_lev>.png
                             e.g. dst_imgs/awgn/1600.AWGN.1.png
          src_imgs/          the references (not read)

    The table is the per-image sheet of the official ``csiq.DMOS.xlsx``
    saved as tab-separated (or comma-separated) text; a header row with
    those six column names is optional (without one the columns are taken
    in the order above). This is the format of the ``csiq.beta.txt`` file
    used by DBCNN, which can be passed as ``scores_file``. ``dst_idx``
    selects the folder and file-name code: 1 ``awgn``/``AWGN``, 2
    ``jpeg``/``JPEG``, 3 ``jpeg2000``, 4 ``fnoise``, 5 ``blur``/``BLUR``,
    6 ``contrast``. Image files are matched case-insensitively anywhere
    under ``dst_imgs/``.

    Parameters
    ----------
    root : str or path-like
        Folder holding the table and ``dst_imgs/``.
    scores_file : str, default="csiq.DMOS.txt"
        Name of the table inside ``root``.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        paths : ndarray of shape (n_images,) of str
            Absolute paths of the images, in the table's order.
        y : ndarray of shape (n_images,)
            DMOS, 0-1; higher is worse.
        higher_is_better : bool
            False.
        groups : ndarray of shape (n_images,) of str
            Reference image name (the ``image`` column).
        mos_std : ndarray of shape (n_images,)
            ``dmos_std``.
        distortion_type : ndarray of shape (n_images,) of str
            ``"awgn"``, ``"jpeg"``, ``"jpeg2000"``, ``"fnoise"``, ``"blur"``
            or ``"contrast"``.
        distortion_level : ndarray of shape (n_images,) of int
            ``dst_lev``, 1 (mildest) to 5.
        name : str
            ``"CSIQ"``.
        DESCR : str
            Description and the citation to use.

    Raises
    ------
    FileNotFoundError
        If the table, ``dst_imgs/`` or a listed image is missing.
    ValueError
        If a row has too few fields, a non-numeric value or an unknown
        ``dst_idx``.

    Examples
    --------
    >>> from skdeepbiq.datasets import load_csiq
    >>> data = load_csiq("CSIQ")  # doctest: +SKIP
    >>> data.y.shape  # doctest: +SKIP
    (866,)
    """
    root = check_root(root, "the CSIQ database")
    table = root / scores_file
    rows = _read_csiq_table(table)
    images = check_folder(root / "dst_imgs", "the CSIQ distorted images")
    files = {
        path.name.lower(): path
        for path in case_insensitive_files(images, recursive=True).values()
    }

    paths, y, mos_std, groups, types, levels = [], [], [], [], [], []
    for row in rows:
        line = row["line"]
        index = _parse_int(row["dst_idx"], table, line, "dst_idx")
        if index not in CSIQ_DISTORTIONS:
            raise ValueError(
                f"{table}, line {line}: dst_idx must be 1 to 6, got {row['dst_idx']!r}"
            )
        folder, code = CSIQ_DISTORTIONS[index]
        level = _parse_int(row["dst_lev"], table, line, "dst_lev")
        file_name = f"{row['image']}.{code}.{level}.png"
        paths.append(str(files.get(file_name.lower(), images / folder / file_name)))
        y.append(parse_float(row["dmos"], table, line, "dmos"))
        mos_std.append(parse_float(row["dmos_std"], table, line, "dmos_std"))
        groups.append(row["image"])
        types.append(folder)
        levels.append(level)
    check_images_exist(paths, str(table))
    return make_bunch(
        name="CSIQ",
        paths=paths,
        y=y,
        higher_is_better=False,
        groups=groups,
        mos_std=mos_std,
        distortion_type=types,
        distortion_level=levels,
        descr=CSIQ_DESCR,
    )
