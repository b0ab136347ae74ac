"""Fingerprints of images: which images a model was trained on.

An image's fingerprint is the first 8 bytes of its BLAKE2b hash, as an
unsigned 64-bit integer: of the file's bytes for a path; of the shape, the
dtype and the pixel bytes for an array or a PIL image (so a file and the
same pixels in memory have different fingerprints). ``DeepBIQRegressor.fit``
keeps those of its training images (``training_fingerprints_``, 8 bytes an
image), model files keep them, and :func:`training_overlap` counts the
images of ``X`` among them: a model's figures on its own training images
are no test of it.
"""

from __future__ import annotations

import hashlib
import os

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._engine.images import check_images

__all__ = ["fingerprint_images", "training_overlap"]

#: Bytes of each fingerprint (a uint64).
_DIGEST_SIZE = 8
#: Bytes read from a file at a time.
_BLOCK = 1 << 20


def _fingerprint(image) -> int:
    """The fingerprint of one image; ``OSError`` when its file cannot be read."""
    digest = hashlib.blake2b(digest_size=_DIGEST_SIZE)
    if isinstance(image, str | os.PathLike):
        with open(image, "rb") as file:
            while block := file.read(_BLOCK):
                digest.update(block)
    else:
        pixels = np.ascontiguousarray(np.asarray(image))
        digest.update(repr((pixels.shape, pixels.dtype.str)).encode())
        digest.update(pixels.tobytes())
    return int.from_bytes(digest.digest(), "little")


def fingerprint_images(images, *, skip_unreadable: bool = False) -> np.ndarray:
    """Fingerprints of images: 8-byte BLAKE2b hashes of their contents.

    Parameters
    ----------
    images : sequence of images
        Paths (the file's bytes are hashed), PIL images or arrays (their
        shape, dtype and pixels are hashed).
    skip_unreadable : bool, default=False
        Leave out the files that cannot be read instead of raising.

    Returns
    -------
    fingerprints : ndarray of shape (n_images,) of uint64
        One per image (per readable image with ``skip_unreadable``), in
        order.

    Raises
    ------
    OSError
        A file cannot be read (missing, a folder, no permission), unless
        ``skip_unreadable``.
    """
    fingerprints = []
    for image in images:
        try:
            fingerprints.append(_fingerprint(image))
        except OSError:
            if not skip_unreadable:
                raise
    return np.array(fingerprints, dtype=np.uint64)


def training_overlap(model, X):
    """How many of the images ``X`` a fitted model was trained on.

    Each image's contents are compared with the fingerprints the model kept
    of its training images (``training_fingerprints_``, also kept by model
    files): the same file under another name counts, an image whose
    pixels or file bytes differ in any way does not. Scores and metrics of
    those images are no fair test of the model.

    Parameters
    ----------
    model : DeepBIQRegressor
        Fitted, or loaded with :func:`load_model`.
    X : sequence of images
        Paths, PIL images or HxWxC uint8 arrays; files that cannot be read
        are not counted. A training path counts when the same file is
        given; a training array or PIL image when the same pixels are.

    Returns
    -------
    n_seen : int
        The number of images of ``X`` among the training images (an image
        given twice counts twice).

    Raises
    ------
    ValueError
        The model keeps no fingerprints of its training images: it was
        fitted on precomputed features, or saved by an older skdeepbiq.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeepbiq import CNNCropFeaturizer, DeepBIQRegressor, training_overlap
    >>> rng = np.random.default_rng(0)
    >>> images = [rng.integers(0, 256, (48, 48, 3), dtype=np.uint8) for _ in range(8)]
    >>> model = DeepBIQRegressor(
    ...     CNNCropFeaturizer(weights=None, n_crops=2, crop_size=32)
    ... ).fit(images[:6], np.linspace(20, 80, 6))
    >>> training_overlap(model, images[4:])
    2
    """
    check_is_fitted(model, "head_")
    known = getattr(model, "training_fingerprints_", None)
    if known is None:
        raise ValueError(
            "this model keeps no fingerprints of its training images (fitted "
            "on precomputed features, or saved by an older skdeepbiq), so "
            "which images it was trained on is unknown"
        )
    fingerprints = fingerprint_images(check_images(X), skip_unreadable=True)
    return int(np.isin(fingerprints, known).sum())
