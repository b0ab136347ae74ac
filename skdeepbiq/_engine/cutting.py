"""Cutting crops: one decoded image -> its crops as tensors, and their boxes.

The geometry (where crops go) is :class:`skdeepbiq._engine.crops.CropSpec`'s; this
module resizes the image to its working size and copies the crops out, in
the channels-last layout the network runs in, or, for a shared trunk, keeps
the working image and its snapped boxes.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
import torchvision.transforms.functional as TF

from ..exceptions import ImageReadError
from .crops import CropSpec
from .images import read_image


class Prepared(NamedTuple):
    """One decoded image, ready for the network.

    ``payload`` is the crops as a uint8 tensor (n_crops, 3, s, s) in
    channels-last layout, or, with a shared trunk, the working-size image
    (3, H, W) and its snapped boxes. ``boxes`` are the crops' boxes in the
    image's own pixels; ``shape`` its ``(height, width)`` as read.
    """

    payload: object
    boxes: np.ndarray
    shape: tuple[int, int]


def place_crops(pixels: np.ndarray, spec: CropSpec) -> tuple[torch.Tensor, np.ndarray]:
    """The working-size image (uint8, (3, H, W)) and its crop boxes there.

    Resized with torchvision's v1 ``resize``: transforms v2 rounds uint8
    images differently, and features must stay bit-identical.
    """
    if not pixels.flags.writeable:
        pixels = pixels.copy()
    image = torch.from_numpy(pixels).permute(2, 0, 1)
    working, boxes = spec.locate(pixels)
    if working != tuple(pixels.shape[:2]):
        image = TF.resize(image, list(working), antialias=True)
    return image, boxes


def crops_of(image: torch.Tensor, boxes: np.ndarray) -> torch.Tensor:
    """The crops under ``boxes`` of a uint8 image (3, H, W).

    A uint8 tensor of shape (n_crops, 3, s, s) in channels-last memory
    format: each crop is a copy of whole pixel rows of the decoded image, in
    the layout the network runs in.
    """
    rows = image.permute(1, 2, 0)  # (H, W, 3): a view of the decoded pixels
    crops = torch.stack(
        [rows[top:bottom, left:right] for left, top, right, bottom in boxes.tolist()]
    )
    return crops.permute(0, 3, 1, 2)


def prepare(image, index: int, spec: CropSpec, trunk: bool) -> Prepared:
    """Decode ``image`` (``X[index]``) at its viewing scale and cut its crops (or
    place them); the boxes are mapped back to the image's own pixels."""
    pixels, shape = read_image(image, index, spec.viewing_side)
    working_image, boxes = place_crops(pixels, spec)
    in_image = spec.in_image(boxes, tuple(working_image.shape[1:]), shape)
    payload = (working_image, boxes) if trunk else crops_of(working_image, boxes)
    return Prepared(payload, in_image, shape)


def crop_boxes_of(images: list, spec: CropSpec, failures: list | None):
    """``(boxes, shape)`` of each image, without the network.

    Unreadable images raise, or, when ``failures`` is a list, are appended
    to it and get None.
    """
    located = []
    for index, image in enumerate(images):
        try:
            pixels, shape = read_image(image, index, spec.viewing_side)
        except ImageReadError as error:
            if failures is None:
                raise
            failures.extend(error.failures)
            located.append(None)
            continue
        located.append((spec.image_boxes(pixels, shape), shape))
    return located


def boxes_or_nan(images: list, spec: CropSpec, on_error: str):
    """Each image's crop boxes (NaN for unreadable ones) and the failures.

    With ``on_error="raise"`` an unreadable image raises
    :class:`~skdeepbiq.exceptions.ImageReadError`.
    """
    failures = None if on_error == "raise" else []
    located = crop_boxes_of(images, spec, failures)
    boxes = [None if place is None else place[0] for place in located]
    return nan_where_missing(boxes, spec.n_crops), failures


def nan_where_missing(boxes: list, n_crops: int) -> list:
    """``boxes`` with each None (an unreadable image) replaced by NaN boxes."""
    nan = np.full((n_crops, 4), np.nan)
    return [nan.copy() if image_boxes is None else image_boxes for image_boxes in boxes]
