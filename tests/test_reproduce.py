"""``reproduce``: experiments over splits on tiny synthetic data, resuming, report."""

import json
import os
import sys

import numpy as np
import pytest

from skdeepbiq import CNNCropFeaturizer, DeepBIQRegressor
from skdeepbiq._paper import experiments as _experiments
from skdeepbiq._paper import splits as _splits
from skdeepbiq._paper.experiments import PAPER_C
from skdeepbiq.cli import main
from skdeepbiq.datasets import make_synthetic_iqa
from skdeepbiq.reproduce import choose_crop_count, load_dataset, reproduce

# The synthetic databases' 40x40 photos are enlarged 6.4x by Exp I's resize
# to 256 px, which the featurizer reports; real databases' photos are not.
pytestmark = pytest.mark.filterwarnings(
    "ignore::skdeepbiq.exceptions.SmallImageWarning"
)

#: Random weights and tiny crops: the network costs next to nothing.
TINY = {"weights": None, "crop_size": 32, "verbose": 0}
CROPS = (1, 2)
#: Files of one run of Exp I and II with 2 splits: 1 + 3 fusions x 2 counts.
N_SPLIT_FILES = 2 * (1 + 3 * len(CROPS))


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """20 images of 5 references, written as PNG files."""
    folder = tmp_path_factory.mktemp("synthetic")
    return make_synthetic_iqa(
        n_references=5,
        levels=1,
        distortions=("blur", "noise", "jpeg"),
        image_size=(40, 40),
        output_dir=folder / "images",
        noise=5.0,
        random_state=0,
    )


@pytest.fixture(scope="module")
def manifest(synthetic):
    """A CLIVE-like manifest of the synthetic images: mos and mos_std, no groups."""
    folder = os.path.dirname(synthetic.paths[0])
    lines = ["image,mos,mos_std"] + [
        f"{os.path.basename(path)},{score},{4 + index % 5}"
        for index, (path, score) in enumerate(
            zip(synthetic.paths, synthetic.y, strict=True)
        )
    ]
    path = os.path.join(folder, "mos.csv")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def feature_cache(tmp_path_factory):
    """One feature cache for the module: each crop setting runs the CNN once."""
    return tmp_path_factory.mktemp("features")


@pytest.fixture
def run(feature_cache):
    """``reproduce`` with tiny settings: Exp I and II, 2 splits, 1 or 2 crops."""

    def run(source, output, **params):
        params = {"experiments": ("I", "II"), "n_splits": 2, "crop_counts": CROPS,
                  "plots": False, "cache": feature_cache, **TINY, **params}  # fmt: skip
        return reproduce(source, output, **params)

    return run


def split_files(output):
    return sorted((output / "splits").glob("*.json"))


# End to end --------------------------------------------------------------------


def test_reproduce_writes_report_plots_and_one_file_per_split(manifest, tmp_path, run):
    results = run(manifest, tmp_path / "report", plots=True)

    assert len(split_files(tmp_path / "report")) == N_SPLIT_FILES
    assert results.n_splits_computed == N_SPLIT_FILES
    assert results.n_splits_reused == 0
    for name in ("report.md", "report.json", "scatter.png", "cumulative_error.png",
                 "srocc_vs_crops.png"):  # fmt: skip
        assert (tmp_path / "report" / name).stat().st_size > 0
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["experiments"] == {"I": "done", "II": "done"}
    assert [row["experiment"] for row in report["rows"]][:2] == ["I", "II"]
    study = report["crop_study"]
    for row in report["rows"][1:]:  # Exp II at the t-test's choice or the best
        name = row["config"].split("-k")[0]
        assert row["n_crops"] in (study[name]["chosen"], study[name]["best"])
    medians = report["rows"][0]["ours"]
    assert set(medians) >= {"plcc", "srocc", "krocc", "rmse", "mae", "nmae",
                            "within_1_std", "within_2_std", "within_3_std"}  # fmt: skip
    assert len(report["configs"]["II"]["prediction-mean-k2"]["splits"]) == 2
    markdown = (tmp_path / "report" / "report.md").read_text()
    assert (
        "| Exp | Fusion |" in markdown
        and "SROCC against the number of crops" in markdown
    )


def test_report_medians_are_medians_of_the_split_files(manifest, tmp_path, run):
    results = run(manifest, tmp_path)
    records = [json.loads(path.read_text()) for path in split_files(tmp_path)]
    center = [r["scores"]["srocc"] for r in records if r["config"] == "center"]
    assert results.configs["I"]["center"]["median"]["srocc"] == pytest.approx(
        np.median(center)
    )
    y = load_dataset(manifest).y
    for record in records:
        assert len(record["test"]) == 4  # 20% of 20 images
        assert record["scores"]["mae"] == pytest.approx(
            np.mean(np.abs(np.array(record["predictions"]) - y[record["test"]]))
        )


def test_rerun_reads_finished_splits_back_without_fitting(
    manifest, tmp_path, monkeypatch, run
):
    first = run(manifest, tmp_path)
    times = {path: path.stat().st_mtime_ns for path in split_files(tmp_path)}

    def no_fit(*args, **kwargs):
        raise AssertionError("a finished split was fitted again")

    monkeypatch.setattr(_splits.SplitRunner, "_fit", no_fit)
    again = run(manifest, tmp_path)
    assert (again.n_splits_computed, again.n_splits_reused) == (0, N_SPLIT_FILES)
    assert {path: path.stat().st_mtime_ns for path in split_files(tmp_path)} == times
    assert again.rows == first.rows


def test_interrupted_run_refits_only_the_missing_splits(manifest, tmp_path, run):
    run(manifest, tmp_path)
    files = split_files(tmp_path)
    kept = {path: path.stat().st_mtime_ns for path in files[2:]}
    for path in files[:2]:
        path.unlink()
    files[2].write_text("{truncated")  # a half-written file counts as missing

    resumed = run(manifest, tmp_path)
    assert (resumed.n_splits_computed, resumed.n_splits_reused) == (
        3,
        N_SPLIT_FILES - 3,
    )
    assert all(path.stat().st_mtime_ns == kept[path] for path in files[3:])


def test_changed_settings_refit_instead_of_reusing_stale_splits(
    manifest, tmp_path, run
):
    run(manifest, tmp_path)
    changed = run(manifest, tmp_path, C=0.05)
    assert changed.n_splits_computed == N_SPLIT_FILES
    assert all(c == 0.05 for c in changed.configs["I"]["center"]["C"])


def test_features_are_computed_once_for_all_splits(
    manifest, tmp_path, monkeypatch, run
):
    calls = []
    transform = CNNCropFeaturizer.transform

    def counting(self, X):
        calls.append((self.crops, len(X)))
        return transform(self, X)

    monkeypatch.setattr(CNNCropFeaturizer, "transform", counting)
    run(manifest, tmp_path, n_splits=3, cache=None)
    assert calls == [("center", 20), ("random", 20)]
    assert any((tmp_path / "cache").iterdir())  # default cache inside output_dir


def test_datasets_with_references_get_reference_splits_and_validation(
    synthetic, tmp_path, run
):
    results = run(synthetic, tmp_path, experiments=("II",), crop_counts=(1,))
    assert "by reference image" in results.settings["protocol"]
    groups = synthetic.groups
    for records in results.records["II"].values():
        for record in records:
            assert len(set(groups[record["test"]])) == 1  # 20% of 5 references
            assert len(record["test"]) == 4
            candidates = [PAPER_C * factor for factor in (0.1, 1, 10)]
            assert np.isclose(record["C"], candidates).any()  # 1 crop: no C / k
    assert "within_1_std" not in results.rows[0]["ours"]  # no mos_std


@pytest.mark.slow
def test_exp_iii_fine_tunes_on_the_training_images_of_each_split(
    manifest, tmp_path, run
):
    if "fine_tune" not in CNNCropFeaturizer().get_params():
        pytest.skip("this version of the featurizer cannot fine-tune")
    from skdeepbiq._finetuning.recipe import FineTuning

    tuning = {"fine_tune": FineTuning(epochs=1, crops_per_image=1)}
    results = run(manifest, tmp_path, experiments=("III",), fine_tune_params=tuning)
    assert results.experiments["III"] == "done"
    assert set(results.configs["III"]) == {"feature-mean", "prediction-mean"}
    assert results.n_splits_computed == 4


@pytest.fixture(scope="module")
def exp_iii(manifest, feature_cache, tmp_path_factory):
    """Exp III with its defaults and the regression rows, one split, on "CLIVE"."""
    data = load_dataset(manifest)
    data.name = "CLIVE"
    output = tmp_path_factory.mktemp("exp_iii")
    tuned_with = []  # the fine_tune of each featurizer fitted
    fit = CNNCropFeaturizer.fit

    def recording_fit(self, X, y=None):
        tuned_with.append(self.fine_tune)
        return fit(self, X, y)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(CNNCropFeaturizer, "fit", recording_fit)
        results = reproduce(data, output, experiments=("III",), n_splits=1,
                            crop_counts=CROPS, plots=False, cache=feature_cache,
                            regression_fine_tuning=True, **TINY)  # fmt: skip
    return results, output, tuned_with


@pytest.mark.slow
def test_exp_iii_fine_tunes_with_the_papers_five_classes_by_default(exp_iii):
    results, output, tuned_with = exp_iii
    assert [tuning.objective for tuning in tuned_with] == ["classes", "regression"]
    for name in ("feature-mean", "prediction-mean"):
        recipe = results.configs["III"][name]["fine_tune"]
        assert recipe["objective"] == "classes"
        assert recipe["score_range"] == [0.0, 100.0]  # the paper's 0-100 classes
    for path in split_files(output):
        record = json.loads(path.read_text())
        expected = (
            "regression" if record["config"].startswith("regression-") else ("classes")
        )
        assert record["fine_tune"]["objective"] == expected
    rows = {row["config"]: row for row in results.rows}
    assert "(the paper's recipe)" in rows["prediction-mean"]["label"]
    assert rows["prediction-mean"]["paper"]["srocc"] == 0.8894
    markdown = (output / "report.md").read_text()
    assert "FineTuning(objective='classes'" in markdown


@pytest.mark.slow
def test_regression_objective_rows_are_extra_labelled_and_without_paper_figures(
    exp_iii,
):
    results, output, _ = exp_iii
    assert set(results.configs["III"]) == {
        "feature-mean", "prediction-mean",
        "regression-feature-mean", "regression-prediction-mean",
    }  # fmt: skip
    rows = {row["config"]: row for row in results.rows}
    for name in ("regression-feature-mean", "regression-prediction-mean"):
        assert results.configs["III"][name]["fine_tune"]["objective"] == "regression"
        assert "regression objective (skdeepbiq's" in rows[name]["label"]
        assert "the paper's recipe" not in rows[name]["label"]
        assert rows[name]["paper"] is None
    report = json.loads((output / "report.json").read_text())
    labels = [row["label"] for row in report["rows"]]
    assert sum("regression objective (skdeepbiq's" in label for label in labels) == 2


def test_exp_iii_classes_cover_the_observed_range_of_other_scales():
    recipe = _experiments.paper_fine_tuning(np.array([1.2, 3.0, 4.8]))["fine_tune"]
    assert (recipe.objective, recipe.score_range) == ("classes", (1.2, 4.8))
    recipe = _experiments.paper_fine_tuning(np.array([10.0, 90.0]))["fine_tune"]
    assert (recipe.objective, recipe.score_range) == ("classes", (0.0, 100.0))


def test_exp_iii_without_regression_rows_runs_only_the_papers_recipe():
    y = np.array([10.0, 90.0])
    assert list(_experiments.exp_iii_recipes(y)) == [""]
    recipes = _experiments.exp_iii_recipes(y, regression=True)
    assert recipes[_experiments.REGRESSION_PREFIX]["fine_tune"].objective == (
        "regression"
    )


def test_a_bad_exp_iii_recipe_fails_before_any_work(manifest, tmp_path):
    from skdeepbiq._finetuning.recipe import FineTuning

    bad = {"fine_tune": FineTuning(objective="classes", class_edges=[3, 2, 1, 0])}
    with pytest.raises(ValueError, match="class_edges"):
        reproduce(manifest, tmp_path / "out", experiments=("I", "III"),
                  fine_tune_params=bad, **TINY)  # fmt: skip
    assert not (tmp_path / "out").exists()


def test_default_c_is_the_one_chosen_for_the_papers_features(manifest, tmp_path, run):
    results = run(manifest, tmp_path, experiments=("I",))
    assert results.settings["C"] == PAPER_C == 1e-4
    assert results.configs["I"]["center"]["C"] == [PAPER_C, PAPER_C]
    assert f"C={PAPER_C:g}" in (tmp_path / "report.md").read_text()


def test_clive_rows_carry_the_papers_figures(manifest, tmp_path, run):
    data = load_dataset(manifest)
    data.name = "CLIVE"
    results = run(data, tmp_path)
    paper = {row["config"].split("-k")[0]: row["paper"] for row in results.rows}
    assert paper["center"]["srocc"] == 0.6381
    assert paper["prediction-mean"] == {
        "label": "ImageNet+Places-CNN", "n_crops": 20, "lcc": 0.7873, "srocc": 0.7685
    }  # fmt: skip
    assert "97.2% / 99.4% / 99.8%" in (tmp_path / "report.md").read_text()


# Choosing the number of crops --------------------------------------------------


def test_chosen_crop_count_is_the_fewest_not_significantly_below_the_best():
    srocc = {
        1: [0.50, 0.52, 0.48, 0.51, 0.49],
        5: [0.69, 0.71, 0.70, 0.68, 0.72],
        10: [0.72, 0.70, 0.71, 0.73, 0.69],
        20: [0.71, 0.73, 0.72, 0.70, 0.72],
    }
    choice = choose_crop_count(srocc, alpha=0.05)
    assert choice["best"] == 20
    assert choice["p_values"][0] < 0.05 <= choice["p_values"][1]
    assert choice["chosen"] == 5
    assert choice["crop_counts"] == [1, 5, 10, 20]


def test_with_one_split_the_best_crop_count_is_chosen():
    choice = choose_crop_count({1: [0.5], 5: [0.7], 10: [0.6]})
    assert choice["chosen"] == choice["best"] == 5


# Precomputed features ----------------------------------------------------------


def test_precomputed_features_predict_like_the_featurizer(images, scores, tmp_path):
    featurizer = CNNCropFeaturizer(
        n_crops=3, crop_size=32, weights=None, memory=tmp_path
    )
    for fusion in ("prediction", "feature", "concatenation"):
        direct = DeepBIQRegressor(featurizer, fusion=fusion).fit(images, scores)
        features = direct.featurizer_.transform(images).reshape(len(images), 3, -1)
        model = DeepBIQRegressor("precomputed", fusion=fusion).fit(features, scores)
        assert model.n_crops_ == 3
        np.testing.assert_allclose(
            model.predict(features), direct.predict(images), rtol=1e-5, atol=1e-6
        )


def test_precomputed_features_must_keep_their_crop_count():
    features = np.random.default_rng(0).normal(size=(8, 3, 5))
    model = DeepBIQRegressor("precomputed").fit(features, np.arange(8.0))
    with pytest.raises(ValueError, match="2 crops of 5 features"):
        model.predict(features[:, :2])
    assert (
        DeepBIQRegressor("precomputed").fit(features[:, 0], np.arange(8.0)).n_crops_
        == 1
    )


# Datasets and the command line -------------------------------------------------


def test_load_dataset_reads_a_manifest_file_or_its_folder(manifest):
    from_file = load_dataset(manifest)
    from_folder = load_dataset(os.path.dirname(manifest))
    assert len(from_file.paths) == 20
    np.testing.assert_array_equal(from_file.y, from_folder.y)


def test_load_dataset_names_what_it_expected_in_an_unknown_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="Data/AllMOS_release.mat"):
        load_dataset(tmp_path)


def test_dataset_detection_lives_in_skdeepbiq_datasets():
    from skdeepbiq import datasets

    assert load_dataset is datasets.load_dataset
    assert "load_dataset" in datasets.__all__


def test_missing_matplotlib_is_an_error_saying_how_to_install_it(
    manifest, tmp_path, monkeypatch, run
):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"skdeepbiq\[plot\]"):
        run(manifest, tmp_path, plots=True)


def test_reproduce_command_writes_the_report_and_returns_0(manifest, tmp_path, capsys):
    argv = ["reproduce", manifest, "--output", str(tmp_path), "--experiments", "I",
            "--n-splits", "2", "--weights", "none", "--crop-size", "32",
            "--no-plots", "--quiet"]  # fmt: skip
    assert main(argv) == 0
    assert "| I | central crop" in capsys.readouterr().out
    assert (tmp_path / "report.md").exists()


def test_reproduce_command_returns_1_with_a_message_on_a_missing_dataset(
    tmp_path, capsys
):
    argv = ["reproduce", str(tmp_path / "nowhere"), "--output", str(tmp_path / "out")]
    assert main(argv) == 1
    assert "no such file or folder" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"experiments": ("IV",)}, "experiments must be among"),
        ({"crop_counts": (0, 5)}, "crop_counts must be integers >= 1"),
        ({"crop_counts": (2.5,)}, "crop_counts must be integers >= 1"),
    ],
)
def test_bad_settings_fail_before_any_work(manifest, tmp_path, params, message):
    with pytest.raises(ValueError, match=message):
        reproduce(manifest, tmp_path / "out", **TINY, **params)
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_leaky_exp_iii_tunes_once_on_every_image_and_is_labelled(
    manifest, tmp_path, run
):
    from skdeepbiq._finetuning.recipe import FineTuning

    fitted_on = []  # number of images of each featurizer fit that tunes
    fit = CNNCropFeaturizer.fit

    def recording_fit(self, X, y=None):
        if self.fine_tune is not None:
            fitted_on.append(len(X))
        return fit(self, X, y)

    tuning = {"fine_tune": FineTuning(epochs=1, crops_per_image=1)}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(CNNCropFeaturizer, "fit", recording_fit)
        results = run(manifest, tmp_path, experiments=("III",),
                      fine_tune_params=tuning, leaky_fine_tuning=True)  # fmt: skip
    n_images = len(load_dataset(manifest).y)
    # tuned on each split's training images, then once on every image
    assert sorted(fitted_on) == [16, 16, n_images]
    assert set(results.configs["III"]) == {
        "feature-mean", "prediction-mean",
        "leaky-feature-mean", "leaky-prediction-mean",
    }  # fmt: skip
    assert results.settings["leaky_fine_tuning"] is True
    rows = {row["config"]: row for row in results.rows}
    assert (
        "LEAKY, tuned once on every image, test images included"
        in (rows["leaky-prediction-mean"]["label"])
    )
    assert "LEAKY" not in rows["prediction-mean"]["label"]
    assert results.configs["III"]["leaky-feature-mean"]["leakage"]
    assert "leakage" not in results.configs["III"]["feature-mean"]
