"""Reading images: paths, PIL images and arrays -> HxWx3 uint8 arrays."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .exceptions import ImageReadError


def describe(image, index: int) -> str:
    """Short name of ``X[index]`` for messages: its path, or its index."""
    if isinstance(image, str | os.PathLike):
        return f"X[{index}] ({os.fspath(image)!r})"
    return f"X[{index}] ({type(image).__name__})"


def check_images(X) -> list:
    """Validate ``X`` as a sequence of images and return it as a list.

    Accepts a list, tuple, 1-D object array or pandas Series of paths
    (str or PathLike), PIL images or HxWxC / HxW uint8 arrays, and a 4-D
    uint8 array of shape (n_images, H, W, C).
    """
    if isinstance(X, str | bytes | os.PathLike | Image.Image):
        raise TypeError(
            "X must be a sequence of images (paths, PIL images or arrays), "
            f"got a single {type(X).__name__}; wrap it in a list"
        )
    if isinstance(X, np.ndarray) and X.dtype != object and X.ndim in (2, 3):
        raise TypeError(
            f"X must be a sequence of images; got one array of shape {X.shape}. "
            "Wrap a single image in a list, or pass an array of shape "
            "(n_images, height, width, channels)"
        )
    if hasattr(X, "to_numpy") and not isinstance(X, np.ndarray):  # pandas
        X = X.to_numpy()
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
                f"X[{index}] is a {type(image).__name__}; each image must be "
                "a path (str or PathLike), a PIL image or a uint8 array"
            )
    return images


def _to_rgb(image: Image.Image) -> Image.Image:
    """Convert any PIL mode to RGB; transparency is composited on white."""
    if image.mode == "RGB":
        return image
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image.convert("RGBA"), mask=image.convert("RGBA").split()[-1])
        return background
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if array.max() > 255 else 255.0
        gray = np.clip(np.round(array * 255.0 / peak), 0, 255).astype(np.uint8)
        return Image.fromarray(gray, mode="L").convert("RGB")
    return image.convert("RGB")


def _array_to_rgb(array: np.ndarray, name: str) -> np.ndarray:
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise ImageReadError(
            f"{name}: an image array must have shape (H, W), (H, W, 1), "
            f"(H, W, 3) or (H, W, 4), got {array.shape}"
        )
    if array.dtype != np.uint8:
        raise ImageReadError(
            f"{name}: an image array must be uint8 (0-255), got {array.dtype}"
        )
    if array.shape[0] < 1 or array.shape[1] < 1:
        raise ImageReadError(f"{name}: empty image of shape {array.shape}")
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    elif array.shape[2] == 4:
        return _array_to_rgb(np.asarray(_to_rgb(Image.fromarray(array, "RGBA"))), name)
    return np.ascontiguousarray(array)


def load_image(image, index: int) -> np.ndarray:
    """Read ``X[index]`` as an RGB uint8 array of shape (H, W, 3).

    Paths are decoded with PIL; EXIF orientation is applied, so the pixels
    are those a viewer shows. Grayscale is repeated over three channels,
    transparency is composited on white, 16-bit images are scaled to 8 bits.
    Errors are :class:`~skdeepbiq.exceptions.ImageReadError` naming the image.
    """
    name = describe(image, index)
    if isinstance(image, np.ndarray):
        return _array_to_rgb(image, name)
    if isinstance(image, Image.Image):
        return np.asarray(_to_rgb(image))
    path = os.fspath(image)
    if not os.path.exists(path):
        raise ImageReadError(f"{name}: no such file")
    if os.path.isdir(path):
        raise ImageReadError(f"{name}: is a directory, not an image file")
    try:
        with Image.open(path) as opened:
            opened.load()
            oriented = ImageOps.exif_transpose(opened)
            return np.asarray(_to_rgb(oriented))
    except UnidentifiedImageError:
        raise ImageReadError(
            f"{name}: not an image PIL can identify (unsupported format or "
            "not an image file)"
        ) from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageReadError(f"{name}: cannot decode: {error}") from error
    except Image.DecompressionBombError as error:
        raise ImageReadError(f"{name}: {error}") from error
