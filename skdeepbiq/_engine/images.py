"""Reading images: paths, PIL images and arrays -> HxWx3 uint8 arrays.

Every image that cannot be used gets an :class:`~skdeepbiq.exceptions.ImageReadError`
naming it as ``X[index] ('path'): reason``. :func:`check_readable` finds the
problems that show without decoding (missing file, folder, empty file, not an
image, too many pixels, bad array) so that callers can refuse or skip those
images before the network starts; :func:`load_image` decodes one image, and
:func:`read_image` decodes it at a viewing scale (a large JPEG at reduced
size, straight from its DCT coefficients); :func:`image_sizes` reads only
the sizes.
"""

from __future__ import annotations

import os
import stat
import warnings
from collections.abc import Iterable, Sequence
from contextlib import contextmanager

import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from ..exceptions import ImageFailure, ImageReadError
from .crops import viewed_size

_SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")
#: A large JPEG is decoded by DCT scaling to at least this many times its
#: viewing size, then reduced with Lanczos: DCT scaling filters coarsely, and
#: scores of enlarged photos moved less with 4 than with 2
#: (benchmarks/scale_consistency.py), for a fraction of a second more.
DRAFT_MARGIN = 4
#: EXIF orientations that swap width and height (transposed or rotated 90°).
_SIDEWAYS = (5, 6, 7, 8)


def image_description(image) -> str:
    """The path of an image as given, or a short text for in-memory images."""
    if isinstance(image, str | os.PathLike):
        return os.fspath(image)
    if isinstance(image, np.ndarray):
        return f"<ndarray of shape {image.shape}, {image.dtype}>"
    if isinstance(image, Image.Image):
        return f"<PIL.Image {image.mode} {image.width}x{image.height}>"
    return f"<{type(image).__name__}>"


def _failure(image, index: int, reason: str) -> ImageReadError:
    return ImageReadError.from_failures(
        [ImageFailure(index, image_description(image), reason)]
    )


def _image_column(X: np.ndarray) -> np.ndarray:
    """``X`` as a 1-D array of images, or raise for a single image or a table.

    A 2-D array of objects or strings is a table: its one column is the
    images (what ``df[["path"]]`` and a ``ColumnTransformer`` give). A 2-D
    or 3-D array of numbers is one image, which ``X`` must not be.
    """
    if X.dtype.kind not in "OUS":
        if X.ndim in (2, 3):
            raise TypeError(
                f"X must be a sequence of images; got one array of shape {X.shape}. "
                "Wrap a single image in a list, or pass an array of shape "
                "(n_images, height, width, channels)"
            )
        return X
    if X.ndim == 2 and X.shape[1] != 1:
        raise ValueError(
            f"X is a table of {X.shape[1]} columns; the images must be one column "
            "(a list, a Series, a one-column DataFrame such as df[['path']], or "
            "an array of shape (n_images,) or (n_images, 1))"
        )
    return X[:, 0] if X.ndim == 2 else X


def check_images(X) -> list:
    """Validate ``X`` as a sequence of images and return it as a list.

    Accepts a list, tuple, 1-D object array or pandas Series of paths
    (str or PathLike), PIL images or HxWxC / HxW uint8 arrays, a 4-D uint8
    array of shape (n_images, H, W, C), and one column of images as a 2-D
    table: a one-column DataFrame (``df[["path"]]``, what a
    ``ColumnTransformer`` passes) or an object or string array of shape
    (n_images, 1). Nothing is read here.

    Raises
    ------
    TypeError
        ``X`` is a single image or not a sequence, or an element is not an
        image (None, a number, bytes, ...): a programming error, raised
        whatever ``on_error`` says, naming the first such index.
    ValueError
        ``X`` is empty, or a table of several columns.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeepbiq._engine.images import check_images
    >>> check_images(np.array([["a.jpg"], ["b.jpg"]], dtype=object))
    ['a.jpg', 'b.jpg']
    """
    if isinstance(X, str | bytes | os.PathLike | Image.Image):
        raise TypeError(
            "X must be a sequence of images (paths, PIL images or arrays), "
            f"got a single {type(X).__name__}; wrap it in a list"
        )
    if hasattr(X, "to_numpy") and not isinstance(X, np.ndarray):  # pandas
        X = np.asarray(X.to_numpy(), dtype=object)
    if isinstance(X, np.ndarray):
        X = _image_column(X)
    if not isinstance(X, Sequence | np.ndarray):
        raise TypeError(
            "X must be a sequence of images (list, tuple, array or pandas "
            f"Series), got {type(X).__name__}"
        )
    images = list(X)
    if len(images) == 0:
        raise ValueError("X is empty: at least one image is required")
    for index, image in enumerate(images):
        if not isinstance(image, str | os.PathLike | Image.Image | np.ndarray):
            raise TypeError(
                f"X[{index}] is a {type(image).__name__} ({image!r:.60}); each "
                "image must be a path (str or PathLike), a PIL image or a "
                "uint8 array"
            )
    return images


def _path_problem(path: str) -> str | None:
    """What makes ``path`` unusable before opening it, or None."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return "no such file"
    except OSError as error:
        return f"cannot access: {error.strerror or error}"
    if stat.S_ISDIR(info.st_mode):
        return "is a directory, not an image file"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file"
    if info.st_size == 0:
        return "empty file (0 bytes)"
    return None


def _pixel_limit_problem(width: int, height: int) -> str | None:
    limit = Image.MAX_IMAGE_PIXELS
    if limit is None or width * height <= limit:
        return None
    return _bomb_reason(f"{width}x{height} = {width * height} pixels")


def _bomb_reason(size: str) -> str:
    return (
        f"too large: {size}, more than PIL.Image.MAX_IMAGE_PIXELS = "
        f"{Image.MAX_IMAGE_PIXELS} (decompression-bomb guard); raise that limit "
        "(or set it to None) if the file is trusted"
    )


def _open_problem(path: str, error: Exception) -> str:
    """Reason for an exception raised while opening or decoding ``path``."""
    if isinstance(error, Image.DecompressionBombError):
        return _bomb_reason(str(error).split(" exceeds")[0].lower())
    if isinstance(error, UnidentifiedImageError):
        try:
            with open(path, "rb") as f:
                head = f.read(16)
        except OSError:
            head = b""
        return (
            "not an image PIL can identify (unsupported format, or not an "
            f"image file; it starts with {head!r})"
        )
    if isinstance(error, PermissionError):
        return "cannot open: permission denied"
    return (
        f"cannot decode ({type(error).__name__}: {error}); truncated or corrupt file?"
    )


def _array_problem(array: np.ndarray) -> str | None:
    if array.ndim not in (2, 3) or (
        array.ndim == 3 and array.shape[2] not in (1, 3, 4)
    ):
        return (
            "an image array must have shape (H, W), (H, W, 1), (H, W, 3) or "
            f"(H, W, 4), got {array.shape}"
        )
    if array.dtype != np.uint8:
        return f"an image array must be uint8 (0-255), got {array.dtype}"
    if array.shape[0] < 1 or array.shape[1] < 1:
        return f"empty image of shape {array.shape}"
    return None


def check_readable(X, indices: Iterable[int] | None = None) -> list[ImageFailure]:
    """Find the images of ``X`` that cannot be read, without decoding them.

    Cheap: paths are checked with ``os.stat`` and PIL's header parsing
    (``Image.open``, which reads only the first bytes), arrays by shape and
    dtype. Corrupt or truncated pixel data is found only when decoding, by
    :func:`load_image`.

    Parameters
    ----------
    X : list of images
        As returned by :func:`check_images`.
    indices : iterable of int, default=None
        Check only these positions of ``X``; None checks all.

    Returns
    -------
    failures : list of ImageFailure
        ``(index, description, reason)`` of each unusable image, by index.

    Examples
    --------
    >>> from skdeepbiq._engine.images import check_readable
    >>> check_readable(["no/such/file.jpg"])
    [ImageFailure(index=0, description='no/such/file.jpg', reason='no such file')]
    """
    failures = []
    for index in range(len(X)) if indices is None else indices:
        image = X[index]
        if isinstance(image, np.ndarray):
            reason = _array_problem(image)
        elif isinstance(image, Image.Image):
            reason = None if min(image.size) >= 1 else f"empty image {image.size}"
        else:
            reason = _header_problem(os.fspath(image))
        if reason is not None:
            failures.append(ImageFailure(index, image_description(image), reason))
    return failures


@contextmanager
def _header(path: str):
    """``path`` opened by PIL, which reads its header only until pixels are
    asked for; without PIL's decompression-bomb warning (the callers check
    the pixel limit themselves, or read only the size)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(path) as opened:
            yield opened


def _header_problem(path: str) -> str | None:
    reason = _path_problem(path)
    if reason is not None:
        return reason
    try:
        with _header(path) as opened:
            return _pixel_limit_problem(*opened.size)
    except MemoryError:
        raise
    except Exception as error:
        return _open_problem(path, error)


def _sixteen_bit_to_8(image: Image.Image) -> Image.Image:
    """High byte of a 16-bit (or 32-bit integer) grayscale image, as L."""
    values = np.asarray(image).astype(np.int64)
    return Image.fromarray((np.clip(values, 0, 65535) >> 8).astype(np.uint8), "L")


def _to_rgb(image: Image.Image) -> Image.Image:
    """Convert any PIL mode to RGB; transparency is composited on white."""
    if image.mode == "RGB":
        return image
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in _ALPHA_MODES:
        rgba = image.convert("RGBA")
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode in _SIXTEEN_BIT_MODES:
        return _sixteen_bit_to_8(image).convert("RGB")
    return image.convert("RGB")


def _array_to_rgb(array: np.ndarray) -> np.ndarray:
    if array.ndim == 2:
        array = array[:, :, None]
    if array.shape[2] == 1:
        return np.repeat(array, 3, axis=2)
    if array.shape[2] == 4:
        return np.asarray(_to_rgb(Image.fromarray(np.ascontiguousarray(array), "RGBA")))
    return np.ascontiguousarray(array)


def _oriented_size(opened: Image.Image) -> tuple[int, int]:
    """``(height, width)`` of an opened file once its EXIF orientation is applied."""
    width, height = opened.size
    orientation = opened.getexif().get(ExifTags.Base.Orientation, 1)
    return (width, height) if orientation in _SIDEWAYS else (height, width)


def _resized(image: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """``image`` as an RGB array of ``size`` ``(height, width)`` (Lanczos)."""
    if image.size != (size[1], size[0]):
        image = image.resize((size[1], size[0]), Image.Resampling.LANCZOS)
    return np.asarray(image)


def image_sizes(X) -> list[tuple[int, int] | None]:
    """``(height, width)`` of each image, reading only file headers.

    Sizes are those of the image as read (EXIF orientation applied); an
    image whose header cannot be read gets None.

    Parameters
    ----------
    X : list of images
        As returned by :func:`check_images`.

    Returns
    -------
    sizes : list of tuple of int or None
        One ``(height, width)`` per image.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeepbiq._engine.images import image_sizes
    >>> image_sizes([np.zeros((20, 30, 3), np.uint8), "no/such/file.jpg"])
    [(20, 30), None]
    """
    sizes = []
    for image in X:
        if isinstance(image, np.ndarray):
            sizes.append(tuple(image.shape[:2]) if image.ndim >= 2 else None)
            continue
        if isinstance(image, Image.Image):
            sizes.append(_oriented_size(image))
            continue
        try:
            with _header(os.fspath(image)) as opened:
                sizes.append(_oriented_size(opened))
        except MemoryError:
            raise
        except Exception:
            sizes.append(None)
    return sizes


def _in_memory(image, index: int) -> np.ndarray:
    """An array or PIL image of ``X[index]`` as an RGB array (see :func:`load_image`)."""
    if isinstance(image, np.ndarray):
        reason = _array_problem(image)
        if reason is not None:
            raise _failure(image, index, reason)
        return _array_to_rgb(image)
    if isinstance(image, Image.Image):
        try:
            return np.asarray(_to_rgb(ImageOps.exif_transpose(image)))
        except MemoryError:
            raise
        except Exception as error:
            reason = f"cannot decode ({type(error).__name__}: {error})"
            raise _failure(image, index, reason) from error


def load_image(image, index: int) -> np.ndarray:
    """Read ``X[index]`` as an RGB uint8 array of shape (H, W, 3).

    What each kind of input becomes (the documented behaviour):

    - **Formats**: anything PIL decodes (JPEG, PNG, TIFF, BMP, WebP, GIF,
      ...). A file PIL cannot identify (a text or HTML file named ``.jpg``,
      an unsupported format such as SVG or HEIC without a plugin) is an
      error that shows the file's first bytes.
    - **Color**: grayscale (``L``, ``1``) is repeated over three channels;
      CMYK (e.g. CMYK JPEG) and YCbCr use PIL's conversion to RGB; ICC
      profiles are ignored (pixels are used as stored).
    - **Transparency**: RGBA, LA, PA and palette images with a transparent
      color are composited on a white background (4-channel arrays too).
    - **16-bit**: 16-bit grayscale (and 32-bit integer) images keep their
      high byte (value // 256), as PIL does for 16-bit RGB PNG.
    - **EXIF orientation** is applied, for files and PIL images alike, so
      the pixels are those a viewer shows (a portrait photo stored sideways
      is cropped upright). Arrays are used as they are.
    - **Animated or multi-page files** (GIF, APNG, TIFF): the first frame.
    - **Small images**: any size from 1x1 is read; the featurizer enlarges
      images smaller than the crop.
    - **Large images**: read whole here; :func:`read_image` reads them at a
      viewing scale.
    - **Arrays** must be uint8 of shape (H, W), (H, W, 1), (H, W, 3) or
      (H, W, 4).

    Errors are :class:`~skdeepbiq.exceptions.ImageReadError` whose message
    is ``X[index] ('path'): reason`` and whose ``failures`` holds the same
    as ``(index, description, reason)``:

    - missing file: ``no such file``; a folder: ``is a directory, not an
      image file``; a FIFO or device: ``not a regular file``; a zero-byte
      file: ``empty file (0 bytes)``; no read permission: ``cannot open:
      permission denied``;
    - truncated or corrupt JPEG / PNG: ``cannot decode (...)``. PIL's
      ``ImageFile.LOAD_TRUNCATED_IMAGES = True`` is respected if a program
      sets it (PIL then fills the missing pixels with gray);
    - more pixels than ``PIL.Image.MAX_IMAGE_PIXELS`` (about 89 million by
      default): ``too large: ... (decompression-bomb guard)``, found from
      the header, before any pixel memory is allocated. Raise that limit
      or set it to None to read larger trusted images.

    Parameters
    ----------
    image : str, PathLike, PIL.Image.Image or ndarray
        One element of ``X``.
    index : int
        Its position in ``X``, for messages.

    Returns
    -------
    pixels : ndarray of shape (height, width, 3), dtype uint8
        The image's pixels.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeepbiq._engine.images import load_image
    >>> load_image(np.zeros((2, 3), np.uint8), 0).shape
    (2, 3, 3)
    """
    return read_image(image, index)[0]


def read_image(image, index: int, shorter_side: int | None = None):
    """Read ``X[index]`` at a viewing scale, and its size as read.

    The image is read as :func:`load_image` reads it, then, when its shorter
    side is larger than ``shorter_side``, reduced (Lanczos, aspect ratio
    kept) to :func:`viewed_size`. A JPEG file is first decoded at reduced
    size by its DCT scaling (PIL's ``draft``) to the smallest of 1/2, 1/4 or
    1/8 of its size that stays at least :data:`DRAFT_MARGIN` (4) times the
    target, so that a 24 megapixel photo is never held at full resolution;
    other formats are decoded whole, and only the reduced copy is kept. An
    image that is not larger than ``shorter_side`` (or any image when it is
    None) is read at its own size: :func:`load_image` is this function
    without a viewing scale.

    Parameters
    ----------
    image : str, PathLike, PIL.Image.Image or ndarray
        One element of ``X``.
    index : int
        Its position in ``X``, for messages.
    shorter_side : int, default=None
        The viewing scale: the largest shorter side kept; None reads the
        image at its own size.

    Returns
    -------
    pixels : ndarray of shape (viewed_height, viewed_width, 3), dtype uint8
        The image at its viewing scale.
    shape : tuple of int
        ``(height, width)`` of the image as read, EXIF orientation applied,
        before any reduction.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeepbiq._engine.images import read_image
    >>> pixels, shape = read_image(np.zeros((1000, 1500, 3), np.uint8), 0, 500)
    >>> pixels.shape, shape
    ((500, 750, 3), (1000, 1500))
    """
    if isinstance(image, np.ndarray | Image.Image):
        pixels = _in_memory(image, index)
        shape = tuple(pixels.shape[:2])
        target = viewed_size(*shape, shorter_side)
        if target != shape:
            pixels = _resized(Image.fromarray(pixels), target)
        return pixels, shape
    path = os.fspath(image)
    reason = _path_problem(path)
    if reason is not None:
        raise _failure(image, index, reason)
    try:
        with Image.open(path) as opened:
            reason = _pixel_limit_problem(*opened.size)
            if reason is None:
                shape = _oriented_size(opened)
                target = viewed_size(*shape, shorter_side)
                if target != shape and opened.format == "JPEG":
                    stored = target if opened.size == shape[::-1] else target[::-1]
                    size = (DRAFT_MARGIN * stored[1], DRAFT_MARGIN * stored[0])
                    opened.draft(opened.mode, size)
                opened.load()
                upright = _to_rgb(ImageOps.exif_transpose(opened))
                return _resized(upright, target), shape
    except MemoryError:
        raise
    except Exception as error:
        raise _failure(image, index, _open_problem(path, error)) from error
    raise _failure(image, index, reason)
