"""Quality maps: where in an image the model finds it good or bad.

DeepBIQ scores every crop before pooling. Spread back onto the image, the
crop scores say where the damage is: a sharp subject on a blurred
background scores high on the subject and low around it, a photo blurred
all over scores low everywhere. The map of an image is, at each pixel, the
mean score of the crops that cover it.

A fitted model's own crops (25 random ones by default) leave parts of an
image uncovered, so :func:`quality_maps` scores a dense regular grid of
crops instead, with neighbouring crops ``stride`` pixels apart (half a crop
by default), cut by the fitted featurizer itself
(:meth:`CNNCropFeaturizer.extract` with ``dense_stride``): the model is not
changed.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from scipy import ndimage
from sklearn.utils import Bunch
from sklearn.utils.validation import check_is_fitted

from ._engine.crops import dense_grid_size, scale_boxes, viewed_size
from ._featurizer import CNNCropFeaturizer

__all__ = ["check_map_model", "dense_grid_size", "quality_maps", "score_map"]


def score_map(boxes, scores, shape):
    """Mean score of the crops covering each pixel.

    Parameters
    ----------
    boxes : array-like of shape (n_crops, 4)
        ``(left, top, right, bottom)`` of each crop in pixels, right and
        bottom exclusive; fractional boxes cover the pixels whose centres
        they contain.
    scores : array-like of shape (n_crops,)
        Score of each crop.
    shape : tuple of int
        ``(height, width)`` of the image.

    Returns
    -------
    quality_map : ndarray of shape (height, width)
        float64; NaN where no crop covers the pixel.

    Examples
    --------
    >>> from skdeepbiq._maps import score_map
    >>> score_map([[0, 0, 2, 1], [1, 0, 3, 1]], [10.0, 20.0], (1, 3))
    array([[10., 15., 20.]])
    """
    height, width = (int(side) for side in shape)
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(boxes) != len(scores):
        raise ValueError(f"{len(boxes)} boxes but {len(scores)} scores")
    usable = np.isfinite(boxes).all(axis=1) & np.isfinite(scores)
    # Pixel i is covered when its centre i + 0.5 lies in [start, stop).
    edges = np.ceil(boxes[usable] - 0.5).astype(np.int64)
    lefts, rights = np.clip(edges[:, [0, 2]], 0, width).T
    tops, bottoms = np.clip(edges[:, [1, 3]], 0, height).T
    totals = np.zeros((2, height + 1, width + 1))
    for layer, values in enumerate((scores[usable], np.ones(usable.sum()))):
        np.add.at(totals[layer], (tops, lefts), values)
        np.add.at(totals[layer], (tops, rights), -values)
        np.add.at(totals[layer], (bottoms, lefts), -values)
        np.add.at(totals[layer], (bottoms, rights), values)
    sums, counts = totals.cumsum(axis=1).cumsum(axis=2)[:, :height, :width]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0.5, sums / np.maximum(counts, 1), np.nan)


def _fill_uncovered(quality_map: np.ndarray) -> np.ndarray:
    """Give pixels no crop covers the value of the nearest covered pixel.

    Only thin borders are left uncovered by a dense grid: the few pixels
    that ``compute="trunk"`` loses by snapping crops to multiples of 16.
    """
    uncovered = np.isnan(quality_map)
    if not uncovered.any() or uncovered.all():
        return quality_map
    nearest = ndimage.distance_transform_edt(
        uncovered, return_distances=False, return_indices=True
    )
    return quality_map[tuple(nearest)]


def check_map_model(model) -> None:
    """Refuse a model whose crops have no scores to map, saying why.

    Parameters
    ----------
    model : DeepBIQRegressor
        Must be fitted, with ``fusion="prediction"`` and a
        :class:`CNNCropFeaturizer`.

    Raises
    ------
    ValueError
        For models with feature pooling or concatenation, or precomputed
        features.
    """
    check_is_fitted(model, "regressor_")
    if getattr(model, "fusion", None) != "prediction":
        raise ValueError(
            "quality maps need a DeepBIQRegressor with fusion='prediction'; "
            f"with fusion={getattr(model, 'fusion', None)!r} the regressor "
            "scores one pooled or concatenated feature vector per image, so "
            "single crops have no scores to map"
        )
    if not isinstance(model.featurizer_, CNNCropFeaturizer):
        raise ValueError(
            "quality maps need a model whose featurizer is a CNNCropFeaturizer "
            "(it cuts the crops from images); precomputed features carry no "
            "crop positions"
        )


def quality_maps(model, X, *, stride=None):
    """Quality map of each image from a dense grid of crop scores.

    Each image, at the model's viewing scale (see
    :class:`CNNCropFeaturizer`'s ``viewing_scale``), is cut into a regular
    grid of crops of the model's ``crop_size``, neighbouring crops at most
    ``stride`` pixels apart, so that every pixel is covered; the fitted
    model scores each crop, and the map's value at a pixel is the mean
    score of the crops that cover it. The map has the size of the image at
    that viewing scale: a 6000x4000 photo seen at 500 pixels has a 750x500
    map, which :func:`skdeepbiq.plotting.plot_quality_map` stretches over
    the photo.
    The model is not modified: its fitted featurizer cuts the dense grid
    (``extract(..., dense_stride=stride)``, with its ``compute``,
    ``device``, ... settings; dense grids are not cached), each image
    decoded once.

    Parameters
    ----------
    model : DeepBIQRegressor
        Fitted, with ``fusion="prediction"`` and a :class:`CNNCropFeaturizer`
        (e.g. :func:`skdeepbiq.load_pretrained`).
    X : sequence of images
        Paths, PIL images or HxWxC uint8 arrays.
    stride : int, default=None
        Largest distance between neighbouring crops, in pixels of the
        working image (the image at its viewing scale, enlarged when smaller
        than the crop: see :class:`CNNCropFeaturizer`). None means half the
        crop size. A 500x500 photo takes 16 crops of 224 px at stride 112;
        the number of crops grows as ``(image side / stride) ** 2``.

    Returns
    -------
    maps : list of :class:`~sklearn.utils.Bunch`
        One per image, with keys:

        - ``map``: ndarray of shape (viewed_height, viewed_width), float64,
          the mean crop score at each pixel of the image as read (EXIF
          orientation applied) brought to the viewing scale (the image's own
          size when it is not larger); pixels no crop covers (a border of
          less than 16 px with ``compute="trunk"``) take the nearest covered
          value;
        - ``boxes``: ndarray of shape (n_crops, 4), the grid crops' ``(left,
          top, right, bottom)`` in the image's pixels;
        - ``scores``: ndarray of shape (n_crops,), each grid crop's score;
        - ``score``: float, the grid crops' scores pooled with the model's
          ``pooling`` (close to, but not the same as, :meth:`predict`, which
          pools the model's own crops).

    Raises
    ------
    ValueError
        For models with feature pooling or concatenation (their crops have
        no scores), or precomputed features.
    ImageReadError
        For an image that cannot be read (with the featurizer's
        ``on_error="nan"``, its Bunch has ``map`` None, no boxes or scores
        and a NaN ``score`` instead, and one warning lists it).

    See Also
    --------
    DeepBIQRegressor.crop_scores : Boxes and scores of the model's own crops.
    skdeepbiq.plotting.plot_quality_map : Draw a map over its photo.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeepbiq import CNNCropFeaturizer, DeepBIQRegressor, quality_maps
    >>> rng = np.random.default_rng(0)
    >>> images = [rng.integers(0, 256, (48, 64, 3), dtype=np.uint8) for _ in range(6)]
    >>> model = DeepBIQRegressor(
    ...     CNNCropFeaturizer(weights=None, n_crops=3, crop_size=32)
    ... ).fit(images, np.linspace(20, 80, 6))
    >>> result = quality_maps(model, images[:1])[0]
    >>> result.map.shape, result.boxes.shape
    ((48, 64), (6, 4))
    """
    check_map_model(model)
    if stride is None:
        stride = max(1, model.featurizer_.crop_size // 2)
    if not isinstance(stride, Integral) or isinstance(stride, bool) or stride < 1:
        raise ValueError(f"stride must be a positive integer, got {stride!r}")
    maps = []
    viewing_side = model.featurizer_.viewing_side()
    for crops in model.crop_scores(X, dense_stride=int(stride)):
        shape = crops.pop("shape")
        if shape is None:  # unreadable, with on_error="nan": warned about
            maps.append(Bunch(map=None, **crops))
            continue
        viewed = viewed_size(*shape, viewing_side)
        boxes = scale_boxes(crops.boxes, shape, viewed)  # into the viewed pixels
        quality_map = _fill_uncovered(score_map(boxes, crops.scores, viewed))
        maps.append(Bunch(map=quality_map, **crops))
    return maps
