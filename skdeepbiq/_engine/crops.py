"""Crop geometry: where the crops of an image are cut.

Pure functions of image size, crop parameters and a random generator; no
scikit-learn and no torch here. Boxes follow PIL's convention
``(left, top, right, bottom)`` in pixels, right and bottom exclusive.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

CROP_MODES = ("random", "grid", "center", "whole")
CENTER_RESIZE = 256
#: Shorter side below which ``"whole"`` enlarges an image: the smallest input
#: every torchvision CNN takes (AlexNet needs 63 px).
MIN_SIDE = 64


def image_rng(base_seed: int, pixels: np.ndarray) -> np.random.Generator:
    """Random generator for the crops of one image.

    The stream depends only on ``base_seed`` and the image's pixels (and
    shape), so an image gets the same crops whatever other images are in the
    call, in whatever order, and whether it came as a path, a PIL image or an
    array.
    """
    digest = hashlib.blake2b(digest_size=8)
    digest.update(np.asarray(pixels.shape, dtype=np.int64).tobytes())
    digest.update(np.ascontiguousarray(pixels).data)
    content = int.from_bytes(digest.digest(), "little")
    return np.random.default_rng(np.random.SeedSequence([int(base_seed), content]))


def _shorter_side_to(
    height: int, width: int, target: int, rounding=int
) -> tuple[int, int]:
    """Aspect ratio kept, shorter side ``target``; ``int`` is torchvision's
    rounding of the longer side."""
    if height <= width:
        return target, max(target, rounding(target * width / height))
    return max(target, rounding(target * height / width)), target


def viewed_size(height: int, width: int, shorter_side: int | None) -> tuple[int, int]:
    """Size ``(height, width)`` of an image brought down to a viewing scale.

    An image whose shorter side is larger than ``shorter_side`` is reduced,
    aspect ratio kept, until its shorter side equals it; any other image (and
    every image when ``shorter_side`` is None) keeps its own size: a viewing
    scale never enlarges.

    Examples
    --------
    >>> from skdeepbiq._engine.crops import viewed_size
    >>> viewed_size(4000, 6000, 500), viewed_size(320, 320, 500)
    ((500, 750), (320, 320))
    """
    if shorter_side is None or min(height, width) <= shorter_side:
        return height, width
    return _shorter_side_to(height, width, shorter_side, rounding=round)


def whole_size(height: int, width: int, max_side: int | None) -> tuple[int, int]:
    """Size ``(height, width)`` a whole image goes through the network at.

    Its own size, aspect ratio kept, except that a longer side above
    ``max_side`` (None: no cap) is brought down to ``max_side``, and a
    shorter side below :data:`MIN_SIDE` up to it; the shorter side wins, so
    an image more than ``max_side / MIN_SIDE`` times as long as it is wide
    keeps a longer side above ``max_side``.

    Examples
    --------
    >>> from skdeepbiq._engine.crops import whole_size
    >>> whole_size(500, 500, 1024), whole_size(3000, 4000, 1024)
    ((500, 500), (768, 1024))
    >>> whole_size(32, 48, 1024)
    (64, 96)
    """
    if height < 1 or width < 1:
        raise ValueError(f"image size must be positive, got {height}x{width}")
    if min(height, width) < MIN_SIDE:
        return _shorter_side_to(height, width, MIN_SIDE)
    if max_side is None or max(height, width) <= max_side:
        return height, width
    if height >= width:
        capped = max_side, int(max_side * width / height)
    else:
        capped = int(max_side * height / width), max_side
    if min(capped) < MIN_SIDE:
        return _shorter_side_to(height, width, MIN_SIDE)
    return capped


def working_size(
    height: int, width: int, crop_size: int, mode: str, max_side: int | None = None
) -> tuple[int, int]:
    """Size ``(height, width)`` the image is resized to before cropping.

    - ``"center"``: the shorter side becomes ``max(256, crop_size)``, keeping
      the aspect ratio (torchvision's ``Resize(256)``).
    - ``"random"`` and ``"grid"``: the original size, the paper's crops at the
      original scale, except for images smaller than the crop in either
      dimension, which are enlarged (aspect ratio kept) until the shorter side
      equals ``crop_size``.
    - ``"whole"``: :func:`whole_size` with ``max_side`` (``crop_size`` plays
      no part).
    """
    if height < 1 or width < 1:
        raise ValueError(f"image size must be positive, got {height}x{width}")
    if mode == "whole":
        return whole_size(height, width, max_side)
    if mode == "center":
        target = max(CENTER_RESIZE, crop_size)
    elif min(height, width) < crop_size:
        target = crop_size
    else:
        return height, width
    # Same rounding as torchvision.transforms.functional.resize(img, target).
    return _shorter_side_to(height, width, target)


def grid_shape(n_crops: int, height: int, width: int) -> tuple[int, int]:
    """Rows and columns of a grid of ``n_crops`` crops, shaped like the image.

    Among the factor pairs ``rows * cols == n_crops``, the one whose ratio
    ``rows / cols`` is closest to ``height / width`` (in log scale).
    """
    pairs = [(r, n_crops // r) for r in range(1, n_crops + 1) if n_crops % r == 0]
    aspect = math.log(height / width)
    return min(pairs, key=lambda rc: abs(math.log(rc[0] / rc[1]) - aspect))


def _spread(extent: int, crop_size: int, count: int) -> np.ndarray:
    """Start offsets of ``count`` crops spread evenly over ``extent`` pixels."""
    if count == 1:
        return np.array([(extent - crop_size) // 2])
    return np.round(np.linspace(0, extent - crop_size, count)).astype(np.int64)


def crop_boxes(
    height: int,
    width: int,
    *,
    n_crops: int,
    crop_size: int,
    mode: str,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Boxes of the crops of one image of the given (working) size.

    Parameters
    ----------
    height, width : int
        Size of the image the crops are cut from, at least ``crop_size`` in
        both dimensions (see :func:`working_size`).
    n_crops : int
        Number of crops; ``"center"`` and ``"whole"`` always give one.
    crop_size : int
        Side of the square crops, in pixels (ignored by ``"whole"``).
    mode : {"random", "grid", "center", "whole"}
        Uniformly random positions, a regular grid covering the image, the
        central crop, or one box covering the whole image.
    rng : numpy.random.Generator, default=None
        Source of the random positions; required for ``"random"``.

    Returns
    -------
    boxes : ndarray of shape (n_crops, 4), dtype int64
        ``(left, top, right, bottom)`` of each crop.
    """
    if mode == "whole":
        return np.array([[0, 0, width, height]], dtype=np.int64)
    if height < crop_size or width < crop_size:
        raise ValueError(
            f"image of {height}x{width} is smaller than crop_size={crop_size}; "
            "resize it to working_size() first"
        )
    if mode == "random":
        if rng is None:
            raise ValueError("mode='random' needs a random generator")
        tops = rng.integers(0, height - crop_size + 1, size=n_crops)
        lefts = rng.integers(0, width - crop_size + 1, size=n_crops)
    elif mode == "grid":
        rows, cols = grid_shape(n_crops, height, width)
        tops, lefts = np.meshgrid(
            _spread(height, crop_size, rows),
            _spread(width, crop_size, cols),
            indexing="ij",
        )
        tops, lefts = tops.ravel(), lefts.ravel()
    elif mode == "center":
        tops = _spread(height, crop_size, 1)
        lefts = _spread(width, crop_size, 1)
    else:
        raise ValueError(f"mode must be one of {CROP_MODES}, got {mode!r}")
    tops = np.asarray(tops, dtype=np.int64)
    lefts = np.asarray(lefts, dtype=np.int64)
    return np.stack([lefts, tops, lefts + crop_size, tops + crop_size], axis=1)


def scale_boxes(
    boxes: np.ndarray, working: tuple[int, int], original: tuple[int, int]
) -> np.ndarray:
    """Map boxes from the working size back to the original image's pixels.

    Returns float boxes ``(left, top, right, bottom)``; identical to ``boxes``
    when the image was not resized.
    """
    scale_y = original[0] / working[0]
    scale_x = original[1] / working[1]
    return boxes * np.array([scale_x, scale_y, scale_x, scale_y])


def snap_boxes(boxes: np.ndarray, stride: int) -> np.ndarray:
    """Move boxes up and left onto multiples of ``stride``, keeping their size."""
    offsets = (boxes[:, :2] // stride) * stride
    return np.concatenate([offsets, offsets + (boxes[:, 2:] - boxes[:, :2])], axis=1)


def _crops_along(extent: int, crop_size: int, stride: int) -> int:
    """Crops needed along ``extent`` pixels for starts at most ``stride`` apart."""
    return max(1, math.ceil((extent - crop_size) / stride) + 1)


def dense_grid_size(height, width, crop_size, stride):
    """Number of grid crops that cover an image with at most ``stride`` between them.

    ``n_crops`` grid crops are laid out as the factor pair ``rows x cols``
    closest to the image's shape (:func:`grid_shape`); this is the smallest
    ``n_crops`` whose layout has at least the rows and columns the stride
    needs.

    Parameters
    ----------
    height, width : int
        Working size of the image (see :func:`working_size`), at least
        ``crop_size`` in both dimensions.
    crop_size : int
        Side of the crops, in pixels.
    stride : int
        Largest distance between the starts of neighbouring crops, in pixels.

    Returns
    -------
    n_crops : int
        Number of crops, ``rows * cols``.

    Examples
    --------
    >>> from skdeepbiq._engine.crops import dense_grid_size
    >>> dense_grid_size(500, 500, 224, 112)
    16
    """
    rows = _crops_along(height, crop_size, stride)
    cols = _crops_along(width, crop_size, stride)
    n_crops = rows * cols
    while True:
        got_rows, got_cols = grid_shape(n_crops, height, width)
        if got_rows >= rows and got_cols >= cols:
            return n_crops
        n_crops += 1


def _whole_image_refusal(what: str) -> str:
    """Why ``crops="whole"`` refuses ``what`` (trunk windows, fine-tuning)."""
    return (
        f"crops='whole' does not support {what}: shared-trunk computation "
        "and fine-tuning cut crop_size windows of the trunk's maps, while "
        "'whole' runs each image whole through the network; use "
        "compute='crops' (or 'auto') without fine_tune, or another crops mode"
    )


def check_whole_image(mode: str, *, compute: str, fine_tune: bool) -> None:
    """Raise ValueError when ``crops="whole"`` meets trunk or fine-tuning.

    Parameters
    ----------
    mode : str
        The featurizer's ``crops``.
    compute : str
        Its resolved compute mode, ``"crops"`` or ``"trunk"``.
    fine_tune : bool
        Whether it fine-tunes.
    """
    if mode != "whole":
        return
    if fine_tune:
        raise ValueError(_whole_image_refusal("fine_tune"))
    if compute == "trunk":
        raise ValueError(_whole_image_refusal("compute='trunk'"))


@dataclass(frozen=True)
class CropSpec:
    """Which crops every image gets: the geometry half of a featurizer.

    Attributes
    ----------
    n_crops : int
        Crops per image (ignored by ``"center"``, ``"whole"`` and by a dense
        grid).
    crop_size : int
        Side of the square crops, in pixels (ignored by ``"whole"``).
    mode : {"random", "grid", "center", "whole"}
        How crops are placed (see :func:`crop_boxes`).
    seed : int
        Base seed of random crops (see :func:`image_rng`).
    snap : int, default=1
        Boxes snap to multiples of this (16 for shared-trunk computation).
    dense_stride : int or None, default=None
        If set, a dense grid instead: each image gets the
        :func:`dense_grid_size` grid crops that cover it with at most this
        many pixels between neighbouring crops (quality maps); not with
        ``"whole"``.
    max_side : int or None, default=None
        Cap on the longer side of ``"whole"`` images (see :func:`whole_size`).
    viewing_side : int or None, default=None
        The viewing scale: images whose shorter side is larger are read
        reduced to it (see :func:`viewed_size`) before anything else; None
        cuts crops from the image's own pixels.
    """

    n_crops: int
    crop_size: int
    mode: str
    seed: int
    snap: int = 1
    dense_stride: int | None = None
    max_side: int | None = None
    viewing_side: int | None = None

    def __post_init__(self):
        if self.mode == "whole" and self.dense_stride is not None:
            raise ValueError(
                "dense_stride (quality maps) scores a grid of crop_size crops, "
                "but this featurizer has crops='whole': its model scores whole "
                "images; quality maps need a model fitted on crops ('random', "
                "'grid' or 'center')"
            )
        if self.mode == "whole" and self.snap > 1:
            raise ValueError(_whole_image_refusal("compute='trunk'"))

    @property
    def placement(self) -> str:
        """The crops mode that places the crops: ``"grid"`` for a dense grid."""
        return "grid" if self.dense_stride is not None else self.mode

    def enlargement(self, shape: tuple[int, int]) -> float:
        """How many times an image of ``shape`` (as read) is enlarged for its crops.

        1 when it is not enlarged: the factor from its viewing scale
        (:func:`viewed_size`) to its working size (:func:`working_size`).
        """
        viewed = viewed_size(*shape, self.viewing_side)
        working = working_size(*viewed, self.crop_size, self.placement, self.max_side)
        return max(1.0, working[0] / viewed[0])

    def locate(self, pixels: np.ndarray) -> tuple[tuple[int, int], np.ndarray]:
        """The working size ``(H, W)`` of one image and its crop boxes there.

        ``pixels`` are the image at its viewing scale (``read_image``).
        """
        mode = self.placement
        working = working_size(
            *pixels.shape[:2], self.crop_size, mode, max_side=self.max_side
        )
        n_crops = self.n_crops
        if self.dense_stride is not None:
            n_crops = dense_grid_size(*working, self.crop_size, self.dense_stride)
        rng = image_rng(self.seed, pixels) if mode == "random" else None
        boxes = crop_boxes(
            *working, n_crops=n_crops, crop_size=self.crop_size, mode=mode, rng=rng
        )
        return working, snap_boxes(boxes, self.snap) if self.snap > 1 else boxes

    def in_image(
        self, boxes: np.ndarray, working: tuple[int, int], shape: tuple[int, int]
    ) -> np.ndarray:
        """``boxes`` at the ``working`` size in the image's own pixels (float64).

        A whole image's box is exactly ``(0, 0, width, height)``, free of
        the rounding of :func:`scale_boxes`.
        """
        if self.mode == "whole":
            return np.array([[0.0, 0.0, shape[1], shape[0]]])
        return scale_boxes(boxes, working, shape)

    def image_boxes(self, pixels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        """Crop boxes of one image in its own pixels (float64).

        ``pixels`` are the image at its viewing scale, ``shape`` its size as
        read.
        """
        working, boxes = self.locate(pixels)
        return self.in_image(boxes, working, shape)
