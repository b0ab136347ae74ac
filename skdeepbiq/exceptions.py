"""Exceptions and warnings raised by skdeepbiq."""


class SkDeepBIQWarning(UserWarning):
    """Base class of the warnings that skdeepbiq emits."""


class WeightsNotFoundError(FileNotFoundError):
    """Pretrained weights are neither cached locally nor downloadable.

    The message names the weights file, the folder it must be put in and
    the command that fetches it.
    """


class ImageReadError(ValueError):
    """An image could not be read or decoded.

    The message names the image (its path, or its index in ``X``) and the
    reason.
    """
