"""Shared helpers of the dataset loaders: reading files, checking them, Bunch.

Every loader reads a local copy of a database in its official layout and
returns the same kind of :class:`~sklearn.utils.Bunch`; the helpers here
turn a missing or inconsistent file into an error that names the file and
what was expected of it.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from scipy import io as sio
from sklearn.utils import Bunch


def absolute_path(path) -> Path:
    """``path`` (str or path-like, ``~`` expanded) as an absolute Path."""
    return Path(os.path.abspath(os.path.expanduser(os.fspath(path))))


def check_root(root, database: str) -> Path:
    """Return ``root`` as an absolute Path, or raise if it is not a folder."""
    path = absolute_path(root)
    if not path.is_dir():
        raise FileNotFoundError(
            f"{path}: no such folder; expected the root of a local copy of "
            f"{database} in its official layout"
        )
    return path


def check_file(path: Path, expected: str) -> Path:
    """Raise FileNotFoundError naming ``path`` and what it should hold."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found; expected {expected}")
    return path


def check_folder(path: Path, expected: str) -> Path:
    """Raise FileNotFoundError naming ``path`` and what it should hold."""
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: folder not found; expected {expected}")
    return path


def _load_mat_variable(path: Path, variable: str) -> np.ndarray:
    """One variable of a MATLAB (v4 to v7.2) file."""
    check_file(path, f"a MATLAB file with the variable {variable!r}")
    try:
        contents = sio.loadmat(path)
    except NotImplementedError as error:  # v7.3 (HDF5) files
        raise ValueError(f"{path}: cannot read this MATLAB file: {error}") from error
    except Exception as error:  # scipy raises several types on a corrupt file
        raise ValueError(f"{path}: not a readable MATLAB file: {error}") from error
    if variable not in contents:
        found = sorted(key for key in contents if not key.startswith("__"))
        raise ValueError(
            f"{path}: expected the variable {variable!r}, found {found or 'none'}"
        )
    return contents[variable]


def _check_count(
    path: Path, variable: str, values: Sequence, n_expected: int | None, why: str
) -> None:
    if n_expected is not None and len(values) != n_expected:
        raise ValueError(
            f"{path}: expected the variable {variable!r} with {n_expected} "
            f"values{why}, found {len(values)}"
        )


def load_mat_vector(
    path: Path, variable: str, n_expected: int | None = None, why: str = ""
) -> np.ndarray:
    """A numeric MATLAB variable as a flat float array of a known length.

    ``why`` completes the error message, e.g. ``" (one per image name)"``.
    """
    value = _load_mat_variable(path, variable)
    try:
        values = np.asarray(value, dtype=np.float64).ravel()
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"{path}: the variable {variable!r} must be numeric ({error})"
        ) from error
    _check_count(path, variable, values, n_expected, why)
    if not np.all(np.isfinite(values)):
        raise ValueError(
            f"{path}: the variable {variable!r} has "
            f"{int(np.sum(~np.isfinite(values)))} non-finite value(s)"
        )
    return values


def _cell_to_str(cell) -> str | None:
    """Unwrap a MATLAB string as loadmat returns it from a cell array."""
    while isinstance(cell, np.ndarray):
        if cell.size != 1:
            return None if cell.size else ""
        cell = cell.ravel()[0]
    return cell.strip() if isinstance(cell, str) else None


def load_mat_strings(
    path: Path, variable: str, n_expected: int | None = None, why: str = ""
) -> list[str]:
    """A MATLAB cell array (or char matrix) of strings as a list of str."""
    value = _load_mat_variable(path, variable)
    if isinstance(value, np.ndarray) and value.dtype.kind == "U":  # char matrix
        strings = [str(item).strip() for item in value.ravel()]
    else:
        strings = [_cell_to_str(cell) for cell in np.asarray(value).ravel()]
        if any(string is None for string in strings):
            bad = next(i for i, string in enumerate(strings) if string is None)
            raise ValueError(
                f"{path}: the variable {variable!r} must be a cell array of "
                f"strings; entry {bad + 1} is not a string"
            )
    _check_count(path, variable, strings, n_expected, why)
    return strings


def read_csv_rows(path: Path, required: Iterable[str], expected: str) -> list[dict]:
    """Rows of a CSV file with a header, checking the required columns.

    A UTF-8 byte-order mark (as written by spreadsheet programs) is ignored.
    """
    check_file(path, expected)
    with open(path, newline="", encoding="utf-8-sig") as file:
        reader = csv.DictReader(file)
        columns = [name.strip() for name in (reader.fieldnames or [])]
        missing = [name for name in required if name not in columns]
        if missing:
            raise ValueError(
                f"{path}: expected the columns {list(required)}; missing "
                f"{missing}, found {columns}"
            )
        rows = [
            {key.strip(): (value or "").strip() for key, value in row.items() if key}
            for row in reader
        ]
    if not rows:
        raise ValueError(f"{path}: no data rows; expected {expected}")
    return rows


def parse_float(text: str, path: Path, line: int, column: str) -> float:
    """``float(text)`` with an error naming the file, line and column."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(
            f"{path}, line {line}: column {column!r} must be a number, got {text!r}"
        ) from None
    if not np.isfinite(value):
        raise ValueError(f"{path}, line {line}: column {column!r} is {text!r}")
    return value


def case_insensitive_files(folder: Path, recursive: bool = False) -> dict[str, Path]:
    """Map lower-cased file names (relative to ``folder``) to actual paths.

    Databases distributed from Windows machines mix ``I01.BMP`` and
    ``i01_01_1.bmp``; looking names up through this map finds them on
    case-sensitive file systems too.
    """
    files = folder.rglob("*") if recursive else folder.iterdir()
    return {
        path.relative_to(folder).as_posix().lower(): path
        for path in files
        if path.is_file()
    }


def check_images_exist(paths: Sequence[str], listed_in: str) -> None:
    """Raise FileNotFoundError naming the first missing image files."""
    missing = [path for path in paths if not os.path.isfile(path)]
    if missing:
        shown = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
        raise FileNotFoundError(
            f"{len(missing)} of the {len(paths)} images listed in {listed_in} "
            f"are missing: {shown}"
        )


def make_bunch(
    *,
    name: str,
    paths: Sequence[str],
    y: Sequence[float],
    higher_is_better: bool,
    descr: str,
    groups: Sequence | None = None,
    mos_std: Sequence[float] | None = None,
    distortion_type: Sequence | None = None,
    distortion_level: Sequence[int] | None = None,
    **extra,
) -> Bunch:
    """The Bunch every loader returns; see ``skdeepbiq.datasets``."""

    def as_array(values, dtype=None):
        if values is None:
            return None
        if dtype is None and all(isinstance(value, str) for value in values):
            dtype = object
        return np.asarray(values, dtype=dtype)

    return Bunch(
        paths=np.asarray([os.fspath(path) for path in paths], dtype=object),
        y=np.asarray(y, dtype=np.float64),
        higher_is_better=bool(higher_is_better),
        groups=as_array(groups),
        mos_std=as_array(mos_std, np.float64),
        distortion_type=as_array(distortion_type),
        distortion_level=as_array(distortion_level),
        name=name,
        DESCR=descr,
        **extra,
    )
