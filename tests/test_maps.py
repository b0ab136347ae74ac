"""Crop boxes, crop scores, quality maps, their plots and ``score --maps``."""

import copy
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from skdeepbiq import (
    CNNCropFeaturizer,
    DeepBIQRegressor,
    load_pretrained,
    quality_maps,
    save_model,
)
from skdeepbiq._engine.crops import crop_boxes, grid_shape, working_size
from skdeepbiq._maps import dense_grid_size, score_map
from skdeepbiq.cli import main, map_file_names
from skdeepbiq.exceptions import UnreadableImageWarning

from .conftest import cut_crops, make_images

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "images" / "0-original.jpg"
SMALL = dict(backbone="mobilenet_v2", weights=None, n_crops=3, crop_size=32)


@pytest.fixture(scope="module")
def tiny_model():
    """A DeepBIQRegressor on a random network: 3 crops of 32 px."""
    images = make_images(8, size=(48, 64))
    return DeepBIQRegressor(CNNCropFeaturizer(**SMALL)).fit(
        images, np.linspace(10, 90, 8)
    )


# score_map ---------------------------------------------------------------


def test_score_map_is_the_mean_of_the_scores_of_the_covering_crops():
    boxes = [[0, 0, 4, 4], [2, 2, 6, 6]]
    result = score_map(boxes, [10.0, 30.0], (6, 6))
    assert result[0, 0] == 10.0
    assert result[3, 3] == 20.0  # covered by both
    assert result[5, 5] == 30.0
    assert np.isnan(result[0, 5])  # covered by none


def test_score_map_fractional_boxes_cover_the_pixels_whose_centres_they_hold():
    result = score_map([[0.6, 0, 2.4, 1]], [5.0], (1, 4))  # holds 1.5 only
    np.testing.assert_array_equal(np.isnan(result[0]), [True, False, True, True])
    result = score_map([[0.4, 0, 2.6, 1]], [5.0], (1, 4))
    np.testing.assert_array_equal(np.isnan(result[0]), [False, False, False, True])


def test_score_map_ignores_nan_boxes_and_scores():
    result = score_map(
        [[0, 0, 2, 2], [np.nan] * 4, [0, 0, 2, 2]], [1, 5, np.nan], (2, 2)
    )
    np.testing.assert_array_equal(result, np.ones((2, 2)))


def test_score_map_refuses_mismatched_boxes_and_scores():
    with pytest.raises(ValueError, match="2 boxes but 1 scores"):
        score_map([[0, 0, 1, 1], [0, 0, 1, 1]], [1.0], (2, 2))


# dense grids -------------------------------------------------------------


@pytest.mark.parametrize(
    "height, width", [(224, 224), (320, 320), (500, 500), (300, 900), (1000, 250)]
)
@pytest.mark.parametrize("stride", [56, 112, 224])
def test_dense_grid_crops_are_at_most_stride_apart_and_cover_the_image(
    height, width, stride
):
    n_crops = dense_grid_size(height, width, 224, stride)
    boxes = crop_boxes(height, width, n_crops=n_crops, crop_size=224, mode="grid")
    rows, cols = grid_shape(n_crops, height, width)
    assert np.diff(np.unique(boxes[:, 1])).max(initial=0) <= stride
    assert np.diff(np.unique(boxes[:, 0])).max(initial=0) <= stride
    coverage = score_map(boxes, np.ones(len(boxes)), (height, width))
    assert not np.isnan(coverage).any()
    assert len(boxes) == rows * cols


# CNNCropFeaturizer.get_crop_boxes ----------------------------------------


@pytest.mark.parametrize("crops", ["random", "grid", "center"])
def test_crop_boxes_are_where_transform_cuts_its_crops(crops):
    image = make_images(1, size=(300, 260))[0]
    featurizer = CNNCropFeaturizer(**SMALL, crops=crops).fit([image])
    (boxes,) = featurizer.get_crop_boxes([image])
    crops_cut, working_boxes = cut_crops(
        image, n_crops=featurizer.n_crops_, crop_size=32, mode=crops, seed=0
    )
    assert boxes.shape == (featurizer.n_crops_, 4)
    if crops == "center":  # resized to 256 on the shorter side, then cut
        working = working_size(300, 260, 32, "center")
        assert working == (295, 256)
        scale = [260 / 256, 300 / 295, 260 / 256, 300 / 295]
        np.testing.assert_allclose(boxes, working_boxes * scale)
        return
    np.testing.assert_array_equal(boxes, working_boxes)
    for crop, (left, top, right, bottom) in zip(
        crops_cut, boxes.astype(int), strict=True
    ):
        np.testing.assert_array_equal(
            crop.permute(1, 2, 0).numpy(), image[top:bottom, left:right]
        )


def test_crop_boxes_of_an_enlarged_small_image_are_in_its_own_pixels():
    image = make_images(1, size=(20, 30))[0]
    featurizer = CNNCropFeaturizer(**SMALL).fit([image])
    (boxes,) = featurizer.get_crop_boxes([image])
    np.testing.assert_allclose(boxes[:, 3] - boxes[:, 1], 20)  # 32 px of 32
    np.testing.assert_allclose(boxes[:, 2] - boxes[:, 0], 20)
    assert boxes[:, [0, 1]].min() >= 0
    assert boxes[:, 2].max() <= 30 and boxes[:, 3].max() <= 20


def test_crop_boxes_with_trunk_compute_snap_to_multiples_of_16():
    image = make_images(1, size=(150, 170))[0]
    params = {**SMALL, "n_crops": 6, "compute": "trunk"}
    featurizer = CNNCropFeaturizer(**params).fit([image])
    (boxes,) = featurizer.get_crop_boxes([image])
    assert (boxes[:, :2] % 16 == 0).all()
    np.testing.assert_array_equal(boxes[:, 2:] - boxes[:, :2], 32)


def test_crop_boxes_are_the_same_for_a_path_and_its_pixels(image_paths):
    featurizer = CNNCropFeaturizer(**SMALL).fit(image_paths[:2])
    pixels = [np.asarray(Image.open(path)) for path in image_paths[:2]]
    for from_path, from_pixels in zip(
        featurizer.get_crop_boxes(image_paths[:2]),
        featurizer.get_crop_boxes(pixels),
        strict=True,
    ):
        np.testing.assert_array_equal(from_path, from_pixels)


def test_crop_boxes_of_unreadable_images_are_nan_with_on_error_nan(tmp_path):
    image = make_images(1)[0]
    featurizer = CNNCropFeaturizer(**SMALL, on_error="nan").fit([image])
    missing = tmp_path / "missing.png"
    with pytest.warns(UnreadableImageWarning, match="missing.png"):
        boxes = featurizer.get_crop_boxes([image, missing])
    assert np.isfinite(boxes[0]).all() and np.isnan(boxes[1]).all()


# DeepBIQRegressor.crop_scores --------------------------------------------


def test_crop_scores_match_predict_crops_and_predict(tiny_model):
    images = make_images(3, size=(60, 50), seed=1)
    crops = tiny_model.crop_scores(images)
    np.testing.assert_allclose(
        [c.scores for c in crops], tiny_model.predict_crops(images)
    )
    np.testing.assert_allclose([c.score for c in crops], tiny_model.predict(images))
    for image_crops, boxes in zip(
        crops, tiny_model.featurizer_.get_crop_boxes(images), strict=True
    ):
        assert image_crops.boxes.shape == (3, 4)
        np.testing.assert_array_equal(image_crops.boxes, boxes)


@pytest.mark.parametrize("fusion", ["feature", "concatenation"])
def test_crop_scores_explain_why_fused_features_have_no_crop_scores(fusion):
    images = make_images(6)
    model = DeepBIQRegressor(CNNCropFeaturizer(**SMALL), fusion=fusion)
    model.fit(images, np.arange(6.0))
    with pytest.raises(ValueError, match="single crops have no scores"):
        model.crop_scores(images)
    with pytest.raises(ValueError, match="single crops have no scores to map"):
        quality_maps(model, images)


def test_crop_scores_need_images_not_precomputed_features():
    features = np.random.default_rng(0).normal(size=(6, 3, 5))
    model = DeepBIQRegressor("precomputed").fit(features, np.arange(6.0))
    with pytest.raises(ValueError, match="no crop positions"):
        model.crop_scores(features)


# quality_maps --------------------------------------------------------------


def test_quality_maps_cover_every_pixel_of_every_image(tiny_model):
    images = [*make_images(2, size=(48, 64)), make_images(1, size=(20, 90))[0]]
    maps = quality_maps(tiny_model, images)
    for image, result in zip(images, maps, strict=True):
        assert result.map.shape == image.shape[:2]
        assert np.isfinite(result.map).all()
        assert len(result.scores) == len(result.boxes)
        assert result.score == pytest.approx(result.scores.mean())
        assert result.map.min() >= result.scores.min() - 1e-9
        assert result.map.max() <= result.scores.max() + 1e-9


def test_quality_maps_score_a_denser_grid_with_a_smaller_stride(tiny_model):
    image = make_images(1, size=(96, 96))[0]
    native = copy.deepcopy(tiny_model)  # the image's own pixels, not reduced to 48
    native.featurizer_.set_params(viewing_scale="native")
    coarse = quality_maps(native, [image], stride=32)[0]
    fine = quality_maps(native, [image], stride=8)[0]
    assert len(coarse.scores) == 9  # starts 0, 32, 64 in both directions
    assert len(fine.scores) == 81


def test_quality_maps_leave_the_fitted_model_unchanged(tiny_model):
    images = make_images(2, size=(64, 80), seed=3)
    before = tiny_model.predict(images)
    params = tiny_model.featurizer_.get_params()
    attributes = dict(vars(tiny_model.featurizer_))
    quality_maps(tiny_model, images)
    assert tiny_model.featurizer_.get_params() == params
    assert tiny_model.featurizer_.n_crops_ == 3
    assert tiny_model.n_crops_ == 3
    assert set(vars(tiny_model.featurizer_)) >= set(attributes) - {"_device_networks"}
    np.testing.assert_array_equal(tiny_model.predict(images), before)


def test_quality_maps_with_trunk_compute_fill_the_border_left_by_snapping():
    images = make_images(6, size=(70, 90))
    featurizer = CNNCropFeaturizer(**SMALL, compute="trunk")
    model = DeepBIQRegressor(featurizer).fit(images, np.arange(6.0))
    (result,) = quality_maps(model, images[:1])
    assert result.boxes[:, 2].max() < 90  # the last column snapped left
    assert np.isfinite(result.map).all()


@pytest.mark.parametrize("stride", [0, -3, 2.5, "8", True])
def test_quality_maps_refuse_a_stride_that_is_not_a_positive_integer(
    tiny_model, stride
):
    with pytest.raises(ValueError, match="stride must be a positive integer"):
        quality_maps(tiny_model, make_images(1), stride=stride)


def damaged_half_image(damage: str) -> np.ndarray:
    """A sample photo (320x320) beside its mirror image heavily damaged."""
    photo = Image.open(SAMPLE).convert("RGB")
    mirror = photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if damage == "blur":
        damaged = np.asarray(mirror.filter(ImageFilter.GaussianBlur(6)))
    else:
        noise = np.random.default_rng(0).normal(0, 50, (320, 320, 3))
        damaged = np.clip(np.asarray(mirror) + noise, 0, 255).astype(np.uint8)
    return np.concatenate([np.asarray(photo), damaged], axis=1)


@pytest.mark.parametrize("damage", ["blur", "noise"])
def test_pretrained_map_is_lower_over_the_damaged_half(
    pretrained_weights_cached, damage
):
    model = load_pretrained(device="cpu")
    image = damaged_half_image(damage)  # 320 x 640: 10 grid crops of 224 px
    (result,) = quality_maps(model, [image])
    clean, damaged = result.map[:, :320].mean(), result.map[:, 320:].mean()
    assert damaged < clean - 15, (clean, damaged)
    left_crops = result.scores[result.boxes[:, 2] <= 320]
    right_crops = result.scores[result.boxes[:, 0] >= 320]
    assert left_crops.min() > right_crops.max()


# plotting ------------------------------------------------------------------


@pytest.fixture
def figure():
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    return Figure()


def test_plot_quality_map_overlays_the_map_with_a_colour_bar_and_the_score(figure):
    from skdeepbiq.plotting import plot_quality_map

    image = make_images(1, size=(40, 60))[0]
    quality_map = np.tile(np.linspace(20, 80, 60), (40, 1))
    ax = figure.add_subplot()
    returned = plot_quality_map(
        image, quality_map, score=55.25, title="a.png", ax=ax, vmin=0, vmax=100
    )
    assert returned is ax
    assert ax.get_title() == "a.png: score 55.2"
    photo, overlay = ax.images
    np.testing.assert_array_equal(photo.get_array(), image)
    assert overlay.get_alpha() == 0.5
    assert overlay.get_clim() == (0, 100)
    colour_bar_axes = [other for other in figure.axes if other is not ax]
    assert colour_bar_axes[0].get_ylabel() == "predicted MOS"


def test_plot_quality_map_takes_the_score_of_a_quality_maps_result(figure, tiny_model):
    from skdeepbiq.plotting import plot_quality_map

    image = make_images(1)[0]
    result = quality_maps(tiny_model, [image])[0]
    ax = plot_quality_map(image, result, ax=figure.add_subplot(), inset=True)
    texts = [text.get_text() for text in ax.texts]
    assert texts == [f"score {result.score:.1f}"]


def test_plot_quality_map_refuses_a_map_of_another_size(figure):
    from skdeepbiq.plotting import plot_quality_map

    with pytest.raises(ValueError, match=r"the map has shape \(10, 10\)"):
        plot_quality_map(make_images(1)[0], np.zeros((10, 10)), ax=figure.add_subplot())


@pytest.mark.parametrize("size", [(300, 600), (500, 375), (37, 1000), (20, 30)])
def test_save_quality_map_writes_a_file_of_the_photos_aspect_ratio(
    figure, tmp_path, size
):
    from skdeepbiq.plotting import save_quality_map

    image = make_images(1, size=size)[0]
    path = save_quality_map(tmp_path / "map.png", image, np.ones(size), score=50)
    with Image.open(path) as written:
        width, height = written.size
    assert abs(width / height - size[1] / size[0]) <= 1.5 / min(width, height)
    assert max(width, height) >= 480


def test_plotting_without_matplotlib_says_which_extra_to_install(monkeypatch):
    from skdeepbiq.plotting import plot_quality_map

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install skdeepbiq\[plot\]"):
        plot_quality_map(make_images(1)[0], np.zeros((48, 64)))


# the command line ----------------------------------------------------------


def test_map_file_names_keep_the_whole_file_name_and_never_collide():
    assert map_file_names(["x.jpg", "x.png", "X.JPG"]) == [
        "x.jpg.png",
        "x.png.png",
        "X.JPG.png",
    ]
    paths = ["p/a/photo.jpg", "p/b/photo.jpg", "p/a/photo.png", "p/b/c/other.tif"]
    assert map_file_names(paths) == [
        os.path.join("a", "photo.jpg.png"),
        os.path.join("b", "photo.jpg.png"),
        os.path.join("a", "photo.png.png"),
        os.path.join("b", "c", "other.tif.png"),
    ]
    # relative and absolute spellings of folders name maps the same way
    assert map_file_names(["p/a/photo.jpg", os.path.abspath("p/photo.jpg")]) == [
        os.path.join("a", "photo.jpg.png"),
        "photo.jpg.png",
    ]


def test_score_maps_of_same_named_images_in_one_and_several_folders_never_collide(
    tiny_model, tmp_path, capsys
):
    pytest.importorskip("matplotlib")
    model_path = save_model(tiny_model, tmp_path / "tiny.npz")
    photos = tmp_path / "photos"
    (photos / "sub").mkdir(parents=True)
    for name in ("x.jpg", "x.png", "sub/x.jpg"):
        Image.fromarray(make_images(1)[0]).save(photos / name)
    maps = tmp_path / "maps"
    code = main(
        ["score", str(photos), "-r", "--model", str(model_path), "--maps",
         str(maps), "-q"]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    written = sorted(str(path.relative_to(maps)) for path in maps.rglob("*.png"))
    assert written == [os.path.join("sub", "x.jpg.png"), "x.jpg.png", "x.png.png"]


def run_cli(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    return subprocess.run(
        [sys.executable, "-m", "skdeepbiq", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_score_maps_writes_one_png_per_image_with_the_photos_aspect_ratio(
    tiny_model, tmp_path
):
    pytest.importorskip("matplotlib")
    model_path = save_model(tiny_model, tmp_path / "tiny.npz")
    sizes = {"wide.png": (48, 96), "tall.jpg": (120, 50), "small.png": (20, 26)}
    paths = []
    for name, size in sizes.items():
        paths.append(tmp_path / name)
        Image.fromarray(make_images(1, size=size)[0]).save(paths[-1])
    maps = tmp_path / "maps"
    done = run_cli("score", *paths, "--model", model_path, "--maps", maps, "-q")
    assert done.returncode == 0, done.stderr
    assert sorted(os.listdir(maps)) == ["small.png.png", "tall.jpg.png", "wide.png.png"]
    for name, (height, width) in sizes.items():
        with Image.open(maps / (name + ".png")) as written:
            written.load()
            png_width, png_height = written.size
        assert abs(png_width / png_height - width / height) <= 1.5 / min(
            png_width, png_height
        )


def test_score_maps_refuses_a_model_without_crop_scores(tmp_path, capsys):
    images = make_images(6)
    model = DeepBIQRegressor(CNNCropFeaturizer(**SMALL), fusion="feature")
    model_path = save_model(model.fit(images, np.arange(6.0)), tmp_path / "f.npz")
    Image.fromarray(images[0]).save(tmp_path / "a.png")
    code = main(
        ["score", str(tmp_path / "a.png"), "--model", str(model_path), "--maps",
         str(tmp_path / "maps"), "-q"]
    )  # fmt: skip
    assert code == 2
    assert "fusion='prediction'" in capsys.readouterr().err
    assert not (tmp_path / "maps").exists()


def test_quality_maps_of_a_deep_copy_of_the_model_are_identical(tiny_model):
    twin = copy.deepcopy(tiny_model)
    image = make_images(1)[0]
    np.testing.assert_array_equal(
        quality_maps(tiny_model, [image])[0].map, quality_maps(twin, [image])[0].map
    )


def test_score_maps_refuses_a_file_as_the_maps_folder(tiny_model, tmp_path, capsys):
    model_path = save_model(tiny_model, tmp_path / "tiny.npz")
    Image.fromarray(make_images(1)[0]).save(tmp_path / "a.png")
    (tmp_path / "taken").write_text("a file")
    code = main(
        ["score", str(tmp_path / "a.png"), "--model", str(model_path), "--maps",
         str(tmp_path / "taken"), "-q"]
    )  # fmt: skip
    assert code == 2
    assert "exists and is not a folder" in capsys.readouterr().err


def test_score_maps_never_replaces_an_image_with_its_map(tiny_model, tmp_path, capsys):
    model_path = save_model(tiny_model, tmp_path / "tiny.npz")
    photo, other = tmp_path / "photo.jpg", tmp_path / "photo.jpg.png"
    for path in (photo, other):  # photo.jpg's map would be photo.jpg.png
        Image.fromarray(make_images(1)[0]).save(path)
    before = other.read_bytes()
    code = main(
        ["score", str(photo), str(other), "--model", str(model_path), "--maps",
         str(tmp_path), "-q"]
    )  # fmt: skip
    assert code == 2
    assert "would replace the image" in capsys.readouterr().err
    assert other.read_bytes() == before
