"""Model files: old files keep loading, bad files get clear errors, runtime options.

``tests/data/model-v1-*.npz`` were written by ``save_model`` before the
restructuring of issue 14 (``tests/data/make_model_files.py``); they stand
for the model files users already have.
"""

import os
import subprocess
import sys
import textwrap
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import skdeepbiq
from skdeepbiq import (
    CNNCropFeaturizer,
    DeepBIQRegressor,
    load_model,
    load_pretrained,
    save_model,
)
from skdeepbiq._models.model_file import FORMAT_VERSION, READABLE_VERSIONS
from skdeepbiq._models.pretrained import model_metadata, pretrained_path
from skdeepbiq.exceptions import ModelFileError, UnreadableImageWarning

from .conftest import make_images

DATA = Path(__file__).resolve().parent / "data"
ROOT = Path(__file__).resolve().parents[1]
CHECK = np.load(DATA / "model-v1-check.npz")
IMAGES = list(CHECK["images"])

#: A value other than the default for each runtime parameter of load_model.
RUNTIME = {
    "device": "cpu",
    "precision": "float32",
    "batch_size": 7,
    "n_jobs": 2,
    "memory": "MEMORY",  # replaced by a temporary folder
    "verbose": 1,
    "on_error": "nan",
}


def rewrite(source, target, **changes):
    """Copy the model file ``source`` to ``target`` with some arrays changed."""
    with np.load(source, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    arrays.update(changes)
    np.savez(target, **arrays)
    return target


@pytest.mark.parametrize("name", ["prediction", "ridge-concatenation"])
def test_format_1_model_files_load_and_predict_the_stored_values(name):
    model = load_model(DATA / f"model-v1-{name}.npz", device="cpu")
    np.testing.assert_allclose(model.predict(IMAGES), CHECK[name], rtol=1e-5)


def test_format_1_files_keep_their_parameters():
    model = load_model(DATA / "model-v1-ridge-concatenation.npz", device="cpu")
    params = model.get_params()
    assert params["fusion"] == "concatenation"
    assert params["standardize"] is False
    assert params["regressor__alpha"] == 2.0
    assert params["featurizer__n_crops"] == 3
    assert model.featurizer_.seed_ == 7
    assert model_metadata(DATA / "model-v1-prediction.npz")["config"]["y_scale"] > 0


def test_this_version_writes_a_format_it_reads():
    assert FORMAT_VERSION in READABLE_VERSIONS


def test_missing_model_file_is_file_not_found_naming_the_path(tmp_path):
    path = tmp_path / "nosuch.npz"
    with pytest.raises(FileNotFoundError, match="nosuch.npz") as error:
        load_model(path)
    assert not isinstance(error.value, ModelFileError)


def test_a_folder_is_not_a_model_file(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a directory, not a model file"):
        load_model(tmp_path)


def test_text_file_is_not_a_model_and_no_pickle_advice_is_given(tmp_path):
    path = tmp_path / "notes.npz"
    path.write_text("these are notes, not a model\n")
    with pytest.raises(ModelFileError, match="it is a text file") as error:
        load_model(path)
    assert "pickle" not in str(error.value)
    assert "notes.npz" in str(error.value)


def test_png_image_is_not_a_model_and_says_it_is_an_image(tmp_path):
    path = tmp_path / "photo.png"
    Image.fromarray(IMAGES[0]).save(path)
    with pytest.raises(ModelFileError, match="photo.png.*it is a PNG image") as error:
        load_model(path)
    assert "pickle" not in str(error.value)


def test_npy_file_is_not_an_npz_archive(tmp_path):
    path = tmp_path / "array.npy"
    np.save(path, np.arange(3))
    with pytest.raises(ModelFileError, match=r"a single numpy array \(.npy\)"):
        load_model(path)


def test_npz_of_python_objects_is_refused_without_unpickling(tmp_path):
    path = tmp_path / "objects.npz"
    np.savez(path, format=np.array([{"run": "code"}], dtype=object))
    with pytest.raises(ModelFileError, match="holds Python objects") as error:
        load_model(path)
    assert "allow_pickle" not in str(error.value)


def test_truncated_archive_is_a_model_file_error(tmp_path):
    path = tmp_path / "cut.npz"
    path.write_bytes((DATA / "model-v1-prediction.npz").read_bytes()[:2000])
    with pytest.raises(ModelFileError, match="cut.npz"):
        load_model(path)


def test_model_file_errors_are_value_errors():
    assert issubclass(ModelFileError, ValueError)


@pytest.mark.parametrize("version", [FORMAT_VERSION + 1, 0])
def test_unknown_format_version_names_the_version_found_and_those_read(
    tmp_path, version
):
    path = rewrite(
        DATA / "model-v1-prediction.npz",
        tmp_path / "model.npz",
        format_version=np.array(version),
    )
    expected = f"format version {version}; this skdeepbiq reads format version 1"
    with pytest.raises(ModelFileError, match=expected) as error:
        load_model(path)
    assert ("upgrade skdeepbiq" in str(error.value)) == (version > FORMAT_VERSION)


def test_model_file_without_its_numbers_is_damaged(tmp_path):
    source = DATA / "model-v1-prediction.npz"
    with np.load(source) as data:
        arrays = {key: data[key] for key in data.files if key != "coef"}
    np.savez(tmp_path / "model.npz", **arrays)
    with pytest.raises(ModelFileError, match=r"damaged model file: no \['coef'\]"):
        load_model(tmp_path / "model.npz")


def test_unknown_estimator_parameter_set_to_none_is_dropped_other_values_refused(
    tmp_path,
):
    import json

    source = DATA / "model-v1-prediction.npz"
    config = model_metadata(source)["config"]
    for value, loads in ((None, True), (3, False)):
        config["estimator"]["retired_option"] = value
        path = rewrite(
            source, tmp_path / "model.npz", config=np.array(json.dumps(config))
        )
        if loads:
            model = load_model(path, device="cpu")
            np.testing.assert_allclose(
                model.predict(IMAGES), CHECK["prediction"], rtol=1e-5
            )
        else:
            with pytest.raises(ModelFileError, match="retired_option"):
                load_model(path)


def runtime_value(name, tmp_path):
    return str(tmp_path) if name == "memory" else RUNTIME[name]


@pytest.mark.parametrize("name", sorted(RUNTIME))
def test_load_model_passes_each_runtime_parameter_to_the_featurizer(tmp_path, name):
    value = runtime_value(name, tmp_path)
    model = load_model(DATA / "model-v1-prediction.npz", **{name: value})
    assert model.featurizer_.get_params()[name] == value
    assert model.get_params()[f"featurizer__{name}"] == value


@pytest.mark.parametrize("name", sorted(RUNTIME))
def test_load_pretrained_passes_each_runtime_parameter_to_the_featurizer(
    tmp_path, name, pretrained_weights_cached
):
    value = runtime_value(name, tmp_path)
    model = load_pretrained(**{name: value})
    assert model.featurizer_.get_params()[name] == value


def test_on_error_chosen_at_load_time_gives_unreadable_images_nan_scores(tmp_path):
    model = load_model(DATA / "model-v1-prediction.npz", device="cpu", on_error="nan")
    with pytest.warns(UnreadableImageWarning, match="nosuch.png"):
        scores = model.predict([IMAGES[0], str(tmp_path / "nosuch.png")])
    assert np.isfinite(scores[0]) and np.isnan(scores[1])
    np.testing.assert_allclose(scores[0], CHECK["prediction"][0], rtol=1e-5)


def test_saved_then_loaded_again_gives_the_same_file_content(tmp_path):
    model = load_model(DATA / "model-v1-ridge-concatenation.npz", device="cpu")
    path = save_model(model, tmp_path / "again.npz")
    old, new = (
        model_metadata(DATA / "model-v1-ridge-concatenation.npz"),
        model_metadata(path),
    )
    assert new["config"] == old["config"]


def test_pretrained_file_is_found_beside_the_module_not_by_package_name(monkeypatch):
    """``importlib.resources.files("skdeepbiq")`` can resolve to a wrong folder."""
    wrong = Path(os.sep, "nowhere", "skdeepbiq")
    monkeypatch.setattr(resources, "files", lambda *args, **kwargs: wrong)
    path = Path(pretrained_path())
    assert path.is_file()
    assert path.parent == Path(skdeepbiq.__file__).resolve().parent / "data"


def test_pretrained_model_is_found_from_a_folder_holding_an_empty_skdeepbiq_folder(
    tmp_path,
):
    (tmp_path / "skdeepbiq").mkdir()
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(1, {str(ROOT)!r})  # after the working directory
        from skdeepbiq._models.pretrained import model_metadata, pretrained_path
        print(pretrained_path())
        print(model_metadata("clive-efficientnet_lite2")["training_set"]["n_images"])
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": ""},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    path, n_images = result.stdout.split()
    assert Path(path) == ROOT / "skdeepbiq" / "data" / "clive-efficientnet_lite2.npz"
    assert n_images == "812"


def test_multi_level_whole_image_model_is_saved_and_loaded(tmp_path):
    images = make_images(4, size=(72, 96))
    featurizer = CNNCropFeaturizer(
        weights=None, crops="whole", max_side=80,
        layer=["features.3", "features.18"], spatial_pooling="mean_std",
    )  # fmt: skip
    model = DeepBIQRegressor(featurizer).fit(images, np.linspace(10, 90, 4))
    loaded = load_model(save_model(model, tmp_path / "multi.npz"))
    params = loaded.featurizer_.get_params()
    assert params["layer"] == ["features.3", "features.18"]
    assert (params["spatial_pooling"], params["max_side"]) == ("mean_std", 80)
    np.testing.assert_array_equal(loaded.predict(images), model.predict(images))
