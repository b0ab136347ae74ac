"""Drawing quality maps over their photos (needs matplotlib).

matplotlib is an optional dependency: ``pip install skdeepbiq[plot]``. It is
imported when a function here is called, not when this module is.
"""

from __future__ import annotations

import os

import numpy as np

from ._engine.images import image_sizes, read_image

__all__ = ["plot_quality_map", "save_quality_map"]

#: Colours from bad (red) to good (blue); readable with red-green colour blindness.
DEFAULT_CMAP = "RdYlBu"
#: Photos are drawn with a shorter side of at most this many pixels (a screen's).
DRAW_SIDE = 1600


def _matplotlib():
    """The matplotlib module, or an ImportError that says how to install it."""
    try:
        import matplotlib
    except ImportError as error:
        raise ImportError(
            "drawing quality maps needs matplotlib: pip install skdeepbiq[plot]"
        ) from error
    return matplotlib


def _map_and_score(quality_map, score):
    """The map as an (h, w) array, and the score to show."""
    values = getattr(quality_map, "map", None)
    if values is None and isinstance(quality_map, dict):
        values = quality_map.get("map")
    if values is None:
        values = quality_map
    else:
        if score is None:
            score = quality_map["score"]
    return np.asarray(values, dtype=np.float64), score


def _same_picture(map_shape: tuple, image_shape: tuple) -> bool:
    """Whether a map of ``map_shape`` is the image at its size or another scale."""
    if len(map_shape) != 2:
        return False
    small, large = sorted((tuple(map_shape), tuple(image_shape)), key=min)
    ratio = min(small) / min(large)  # rounding of either size: a pixel
    return all(
        abs(side - other * ratio) <= 1 for side, other in zip(small, large, strict=True)
    )


def _photo(image, shape: tuple):
    """The photo read with a shorter side of at most :data:`DRAW_SIDE` pixels
    (the map's own, when larger); ``shape``: the size it is drawn at."""
    side = max(DRAW_SIDE, min(shape))
    return read_image(image, 0, side)[0]


def _title(title, score) -> str:
    parts = [] if title is None else [str(title)]
    if score is not None:
        parts.append(f"score {float(score):.1f}")
    return ": ".join(parts)


def _outlined(size: float) -> dict:
    """Text keywords for labels drawn over a photo: dark text, white outline."""
    from matplotlib import patheffects

    outline = patheffects.withStroke(linewidth=max(1.5, size / 4), foreground="white")
    return {"fontsize": size, "path_effects": [outline]}


def _colour_range(values: np.ndarray, vmin, vmax) -> tuple[float, float]:
    """The colour range: ``vmin`` and ``vmax``, or the finite values' range;
    a flat map still gets a range of 1."""
    finite = values[np.isfinite(values)]
    if vmin is None:
        vmin = float(finite.min()) if finite.size else 0.0
    if vmax is None:
        vmax = float(finite.max()) if finite.size else 1.0
    if vmax <= vmin:
        vmin, vmax = vmin - 0.5, vmax + 0.5
    return vmin, vmax


def plot_quality_map(
    image,
    quality_map,
    *,
    score=None,
    title=None,
    ax=None,
    cmap=DEFAULT_CMAP,
    alpha=0.5,
    vmin=None,
    vmax=None,
    label="predicted MOS",
    inset=False,
    fontsize=None,
):
    """Draw a photo with its quality map overlaid.

    The map is drawn over the photo in a semi-transparent colour map, from
    bad (red) to good (blue), with a colour bar in the units of the scores
    (MOS for the pretrained model) and the image's score in the title.

    Parameters
    ----------
    image : str, path-like, PIL.Image.Image or ndarray
        The photo, read as the model reads it (EXIF orientation applied).
    quality_map : Bunch or ndarray of shape (height, width)
        An element of :func:`skdeepbiq.quality_maps`'s result (its ``map``
        is drawn and its ``score`` shown), or a map of the image's size or
        of the image at another scale (the map of a large photo is at the
        model's viewing scale): it is stretched over the photo. A photo
        larger than the screen is drawn with a shorter side of 1600 pixels.
    score : float, default=None
        Score shown in the title; None shows the Bunch's pooled ``score``
        (nothing for a bare array).
    title : str, default=None
        Text before the score in the title (e.g. the file name).
    ax : matplotlib Axes, default=None
        Where to draw; None draws into a new figure.
    cmap : str or Colormap, default="RdYlBu"
        Colour map of the scores, low to high.
    alpha : float, default=0.5
        Opacity of the map over the photo.
    vmin, vmax : float, default=None
        Scores at the ends of the colour map; None uses the map's range. Set
        both to compare several maps.
    label : str, default="predicted MOS"
        Label of the colour bar.
    inset : bool, default=False
        Draw the title and the colour bar inside the image (the axes then
        hold only the photo, so a figure of the photo's aspect ratio holds
        it exactly, as :func:`save_quality_map` does) instead of above and
        beside it.
    fontsize : float, default=None
        Size of the texts in points; None uses matplotlib's default, or one
        that grows with the figure when ``inset``.

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn into; the overlay is ``ax.images[-1]``.

    Raises
    ------
    ImportError
        When matplotlib is not installed (``pip install skdeepbiq[plot]``).

    Examples
    --------
    >>> import numpy as np
    >>> from skdeepbiq.plotting import plot_quality_map
    >>> image = np.full((40, 60, 3), 128, dtype=np.uint8)
    >>> quality_map = np.tile(np.linspace(20, 80, 60), (40, 1))
    >>> ax = plot_quality_map(image, quality_map, score=50.0, title="grey")
    >>> ax.get_title()
    'grey: score 50.0'
    """
    _matplotlib()
    values, score = _map_and_score(quality_map, score)
    pixels = _photo(image, values.shape)
    if not _same_picture(values.shape, pixels.shape[:2]):
        raise ValueError(
            f"the map has shape {values.shape} but the image is "
            f"{pixels.shape[0]}x{pixels.shape[1]} (height x width), not the "
            "same picture at another scale; pass the map that quality_maps "
            "computed for this image"
        )
    height, width = pixels.shape[:2]
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    figure = ax.figure
    vmin, vmax = _colour_range(values, vmin, vmax)
    ax.imshow(pixels, interpolation="antialiased")
    overlay = ax.imshow(
        values,
        cmap=cmap,
        alpha=alpha,
        vmin=vmin,
        vmax=vmax,
        interpolation="nearest",
        extent=(-0.5, width - 0.5, height - 0.5, -0.5),
    )
    ax.set_axis_off()
    text = _title(title, score)
    if not inset:
        if text:
            ax.set_title(text, fontsize=fontsize)
        from mpl_toolkits.axes_grid1 import make_axes_locatable

        bar_axes = make_axes_locatable(ax).append_axes("right", size="4%", pad=0.08)
        colorbar = figure.colorbar(overlay, cax=bar_axes)
        colorbar.set_label(label, fontsize=fontsize)
        colorbar.solids.set_alpha(1.0)
        return ax
    if fontsize is None:
        height_points = figure.get_size_inches()[1] * 72 * ax.get_position().height
        width_points = figure.get_size_inches()[0] * 72 * ax.get_position().width
        fontsize = float(np.clip(min(height_points, width_points) / 28, 6, 20))
    if text:
        ax.text(
            0.5,
            0.98,
            text,
            transform=ax.transAxes,
            ha="center",
            va="top",
            fontsize=fontsize * 1.15,
            bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.75},
        )
    bar_axes = ax.inset_axes([0.2, 0.06, 0.6, 0.035])
    colorbar = figure.colorbar(overlay, cax=bar_axes, orientation="horizontal")
    colorbar.solids.set_alpha(1.0)
    colorbar.outline.set_edgecolor("white")
    bar_axes.xaxis.set_ticks_position("top")
    bar_axes.tick_params(labelsize=fontsize, colors="black", pad=1)
    outlined = _outlined(fontsize)
    for tick in bar_axes.get_xticklabels():
        tick.set_path_effects(outlined["path_effects"])
    bar_axes.set_xlabel(label, labelpad=2, **outlined)
    return ax


def save_quality_map(
    path,
    image,
    quality_map,
    *,
    score=None,
    title=None,
    size=None,
    dpi=100,
    **kwargs,
):
    """Write a photo with its quality map overlaid to an image file.

    The file has the photo's aspect ratio: the photo fills it, with the
    title and the colour bar drawn inside (``inset=True`` of
    :func:`plot_quality_map`).

    Parameters
    ----------
    path : str or path-like
        Output file; its extension picks the format (``.png``, ``.jpg``,
        ``.pdf``, ...).
    image : str, path-like, PIL.Image.Image or ndarray
        The photo.
    quality_map : Bunch or ndarray of shape (height, width)
        Its map, as for :func:`plot_quality_map`.
    score : float, default=None
        Score shown in the title (None: the Bunch's ``score``).
    title : str, default=None
        Text before the score (e.g. the file name).
    size : int, default=None
        Length in pixels of the file's longer side; None keeps the photo's
        own size, within 480 to 1600 pixels.
    dpi : float, default=100
        Resolution written into the file.
    **kwargs
        Passed to :func:`plot_quality_map` (``cmap``, ``alpha``, ``vmin``,
        ``vmax``, ``label``, ``fontsize``).

    Returns
    -------
    path : str
        The file written.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from PIL import Image
    >>> from skdeepbiq.plotting import save_quality_map
    >>> image = np.full((300, 600, 3), 128, dtype=np.uint8)
    >>> quality_map = np.tile(np.linspace(20, 80, 600), (300, 1))
    >>> path = save_quality_map(
    ...     os.path.join(tempfile.mkdtemp(), "grey.png"), image, quality_map
    ... )
    >>> Image.open(path).size
    (600, 300)
    """
    _matplotlib()
    from matplotlib.figure import Figure

    shape = image_sizes([image])[0]
    if shape is None:  # no header: the reading error names the problem
        read_image(image, 0)
    height, width = shape
    longest = max(height, width)
    if size is None:
        size = int(np.clip(longest, 480, 1600))
    scale = size / longest
    width_px = max(1, round(width * scale))
    height_px = max(1, round(height * scale))
    # read no more pixels than the file shows (a 24-megapixel photo at 1600)
    pixels = read_image(image, 0, max(min(width_px, height_px), 1))[0]
    figure = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    ax = figure.add_axes((0, 0, 1, 1))
    plot_quality_map(
        pixels, quality_map, score=score, title=title, ax=ax, inset=True, **kwargs
    )
    path = os.fspath(path)
    figure.savefig(path, dpi=dpi)
    return path
