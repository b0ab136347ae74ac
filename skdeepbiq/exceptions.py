"""Exceptions and warnings raised by skdeepbiq."""

from typing import NamedTuple


class SkDeepBIQWarning(UserWarning):
    """Base class of the warnings that skdeepbiq emits."""


class WeightsNotFoundError(FileNotFoundError):
    """Pretrained weights are neither cached locally nor downloadable.

    The message names the weights file, the folder it must be put in and,
    where one can work, the command that fetches it.
    """


class ModelFileError(ValueError):
    """A file given as a model is not a skdeepbiq model file it can read.

    The message names the file and says what it is instead: not an
    ``.npz`` archive (a text file, an image, ...), an archive of something
    else, or a model file of a format version this skdeepbiq does not read
    (naming the version found and the versions read).
    """


class ImageFailure(NamedTuple):
    """One image that could not be read: ``(index, description, reason)``.

    ``index`` is its position in ``X``; ``description`` its path (as given),
    or ``"<ndarray>"`` / ``"<PIL.Image>"``-like text for an in-memory image;
    ``reason`` says what is wrong (``"no such file"``, ``"empty file (0
    bytes)"``, ...). ``str()`` gives the line used in messages:
    ``X[3] ('photos/a.jpg'): no such file``.
    """

    index: int
    description: str
    reason: str

    def __str__(self) -> str:
        label = self.description
        if not label.startswith("<"):
            label = repr(label)
        return f"X[{self.index}] ({label}): {self.reason}"


def format_failures(failures, limit: int = 50) -> str:
    """One indented line per failure, at most ``limit`` of them."""
    lines = [f"  {failure}" for failure in failures[:limit]]
    if len(failures) > limit:
        lines.append(f"  ... and {len(failures) - limit} more (see .failures)")
    return "\n".join(lines)


class ImageReadError(ValueError):
    """An image could not be read or decoded.

    The message names each image (``X[index]`` and its path) and the reason;
    ``failures`` holds them as a list of :class:`ImageFailure`
    ``(index, description, reason)``.
    """

    def __init__(self, message, failures=()):
        super().__init__(message)
        self.failures = list(failures)

    def __reduce__(self):
        return type(self), (self.args[0] if self.args else "", self.failures)

    @classmethod
    def from_failures(cls, failures, context: str = ""):
        """The error for one or several failed images."""
        if len(failures) == 1:
            return cls(f"{failures[0]}{context}", failures)
        return cls(
            f"{len(failures)} images cannot be read{context}:\n"
            + format_failures(failures),
            failures,
        )


class UnreadableImageWarning(SkDeepBIQWarning):
    """Some images could not be read and were given NaN or skipped.

    Emitted once per call by ``CNNCropFeaturizer(on_error="nan").transform``
    (their rows are NaN, so ``DeepBIQRegressor.predict`` returns NaN for
    them) and by ``DeepBIQRegressor(skip_unreadable=True).fit`` (they are
    left out of training). The message lists each image as ``X[i] ('path'):
    reason``; ``failures`` holds them as a list of :class:`ImageFailure`
    ``(index, description, reason)``, for programs that report them.
    """

    def __init__(self, message, failures=()):
        super().__init__(message)
        self.failures = list(failures)

    def __reduce__(self):
        return type(self), (self.args[0] if self.args else "", self.failures)

    @classmethod
    def from_failures(cls, failures, n_images: int, consequence: str):
        """The warning for ``failures`` among ``n_images``, e.g. with
        ``consequence="their feature rows are NaN"``."""
        return cls(
            f"{len(failures)} of {n_images} images could not be read; "
            f"{consequence}:\n" + format_failures(failures),
            failures,
        )


class SmallImageWarning(SkDeepBIQWarning):
    """Some images were enlarged more than twice to reach the model's crops.

    An image whose shorter side is less than half the crop size (a 10x10
    icon, a 100-pixel thumbnail for 224-pixel crops) is enlarged until its
    crops fit, so its score comes from pixels at a magnification that no
    rater saw. Emitted once per call by the featurizer (and so by
    ``DeepBIQRegressor.predict``, ``crop_scores`` and ``quality_maps``) for
    the images it decoded; the command line prints it as a note on stderr.
    ``images`` holds them as a list of :class:`ImageFailure` ``(index,
    description, reason)``, the reason giving the size and the factor.
    """

    def __init__(self, message, images=()):
        super().__init__(message)
        self.images = list(images)

    def __reduce__(self):
        return type(self), (self.args[0] if self.args else "", self.images)

    @classmethod
    def from_images(cls, images, n_images: int):
        """The warning for the enlarged ``images`` among ``n_images``."""
        return cls(
            f"{len(images)} of {n_images} images were enlarged more than 2x to "
            "reach the model's crops; their scores come from a magnification "
            "that no rater saw:\n" + format_failures(images),
            images,
        )
