"""Loading any image quality dataset described by a CSV manifest."""

from __future__ import annotations

import os

from ._common import (
    absolute_path,
    check_images_exist,
    make_bunch,
    parse_float,
    read_csv_rows,
)

#: The columns that can hold a manifest's scores, the first preferred.
SCORE_COLUMNS = ("mos", "score")
_EXPECTED = "a CSV manifest with the columns image, mos (or score)[, mos_std][, group]"


def load_manifest(path, *, higher_is_better=True, name=None):
    """Load an image quality dataset listed in a CSV file.

    The CSV has a header row and one row per image; columns:

    - ``image`` (required): path of the image, relative to the CSV file's
      folder or absolute;
    - ``mos`` or ``score`` (required): the subjective score (``mos`` when
      both are there; ``score`` is the column ``skdeepbiq score`` writes);
    - ``mos_std`` (optional): standard deviation of the image's ratings;
    - ``group`` (optional): content or reference id, for group-aware
      splitting.

    Other columns are ignored, so the ``mos.csv`` of the clive-dev folder
    (``image, original_name, mos, mos_std, width, height``) reads as it is.
    The file is read with the standard :mod:`csv` module; a UTF-8
    byte-order mark is ignored.

    Parameters
    ----------
    path : str or path-like
        The CSV file.
    higher_is_better : bool, default=True
        Whether ``mos`` grows with quality (False for DMOS).
    name : str, default=None
        Name of the dataset; None uses the name of the CSV's folder.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        paths : ndarray of shape (n_images,) of str
            Absolute paths of the images, in the file's order.
        y : ndarray of shape (n_images,)
            The ``mos`` (or ``score``) column.
        higher_is_better : bool
            As given.
        groups : ndarray of shape (n_images,) of str or None
            The ``group`` column, None without one.
        mos_std : ndarray of shape (n_images,) or None
            The ``mos_std`` column, None without one.
        distortion_type, distortion_level : None
            Not read from manifests.
        name : str
            ``name``, or the CSV's folder name.
        DESCR : str
            Where the data came from.

    Raises
    ------
    FileNotFoundError
        If the CSV or a listed image is missing.
    ValueError
        If a required column is missing (the message lists the columns
        found) or a value is empty or not a number.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from PIL import Image
    >>> from skdeepbiq.datasets import load_manifest
    >>> folder = Path(tempfile.mkdtemp())
    >>> Image.new("RGB", (8, 8)).save(folder / "a.png")
    >>> Image.new("RGB", (8, 8)).save(folder / "b.png")
    >>> _ = (folder / "scores.csv").write_text("image,mos\\na.png,71.5\\nb.png,20\\n")
    >>> data = load_manifest(folder / "scores.csv", name="mine")
    >>> data.y
    array([71.5, 20. ])
    >>> data.mos_std is None, data.groups is None
    (True, True)
    """
    path = absolute_path(path)
    rows = read_csv_rows(path, ["image"], _EXPECTED)
    score_column = next((name for name in SCORE_COLUMNS if name in rows[0]), None)
    if score_column is None:
        raise ValueError(
            f"{path}: no score column: expected 'mos' or 'score', found the "
            f"columns {list(rows[0])}"
        )
    has_std = "mos_std" in rows[0]
    has_group = "group" in rows[0]

    paths, y, mos_std, groups = [], [], [], []
    for i, row in enumerate(rows):
        line = i + 2  # after the header
        if not row["image"]:
            raise ValueError(f"{path}, line {line}: empty 'image'")
        paths.append(os.path.normpath(path.parent / row["image"]))
        y.append(parse_float(row[score_column], path, line, score_column))
        if has_std:
            mos_std.append(parse_float(row["mos_std"], path, line, "mos_std"))
        if has_group:
            if not row["group"]:
                raise ValueError(f"{path}, line {line}: empty 'group'")
            groups.append(row["group"])
    check_images_exist(paths, str(path))
    return make_bunch(
        name=name if name is not None else path.parent.name,
        paths=paths,
        y=y,
        higher_is_better=higher_is_better,
        groups=groups if has_group else None,
        mos_std=mos_std if has_std else None,
        descr=f"Image quality dataset read from the manifest {path}.",
    )
