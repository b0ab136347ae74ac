"""A synthetic image quality dataset with a known quality order, for tests and demos."""

from __future__ import annotations

import io
import os
from numbers import Integral, Real
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter
from sklearn.utils import Bunch, check_random_state

DISTORTIONS = ("blur", "noise", "jpeg", "contrast")

SYNTHETIC_DESCR = """\
Synthetic image quality dataset (skdeepbiq.datasets.make_synthetic_iqa)
-----------------------------------------------------------------------
Procedural reference images (smooth colour gradients, flat shapes and
sinusoidal texture) and distorted versions of them at graded levels:
Gaussian blur, additive Gaussian noise, JPEG compression and contrast
reduction. The scores are NOT human opinions: y = 100 * (1 - level /
(levels + 1)) (plus optional Gaussian noise) only encodes the known order
"a stronger distortion of the same image is worse", 100 for the references.
Use it to test code and pipelines, never to report image quality results.
"""


def _reference_image(height: int, width: int, rng: np.random.RandomState) -> np.ndarray:
    """A procedural RGB image in [0, 1]: gradient, shapes, texture."""
    rows, cols = np.mgrid[0:height, 0:width]
    rows = rows / max(height - 1, 1)
    cols = cols / max(width - 1, 1)

    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * cols + np.sin(angle) * rows
    ramp = (ramp - ramp.min()) / max(np.ptp(ramp), 1e-12)
    start, end = rng.uniform(0.15, 0.85, size=(2, 3))
    image = start + (end - start) * ramp[..., None]

    for _ in range(rng.randint(3, 7)):
        colour = rng.uniform(0.05, 0.95, size=3)
        centre_row, centre_col = rng.uniform(0.1, 0.9, size=2)
        if rng.rand() < 0.5:
            radius = rng.uniform(0.08, 0.3)
            inside = (rows - centre_row) ** 2 + (cols - centre_col) ** 2 < radius**2
        else:
            half_height, half_width = rng.uniform(0.05, 0.25, size=2)
            inside = (np.abs(rows - centre_row) < half_height) & (
                np.abs(cols - centre_col) < half_width
            )
        image[inside] = colour

    for _ in range(3):
        frequency = rng.uniform(4, 24)
        direction = rng.uniform(0, 2 * np.pi)
        phase = rng.uniform(0, 2 * np.pi)
        amplitude = rng.uniform(0.02, 0.06)
        grating = np.sin(
            2
            * np.pi
            * frequency
            * (np.cos(direction) * cols + np.sin(direction) * rows)
            + phase
        )
        image = image + amplitude * grating[..., None]
    return np.clip(image, 0.0, 1.0)


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)


def _distort(
    image: np.ndarray, distortion: str, strength: float, rng: np.random.RandomState
) -> np.ndarray:
    """Apply ``distortion`` at ``strength`` in (0, 1] to a uint8 RGB image.

    blur: Gaussian blur of radius 4 * strength pixels; noise: additive
    Gaussian noise of standard deviation 40 * strength grey levels; jpeg:
    JPEG re-encoding at quality round(50 - 46 * strength), decoded back;
    contrast: the pixels pulled towards their mean grey by a factor
    1 - 0.8 * strength.
    """
    if distortion == "blur":
        blurred = Image.fromarray(image).filter(
            ImageFilter.GaussianBlur(4.0 * strength)
        )
        return np.asarray(blurred)
    if distortion == "noise":
        noisy = image + rng.normal(scale=40.0 * strength, size=image.shape)
        return np.clip(np.round(noisy), 0, 255).astype(np.uint8)
    if distortion == "jpeg":
        buffer = io.BytesIO()
        Image.fromarray(image).save(
            buffer, format="JPEG", quality=round(50 - 46 * strength)
        )
        buffer.seek(0)
        with Image.open(buffer) as decoded:
            return np.asarray(decoded.convert("RGB"))
    if distortion == "contrast":
        mean = image.mean()
        faded = mean + (image - mean) * (1.0 - 0.8 * strength)
        return np.clip(np.round(faded), 0, 255).astype(np.uint8)
    raise ValueError(f"unknown distortion {distortion!r}")  # pragma: no cover


def _check_parameters(
    n_references, levels, distortions, image_size, noise
) -> tuple[int, int]:
    for name, value in (("n_references", n_references), ("levels", levels)):
        if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if isinstance(distortions, str):
        raise ValueError(
            f"distortions must be a sequence of names, got the string {distortions!r}; "
            f"write ({distortions!r},)"
        )
    distortions = tuple(distortions)
    unknown = [name for name in distortions if name not in DISTORTIONS]
    if not distortions or unknown or len(set(distortions)) != len(distortions):
        raise ValueError(
            f"distortions must be distinct names among {list(DISTORTIONS)}, "
            f"got {list(distortions)}"
        )
    try:
        height, width = (int(side) for side in image_size)
    except (TypeError, ValueError):
        raise ValueError(
            f"image_size must be (height, width), got {image_size!r}"
        ) from None
    if height < 8 or width < 8:
        raise ValueError(f"image_size must be at least (8, 8), got {image_size!r}")
    if not isinstance(noise, Real) or not noise >= 0:
        raise ValueError(f"noise must be a non-negative number, got {noise!r}")
    return height, width


def make_synthetic_iqa(
    n_references=8,
    levels=5,
    distortions=DISTORTIONS,
    image_size=(128, 128),
    output_dir=None,
    *,
    include_references=True,
    noise=0.0,
    random_state=None,
):
    """Generate a synthetic image quality dataset with a known quality order.

    Procedural reference images (smooth colour gradients, flat shapes and
    sinusoidal texture) are distorted at ``levels`` graded strengths. Level
    ``l`` of ``levels`` has strength ``t = l / levels``:

    - ``"blur"``: Gaussian blur of radius ``4 * t`` pixels;
    - ``"noise"``: additive Gaussian noise, standard deviation ``40 * t``
      grey levels;
    - ``"jpeg"``: JPEG compression at quality ``round(50 - 46 * t)``; the
      decoded pixels are stored (as PNG when written), so the artefacts are
      kept and no further loss is added;
    - ``"contrast"``: pixels pulled towards their mean by ``1 - 0.8 * t``.

    The score of an image is ``100 * (1 - level / (levels + 1))`` (100 for
    a reference, level 0), plus Gaussian noise of standard deviation
    ``noise``, clipped to [0, 100]. The scores are not human opinions: they
    only encode that a stronger distortion of the same image is worse.

    Parameters
    ----------
    n_references : int, default=8
        Number of reference images (contents).
    levels : int, default=5
        Number of distortion levels per distortion type.
    distortions : sequence of str, default=("blur", "noise", "jpeg", "contrast")
        Distortion types to apply, among those four.
    image_size : tuple of int, default=(128, 128)
        ``(height, width)`` of every image, at least 8 each.
    output_dir : str or path-like, default=None
        Folder to write the images to as PNG files (created if needed;
        existing files of the same names are replaced): references are
        ``ref00.png``, distorted images ``ref00_blur_1.png`` and so on.
        None keeps the images in memory and returns them in ``images``.
    include_references : bool, default=True
        Include the undistorted references (level 0, score 100).
    noise : float, default=0.0
        Standard deviation of Gaussian noise added to the scores. With
        ``noise > 0`` the order of the scores may no longer follow the
        levels.
    random_state : int, RandomState instance or None, default=None
        Seeds the images, the image noise and the score noise; an int gives
        the same dataset on every call.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        paths : ndarray of shape (n_images,) of str or None
            Absolute paths of the written PNG files; None when
            ``output_dir`` is None.
        images : ndarray of shape (n_images, height, width, 3) of uint8 or None
            The images when ``output_dir`` is None; else None.
        y : ndarray of shape (n_images,)
            Synthetic scores, 0-100, higher is better.
        higher_is_better : bool
            True.
        groups : ndarray of shape (n_images,) of int
            Reference id of each image, 0 to ``n_references - 1``.
        mos_std : None
            There are no ratings.
        distortion_type : ndarray of shape (n_images,) of str
            The distortion, ``"reference"`` for references.
        distortion_level : ndarray of shape (n_images,) of int
            1 to ``levels``; 0 for references.
        name : str
            ``"synthetic"``.
        DESCR : str
            Description, stating that the scores are not human opinions.

    Examples
    --------
    >>> from skdeepbiq.datasets import make_synthetic_iqa
    >>> data = make_synthetic_iqa(n_references=2, levels=3, random_state=0)
    >>> data.images.shape
    (26, 128, 128, 3)
    >>> data.y[:5]
    array([100.,  75.,  50.,  25.,  75.])
    >>> data.distortion_type[:5].tolist()
    ['reference', 'blur', 'blur', 'blur', 'noise']
    """
    height, width = _check_parameters(
        n_references, levels, distortions, image_size, noise
    )
    distortions = tuple(distortions)
    rng = check_random_state(random_state)

    images, groups, types, image_levels = [], [], [], []
    for reference in range(n_references):
        pristine = _to_uint8(_reference_image(height, width, rng))
        if include_references:
            images.append(pristine)
            groups.append(reference)
            types.append("reference")
            image_levels.append(0)
        for distortion in distortions:
            for level in range(1, levels + 1):
                images.append(_distort(pristine, distortion, level / levels, rng))
                groups.append(reference)
                types.append(distortion)
                image_levels.append(level)

    image_levels = np.asarray(image_levels)
    y = 100.0 * (1.0 - image_levels / (levels + 1))
    if noise > 0:
        y = np.clip(y + rng.normal(scale=noise, size=len(y)), 0.0, 100.0)

    paths = None
    if output_dir is not None:
        folder = Path(os.path.abspath(os.path.expanduser(os.fspath(output_dir))))
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for image, reference, distortion, level in zip(
            images, groups, types, image_levels, strict=True
        ):
            suffix = "" if distortion == "reference" else f"_{distortion}_{level}"
            path = folder / f"ref{reference:02d}{suffix}.png"
            Image.fromarray(image).save(path, compress_level=1)
            paths.append(str(path))
        paths = np.asarray(paths, dtype=object)

    return Bunch(
        paths=paths,
        images=np.stack(images) if output_dir is None else None,
        y=y,
        higher_is_better=True,
        groups=np.asarray(groups),
        mos_std=None,
        distortion_type=np.asarray(types, dtype=object),
        distortion_level=image_levels,
        name="synthetic",
        DESCR=SYNTHETIC_DESCR,
    )
