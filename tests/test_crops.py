"""Crop geometry: boxes, grids, small images, determinism."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skdeepbiq._engine.crops import (
    crop_boxes,
    grid_shape,
    image_rng,
    scale_boxes,
    working_size,
)

sizes = st.integers(min_value=1, max_value=1200)


@settings(max_examples=200, deadline=None)
@given(
    height=sizes,
    width=sizes,
    crop_size=st.integers(1, 300),
    n_crops=st.integers(1, 40),
    mode=st.sampled_from(["random", "grid", "center"]),
    seed=st.integers(0, 2**31 - 1),
)
def test_boxes_lie_inside_the_working_image_and_are_deterministic(
    height, width, crop_size, n_crops, mode, seed
):
    working = working_size(height, width, crop_size, mode)
    assert min(working) >= crop_size
    pixels = np.full((2, 2, 3), seed % 256, dtype=np.uint8)
    boxes = crop_boxes(
        *working, n_crops=n_crops, crop_size=crop_size, mode=mode,
        rng=image_rng(seed, pixels),
    )  # fmt: skip
    again = crop_boxes(
        *working, n_crops=n_crops, crop_size=crop_size, mode=mode,
        rng=image_rng(seed, pixels),
    )  # fmt: skip
    np.testing.assert_array_equal(boxes, again)
    assert boxes.shape == (1 if mode == "center" else n_crops, 4)
    left, top, right, bottom = boxes.T
    assert (left >= 0).all() and (top >= 0).all()
    assert (right <= working[1]).all() and (bottom <= working[0]).all()
    assert (right - left == crop_size).all() and (bottom - top == crop_size).all()


@settings(max_examples=100, deadline=None)
@given(height=sizes, width=sizes, crop_size=st.integers(1, 300))
def test_images_at_least_crop_size_keep_their_size_for_random_and_grid(
    height, width, crop_size
):
    working = working_size(height, width, crop_size, "random")
    if min(height, width) >= crop_size:
        assert working == (height, width)
    else:
        assert min(working) == crop_size
        # aspect ratio kept up to rounding
        assert abs(
            working[0] / working[1] - height / width
        ) <= 1 / crop_size + 1e-9 or (max(working) == crop_size)


def test_center_resizes_shorter_side_to_256_like_torchvision():
    assert working_size(500, 500, 224, "center") == (256, 256)
    assert working_size(375, 500, 224, "center") == (256, 341)
    assert working_size(500, 333, 224, "center") == (384, 256)
    box = crop_boxes(256, 341, n_crops=25, crop_size=224, mode="center")
    np.testing.assert_array_equal(box, [[58, 16, 282, 240]])


def test_grid_covers_corners_and_matches_the_image_shape():
    assert grid_shape(25, 500, 500) == (5, 5)
    assert grid_shape(10, 300, 900) == (2, 5)
    assert grid_shape(10, 900, 300) == (5, 2)
    assert grid_shape(7, 500, 500) in {(1, 7), (7, 1)}
    boxes = crop_boxes(500, 500, n_crops=4, crop_size=224, mode="grid")
    np.testing.assert_array_equal(
        boxes,
        [
            [0, 0, 224, 224],
            [276, 0, 500, 224],
            [0, 276, 224, 500],
            [276, 276, 500, 500],
        ],
    )


def test_crop_rng_depends_on_seed_and_pixels_only():
    a = np.zeros((10, 10, 3), np.uint8)
    b = a.copy()
    b[0, 0, 0] = 1
    draw = lambda seed, px: image_rng(seed, px).integers(0, 1 << 30, 4)  # noqa: E731
    np.testing.assert_array_equal(draw(0, a), draw(0, a.copy()))
    assert not np.array_equal(draw(0, a), draw(1, a))
    assert not np.array_equal(draw(0, a), draw(0, b))


def test_random_mode_needs_a_generator():
    with pytest.raises(ValueError, match="random generator"):
        crop_boxes(300, 300, n_crops=2, crop_size=224, mode="random")


def test_scale_boxes_maps_back_to_original_pixels():
    boxes = np.array([[0, 0, 224, 224]])
    np.testing.assert_allclose(
        scale_boxes(boxes, (448, 224), (100, 50)), [[0, 0, 50, 50]]
    )
