"""Prediction intervals: calibration, coverage, model files and the command line."""

import csv
import io
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression

from skdeepbiq import (
    CNNCropFeaturizer,
    DeepBIQRegressor,
    FineTuning,
    load_model,
    save_model,
)
from skdeepbiq._conformal import conformal_quantile, fewest_scores
from skdeepbiq.cli import main
from skdeepbiq.exceptions import SkDeepBIQWarning

from .conftest import make_images

SAMPLES = Path(__file__).resolve().parents[1] / "examples" / "images"

SMALL = dict(backbone="mobilenet_v2", weights=None, n_crops=3, crop_size=32)


def linear_data(n, seed, n_crops=4, n_features=6, noise=None):
    """Crop features whose mean sets the score, with heteroscedastic noise.

    A photo's crops disagree (their features spread) in proportion to the
    noise on its score, so that the crop spread says how hard it is.
    """
    rng = np.random.default_rng(seed)
    difficulty = rng.uniform(0.2, 2.0, n) if noise is None else np.full(n, noise)
    centre = rng.normal(size=(n, 1, n_features))
    crops = centre + difficulty[:, None, None] * rng.normal(
        size=(n, n_crops, n_features)
    )
    y = 50 + 10 * centre[:, 0].sum(axis=1) + 5 * difficulty * rng.normal(size=n)
    return crops, y


def fitted(crops, y, **params):
    return DeepBIQRegressor("precomputed", regressor=LinearRegression(), **params).fit(
        crops, y
    )


def test_predict_interval_before_calibration_says_to_calibrate():
    crops, y = linear_data(40, 0)
    with pytest.raises(NotFittedError, match=r"not calibrated.*calibrate\(\)"):
        fitted(crops, y).predict_interval(crops)


@pytest.mark.parametrize("method", ["absolute", "crop_spread"])
@pytest.mark.parametrize("confidence", [0.8, 0.9])
def test_held_out_calibration_covers_new_photos_as_asked(method, confidence):
    crops, y = linear_data(3000, 1)
    model = fitted(crops[:400], y[:400])
    model.calibrate(crops[400:1000], y[400:1000], method=method)
    assert model.calibration_.source == "held-out"
    bounds = model.predict_interval(crops[1000:], confidence)
    assert bounds.shape == (2000, 2)
    inside = (bounds[:, 0] <= y[1000:]) & (y[1000:] <= bounds[:, 1])
    assert abs(inside.mean() - confidence) < 0.03
    np.testing.assert_allclose(bounds.mean(axis=1), model.predict(crops[1000:]))


def test_crop_spread_intervals_widen_with_the_crops_disagreement():
    crops, y = linear_data(1500, 2)
    model = fitted(crops[:500], y[:500])
    spread = model.predict_crops(crops[1000:]).std(axis=1)
    constant = model.calibrate(crops[500:1000], y[500:1000], method="absolute")
    widths = np.diff(constant.predict_interval(crops[1000:]), axis=1)[:, 0]
    np.testing.assert_allclose(widths, widths[0])
    adaptive = model.calibrate(crops[500:1000], y[500:1000], method="crop_spread")
    widths = np.diff(adaptive.predict_interval(crops[1000:]), axis=1)[:, 0]
    assert np.corrcoef(widths, spread)[0, 1] > 0.99
    # here the crops' disagreement does track the error: narrower on average
    # for the same coverage
    assert widths.mean() < np.diff(constant.predict_interval(crops[1000:]))[0, 0]


def test_out_of_fold_calibration_refits_the_head_on_the_training_photos():
    crops, y = linear_data(2400, 3, noise=1.0)
    model = fitted(crops[:400], y[:400]).calibrate(crops[:400], y[:400], cv=5)
    assert model.calibration_.source == "cross-validation"
    assert len(model.calibration_.scores) == 400
    bounds = model.predict_interval(crops[400:], 0.9)
    inside = (bounds[:, 0] <= y[400:]) & (y[400:] <= bounds[:, 1])
    assert abs(inside.mean() - 0.9) < 0.04
    # in-sample errors would have been smaller, and the intervals too narrow
    in_sample = fitted(crops[:400], y[:400]).calibrate(crops[:400], y[:400])
    assert in_sample.calibration_.scores.mean() < model.calibration_.scores.mean()


def test_the_bounds_are_mapies_split_conformal_ones():
    mapie = pytest.importorskip("mapie.regression")
    crops, y = linear_data(600, 4, n_crops=1)
    rows = crops[:, 0]
    model = DeepBIQRegressor("precomputed").fit(rows[:200], y[:200])
    theirs = mapie.SplitConformalRegressor(model, confidence_level=0.9, prefit=True)
    theirs.conformalize(rows[200:400], y[200:400])
    expected = theirs.predict_interval(rows[400:])[1][:, :, 0]
    ours = model.calibrate(rows[200:400], y[200:400], method="absolute")
    np.testing.assert_allclose(ours.predict_interval(rows[400:], 0.9), expected)


def test_mapie_cross_conformal_runs_deepbiq_on_images_with_the_feature_cache(tmp_path):
    mapie = pytest.importorskip("mapie.regression")
    images, y = make_images(15), np.linspace(10, 90, 15)
    model = DeepBIQRegressor(CNNCropFeaturizer(**SMALL, memory=tmp_path / "cache"))
    cross = mapie.CrossConformalRegressor(model, cv=3, random_state=0)
    cross.fit_conformalize(images, y)
    points, bounds = cross.predict_interval(images[:4])
    assert bounds.shape == (4, 2, 1) and np.all(bounds[:, 0] <= bounds[:, 1])
    assert any((tmp_path / "cache").rglob("*.npy"))


def test_the_conformal_quantile_has_the_finite_sample_rank():
    scores = np.arange(1.0, 20.0)  # 19 scores
    assert conformal_quantile(scores, 0.9) == 18.0  # ceil(20 * 0.9) = 18th
    assert conformal_quantile(scores, 0.5) == 10.0
    assert conformal_quantile(scores[:5], 0.9) == np.inf  # too few for 90%
    with pytest.raises(ValueError, match="confidence"):
        conformal_quantile(scores, 1.0)


@pytest.mark.parametrize("confidence", [0.5, 0.8, 0.9, 0.95, 0.99, 0.999])
def test_fewest_scores_is_the_smallest_calibration_with_a_finite_quantile(
    confidence,
):
    n = fewest_scores(confidence)
    assert np.isfinite(conformal_quantile(np.arange(n), confidence))
    assert n == 1 or conformal_quantile(np.arange(n - 1), confidence) == np.inf


@pytest.mark.parametrize(("method", "held"), [("absolute", 12), ("score_bins", 4)])
def test_too_small_a_calibration_warns_that_its_intervals_are_infinite(method, held):
    crops, y = linear_data(60, 7)
    model = fitted(crops[:48], y[:48]).calibrate(crops[48:], y[48:], method=method)
    with pytest.warns(SkDeepBIQWarning, match=rf"infinite.*holds {held} photos"):
        bounds = model.predict_interval(crops[:5], 0.95)  # needs 19 photos
    assert np.all(np.isinf(bounds))
    supported = held / (held + 1) - 0.01  # 0.913 for 12 photos, 0.79 for 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.all(np.isfinite(model.predict_interval(crops[:5], supported)))


def test_crop_spread_needs_crop_scores():
    crops, y = linear_data(60, 5)
    model = fitted(crops, y, fusion="feature")
    with pytest.raises(ValueError, match="crop_spread.*absolute"):
        model.calibrate(crops, y, method="crop_spread")
    model.calibrate(crops, y, method="absolute")
    assert model.predict_interval(crops).shape == (60, 2)


def test_a_tuned_network_cannot_be_calibrated_on_its_own_training_photos(
    images, scores
):
    quick = FineTuning(epochs=1, crops_per_image=1, batch_size=4)
    model = DeepBIQRegressor(CNNCropFeaturizer(**SMALL), fine_tune=quick)
    model.fit(images, scores)
    with pytest.raises(ValueError, match="tuned on all of them.*held-out"):
        model.calibrate(images, scores, cv=3)


def test_refitting_drops_the_old_calibration():
    crops, y = linear_data(80, 6)
    model = fitted(crops, y).calibrate(crops, y, cv=4)
    model.fit(crops, y)
    assert not hasattr(model, "calibration_")


@pytest.fixture
def calibrated_file(tmp_path, images, scores):
    """A small calibrated model file, the images and their scores."""
    model = DeepBIQRegressor(CNNCropFeaturizer(**SMALL)).fit(images, scores)
    model.calibrate(images, scores, cv=3, method="crop_spread")
    return save_model(model, tmp_path / "model.npz"), model


def test_a_model_file_keeps_the_calibration(calibrated_file, images):
    path, model = calibrated_file
    loaded = load_model(path)
    assert loaded.calibration_.method == "crop_spread"
    np.testing.assert_array_equal(loaded.calibration_.scores, model.calibration_.scores)
    np.testing.assert_allclose(
        loaded.predict_interval(images, 0.8), model.predict_interval(images, 0.8)
    )


def test_score_interval_adds_low_and_high(calibrated_file, tmp_path, capsys):
    path, model = calibrated_file
    image = tmp_path / "photo.png"
    from PIL import Image

    Image.fromarray(make_images(1)[0]).save(image)
    assert main(["score", str(image), "-m", str(path), "--interval", "0.8", "-q"]) == 0
    row = next(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    low, high = model.predict_interval([str(image)], 0.8)[0]
    assert float(row["low"]) == pytest.approx(low, rel=1e-3)
    assert float(row["high"]) == pytest.approx(high, rel=1e-3)
    assert float(row["low"]) < float(row["score"]) < float(row["high"])
    args = ["score", str(image), "-m", str(path), "--interval", "0.8", "-q"]
    assert main([*args, "--format", "json"]) == 0
    record = json.loads(capsys.readouterr().out)[0]
    assert record["low"] < record["score"] < record["high"]


def test_score_interval_refuses_an_uncalibrated_model(tmp_path, images, scores, capsys):
    model = DeepBIQRegressor(CNNCropFeaturizer(**SMALL)).fit(images, scores)
    path = save_model(model, tmp_path / "plain.npz")
    image = tmp_path / "photo.png"
    from PIL import Image

    Image.fromarray(images[0]).save(image)
    assert main(["score", str(image), "-m", path, "--interval", "0.9", "-q"]) == 2
    assert "--interval needs a calibrated model" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["score", str(image), "-m", path, "--interval", "1.5", "-q"])
    assert exited.value.code == 2
    assert "strictly between 0 and 1" in capsys.readouterr().err


def test_score_interval_refuses_a_confidence_its_calibration_cannot_give(
    calibrated_file, tmp_path, capsys
):
    path, _ = calibrated_file  # calibrated on 12 photos
    image = tmp_path / "photo.png"
    from PIL import Image

    Image.fromarray(make_images(1)[0]).save(image)
    args = ["score", str(image), "-m", str(path), "-q"]
    assert main([*args, "--interval", "0.95"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert (
        "--interval 0.95 gives infinite intervals with" in captured.err
        and "holds 12 photos, and a 0.95 interval needs at least 19" in captured.err
        and "the highest confidence it supports is 0.923" in captured.err
    )
    assert main([*args, "--interval", "0.92"]) == 0


def test_evaluate_reports_the_coverage_of_a_calibrated_model_or_why_not(
    calibrated_file, tmp_path, capsys
):
    path, model = calibrated_file
    from PIL import Image

    rows = ["image,mos"]
    for index, (pixels, mos) in enumerate(
        zip(make_images(12), np.linspace(10, 90, 12), strict=True)
    ):
        Image.fromarray(pixels).save(tmp_path / f"{index}.png")
        rows.append(f"{index}.png,{mos}")
    manifest = tmp_path / "mos.csv"
    manifest.write_text("\n".join(rows) + "\n")
    args = ["evaluate", str(path), str(manifest), "--format", "json", "-q"]
    assert main([*args, "--interval", "0.8"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert 0 <= results["coverage_0.8"] <= 1 and results["mean_width_0.8"] > 0
    # 12 calibration photos give no finite 95% interval: the accuracy, and why
    # there is no coverage
    assert main([*args, "--interval", "0.95"]) == 0
    captured = capsys.readouterr()
    results = json.loads(captured.out)
    assert results["n_images"] == 12 and not any("0.95" in key for key in results)
    assert "no coverage figures: --interval 0.95 gives infinite" in captured.err


def test_the_pretrained_model_answers_with_its_calibrated_interval(
    pretrained_weights_cached,
):
    from skdeepbiq import load_pretrained
    from skdeepbiq._models.pretrained import model_metadata

    model = load_pretrained(device="cpu")
    calibration = model.calibration_
    # its recipe's out-of-fold predictions on clive-dev's ten splits
    assert len(calibration.scores) == 1630 and calibration.method == "score_bins"
    assert "tuned on its training photos only" in calibration.source
    sample = str(SAMPLES / "0-original.jpg")
    low, high = model.predict_interval([sample], 0.9)[0]
    expected = model_metadata("clive-efficientnet_lite2")["sample_scores"]
    assert (low + high) / 2 == pytest.approx(expected["0-original.jpg"], abs=0.01)
    assert 10 < (high - low) / 2 < 25  # errors of about 10 points (RMSE)
    narrower = np.diff(model.predict_interval([sample], 0.5))[0, 0]
    assert narrower < high - low
