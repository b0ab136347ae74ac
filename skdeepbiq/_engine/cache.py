"""A per-image feature cache on disk, safe against interruption."""

from __future__ import annotations

import json
import os
import tempfile

import joblib
import numpy as np
from PIL import Image


def atomic_write(path: str, write) -> None:
    """Write ``path`` with ``write(binary file)`` through a temporary file
    renamed into place, so that readers never see a half-written file."""
    handle, temporary = tempfile.mkstemp(
        dir=os.path.dirname(path), prefix=".tmp-", suffix=".npy"
    )
    try:
        with os.fdopen(handle, "wb") as f:
            write(f)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def cache_location(memory) -> str | None:
    """Folder of ``memory`` (None, a path or a ``joblib.Memory``), or None."""
    if memory is None:
        return None
    if isinstance(memory, str | os.PathLike):
        return os.fspath(memory)
    location = getattr(memory, "location", None)
    return None if location is None else os.fspath(location)


def image_key(image) -> str:
    """Identity of an image for the cache.

    Paths are identified by absolute path, size and modification time, so
    an edited file is featurized again; arrays and PIL images by content.
    """
    if isinstance(image, str | os.PathLike):
        path = os.path.abspath(os.fspath(image))
        stat = os.stat(path)
        return joblib.hash(("path", path, stat.st_size, stat.st_mtime_ns))
    if isinstance(image, Image.Image):
        return joblib.hash(("pil", image.mode, image.size, image.tobytes()))
    return joblib.hash(("array", np.asarray(image)))


class FeatureCache:
    """Feature rows of single images, one ``.npy`` file each.

    Entries live under ``<location>/skdeepbiq-features/<config hash>/``,
    where the hash covers every parameter that changes the features. An entry
    is written to a temporary file and renamed into place, so an interrupted
    run never leaves a half-written entry, and a rerun recomputes only the
    images whose entries are missing.
    """

    def __init__(self, location: str, config: dict):
        self.folder = os.path.join(location, "skdeepbiq-features", joblib.hash(config))
        os.makedirs(self.folder, exist_ok=True)
        description = os.path.join(self.folder, "config.json")
        if not os.path.exists(description):
            atomic_write(
                description,
                lambda f: f.write(json.dumps(config, indent=1, default=str).encode()),
            )

    def _path(self, key: str) -> str:
        return os.path.join(self.folder, key[:2], key + ".npy")

    def load(self, key: str, size: int | None = None) -> np.ndarray | None:
        """The cached row for ``key``, or None (missing, corrupt or wrong size).

        With ``size=None`` any stored array is returned (e.g. trunk maps).

        A corrupt entry (empty, truncated, not a ``.npy`` file) is treated as
        missing, so the image is featurized again and the entry rewritten.
        """
        path = self._path(key)
        try:
            row = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError):
            return None
        return row if size is None or row.shape == (size,) else None

    def save(self, key: str, row: np.ndarray) -> None:
        """Store ``row`` under ``key`` atomically."""
        path = self._path(key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        atomic_write(path, lambda f: np.save(f, row, allow_pickle=False))
