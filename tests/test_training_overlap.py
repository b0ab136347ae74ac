"""A model knows the images it was trained on: fingerprints, kept in model
files, counted by training_overlap and warned about by ``skdeepbiq evaluate``."""

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from skdeepbiq import (
    CNNCropFeaturizer,
    DeepBIQRegressor,
    load_model,
    save_model,
    training_overlap,
)
from skdeepbiq._fingerprint import fingerprint_images
from skdeepbiq.cli import main

from .conftest import make_images

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
SMALL = dict(weights=None, n_crops=2, crop_size=32, device="cpu")


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """Ten PNG files; a model fitted on the first six, saved; a manifest of all."""
    folder = tmp_path_factory.mktemp("overlap")
    paths = []
    for index, pixels in enumerate(make_images(10, size=(40, 48))):
        paths.append(folder / f"img{index}.png")
        Image.fromarray(pixels).save(paths[-1])
    model = DeepBIQRegressor(CNNCropFeaturizer(**SMALL))
    model.fit([str(path) for path in paths[:6]], np.linspace(20, 80, 6))
    save_model(model, folder / "model.npz")
    return folder, paths, model


def write_manifest(path, images):
    rows = [f"{image},{10 + 5 * index}" for index, image in enumerate(images)]
    path.write_text("image,mos\n" + "\n".join(rows) + "\n")
    return path


def test_fingerprints_follow_the_contents_not_the_name(tmp_path):
    pixels = make_images(2)
    Image.fromarray(pixels[0]).save(tmp_path / "a.png")
    shutil.copy(tmp_path / "a.png", tmp_path / "copy.png")
    Image.fromarray(pixels[1]).save(tmp_path / "b.png")
    files = fingerprint_images([tmp_path / "a.png", str(tmp_path / "copy.png")])
    assert files.dtype == np.uint64 and files[0] == files[1]
    assert fingerprint_images([tmp_path / "b.png"])[0] != files[0]
    changed = pixels[0].copy()
    changed[0, 0, 0] ^= 1
    flat = pixels[0].reshape(-1, pixels[0].shape[1] * 3, 1)  # same bytes
    arrays = fingerprint_images([pixels[0], Image.fromarray(pixels[0]), changed, flat])
    assert arrays[0] == arrays[1]  # a PIL image: its pixels
    assert len(set(arrays[[0, 2, 3]].tolist())) == 3
    with pytest.raises(FileNotFoundError):
        fingerprint_images([tmp_path / "gone.png"])
    assert fingerprint_images([tmp_path / "gone.png"], skip_unreadable=True).size == 0


def test_fit_keeps_a_fingerprint_of_each_training_image_and_a_refit_replaces_them():
    images = make_images(6)
    model = DeepBIQRegressor(CNNCropFeaturizer(**SMALL)).fit(images, np.arange(6.0))
    assert model.training_fingerprints_.shape == (6,)
    assert model.training_fingerprints_.dtype == np.uint64
    np.testing.assert_array_equal(
        model.training_fingerprints_, fingerprint_images(images)
    )
    assert training_overlap(model, images[3:] + make_images(2, seed=1)) == 3
    model.fit(images[:4], np.arange(4.0))
    assert training_overlap(model, images) == 4


def test_precomputed_features_keep_no_fingerprints():
    features = np.random.default_rng(0).normal(size=(6, 2, 5))
    model = DeepBIQRegressor("precomputed").fit(features, np.arange(6.0))
    assert model.training_fingerprints_ is None
    with pytest.raises(ValueError, match="no fingerprints of its training images"):
        training_overlap(model, make_images(1))


def test_model_files_keep_the_training_fingerprints(photos):
    folder, paths, model = photos
    loaded = load_model(folder / "model.npz")
    np.testing.assert_array_equal(
        loaded.training_fingerprints_, model.training_fingerprints_
    )
    with np.load(folder / "model.npz", allow_pickle=False) as data:
        assert data["training_fingerprints"].nbytes == 6 * 8
    assert training_overlap(loaded, [str(path) for path in paths]) == 6


def test_old_model_files_load_without_fingerprints():
    model = load_model(DATA / "model-v1-prediction.npz")
    assert model.training_fingerprints_ is None
    with pytest.raises(ValueError, match="saved by an older skdeepbiq"):
        training_overlap(model, make_images(1))


def test_evaluate_warns_with_the_count_of_training_images_in_the_manifest(
    photos, tmp_path, capsys
):
    folder, paths, _ = photos
    renamed = tmp_path / "renamed.png"  # a training image under another name
    shutil.copy(paths[0], renamed)
    images = [*paths[3:], renamed]  # img3-5 trained on, img6-9 not, renamed
    manifest = write_manifest(tmp_path / "test.csv", images)
    model = str(folder / "model.npz")
    assert main(["evaluate", model, str(manifest), "-q"]) == 0
    error = capsys.readouterr().err
    assert "skdeepbiq: warning: 4 of the 8 images of" in error
    assert f"are among the images {model} was trained on" in error
    assert "not a fair test" in error
    unseen = write_manifest(tmp_path / "unseen.csv", paths[6:])
    assert main(["evaluate", model, str(unseen), "-q"]) == 0
    assert "warning" not in capsys.readouterr().err


def test_evaluate_with_an_old_model_file_gives_no_overlap_warning(tmp_path, capsys):
    with np.load(DATA / "model-v1-check.npz") as check:
        images = list(check["images"])
    paths = []
    for index, pixels in enumerate(images):  # the images it was trained on
        paths.append(tmp_path / f"img{index}.png")
        Image.fromarray(pixels).save(paths[-1])
    manifest = write_manifest(tmp_path / "manifest.csv", paths)
    model = str(DATA / "model-v1-prediction.npz")
    assert main(["evaluate", model, str(manifest), "-q"]) == 0
    captured = capsys.readouterr()
    assert "warning" not in captured.err
    assert captured.out.startswith("n_images\t6\n")


def load_script():
    path = ROOT / "benchmarks" / "add_training_fingerprints.py"
    spec = importlib.util.spec_from_file_location("add_training_fingerprints", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_add_training_fingerprints_script_adds_them_and_changes_nothing_else(
    tmp_path, capsys
):
    with np.load(DATA / "model-v1-check.npz") as check:
        images = list(check["images"])
    paths = []
    for index, pixels in enumerate(images):
        paths.append(tmp_path / f"img{index}.png")
        Image.fromarray(pixels).save(paths[-1])
    manifest = write_manifest(tmp_path / "manifest.csv", paths)
    model = tmp_path / "model.npz"
    shutil.copy(DATA / "model-v1-prediction.npz", model)
    script = load_script()
    assert script.main([str(model), str(manifest)]) == 0
    assert "added the fingerprints of 6 training images" in capsys.readouterr().out
    with (
        np.load(DATA / "model-v1-prediction.npz", allow_pickle=False) as before,
        np.load(model, allow_pickle=False) as after,
    ):
        assert after.files == [*before.files, "training_fingerprints"]
        for name in before.files:
            assert after[name].dtype == before[name].dtype, name
            assert after[name].tobytes() == before[name].tobytes(), name
    loaded = load_model(model)
    assert training_overlap(loaded, [str(path) for path in paths[2:]]) == 4
    with pytest.raises(SystemExit, match="holds fingerprints already"):
        script.main([str(model), str(manifest)])
