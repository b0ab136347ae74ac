"""The ``skdeepbiq`` command line, run as a real program in a subprocess.

A tiny model (random MobileNetV2, 2 crops of 32 px) is trained once by
``skdeepbiq fit`` so that ``score`` and ``evaluate`` need no real weights;
the pretrained default is tested when torchvision's weights are cached.
Finer behaviours call ``main()`` in the test process, which is faster.
"""

import csv
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
import torch
from PIL import Image

from skdeepbiq import load_model
from skdeepbiq._models.pretrained import model_metadata
from skdeepbiq.cli import build_parser, expand_paths, main

from .conftest import make_images

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "examples" / "images"
TINY = ["--weights", "none", "--n-crops", "2", "--crop-size", "32", "--quiet"]


def run_cli(*args, cwd=None, program=(sys.executable, "-m", "skdeepbiq")):
    """Run the command line in a new process; returns the CompletedProcess."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), env.get("PYTHONPATH")])
    )
    return subprocess.run(
        [*program, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )


def read_csv(text):
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A folder of 8 PNG images, their manifest and a model fitted by the CLI."""
    folder = tmp_path_factory.mktemp("cli")
    (folder / "images").mkdir()
    rows = ["image,mos"]
    for index, pixels in enumerate(make_images(8)):
        name = f"images/img{index}.png"
        Image.fromarray(pixels).save(folder / name)
        rows.append(f"{name},{10 + 10 * index}")
    (folder / "manifest.csv").write_text("\n".join(rows) + "\n")
    done = run_cli(
        "fit", folder / "manifest.csv", "--output", folder / "model.npz", *TINY
    )
    assert done.returncode == 0, done.stderr
    assert "saved to" in done.stderr
    return folder


def test_fit_then_score_a_folder_prints_one_csv_row_per_image(trained):
    done = run_cli("score", trained / "images", "--model", trained / "model.npz", "-q")
    assert done.returncode == 0, done.stderr
    rows = read_csv(done.stdout)
    paths = sorted(str(p) for p in (trained / "images").glob("*.png"))
    assert [row["path"] for row in rows] == paths
    expected = load_model(trained / "model.npz").predict(paths)
    np.testing.assert_allclose(
        [float(row["score"]) for row in rows], expected, rtol=1e-3
    )


def test_unreadable_image_is_reported_and_the_others_still_scored(trained, tmp_path):
    bad = tmp_path / "not-a-photo.jpg"
    bad.write_text("this is text, not a JPEG\n")
    good = trained / "images" / "img0.png"
    done = run_cli("score", good, bad, "--model", trained / "model.npz", "-q")
    assert done.returncode == 1
    assert str(bad) in done.stderr
    assert "not an image" in done.stderr
    rows = read_csv(done.stdout)
    assert [row["path"] for row in rows] == [str(good), str(bad)]
    assert np.isfinite(float(rows[0]["score"]))
    assert rows[1]["score"] == ""


def test_missing_path_is_reported_with_exit_code_1(trained, tmp_path):
    missing = tmp_path / "nowhere" / "photo.jpg"
    done = run_cli("score", missing, "--model", trained / "model.npz")
    assert done.returncode == 1
    assert f"{missing}: no such file or directory" in done.stderr
    assert read_csv(done.stdout) == [{"path": str(missing), "score": ""}]


def test_missing_path_gets_an_empty_row_in_the_order_given(trained, tmp_path, capsys):
    first, last = (str(trained / "images" / f"img{i}.png") for i in (0, 1))
    missing = str(tmp_path / "gone.jpg")
    model = ["--model", str(trained / "model.npz"), "-q"]
    assert main(["score", first, missing, last, *model]) == 1
    captured = capsys.readouterr()
    assert f"{missing}: no such file or directory" in captured.err
    assert "1 of the inputs could not be scored" in captured.err
    rows = read_csv(captured.out)
    assert [row["path"] for row in rows] == [first, missing, last]
    assert rows[1]["score"] == "" and np.isfinite(float(rows[2]["score"]))
    assert main(["score", first, missing, last, *model, "--format", "json"]) == 1
    records = json.loads(capsys.readouterr().out)
    assert [record["path"] for record in records] == [first, missing, last]
    assert records[1] == {
        "path": missing, "score": None, "error": "no such file or directory"
    }  # fmt: skip


def test_score_output_in_a_missing_folder_fails_before_loading_the_model(
    trained, tmp_path, monkeypatch, capsys
):
    from skdeepbiq.cli import score as score_command

    def not_now(*args, **kwargs):
        raise AssertionError("the model was loaded before --output was checked")

    monkeypatch.setattr(score_command, "load_model_argument", not_now)
    output = tmp_path / "no-folder" / "scores.csv"
    image = str(trained / "images" / "img0.png")
    assert main(["score", image, "-o", str(output), "-q"]) == 1
    error = capsys.readouterr().err
    assert f"--output {output}: no such folder" in error
    assert main(["score", image, "-o", str(tmp_path), "-q"]) == 2
    assert f"--output {tmp_path}: is a folder" in capsys.readouterr().err


def test_fit_output_in_a_missing_folder_fails_before_training(
    trained, tmp_path, monkeypatch, capsys
):
    from skdeepbiq import DeepBIQRegressor

    def not_now(*args, **kwargs):
        raise AssertionError("training started before --output was checked")

    monkeypatch.setattr(DeepBIQRegressor, "fit", not_now)
    output = tmp_path / "no-folder" / "model.npz"
    manifest = str(trained / "manifest.csv")
    assert main(["fit", manifest, "--output", str(output), *TINY]) == 1
    assert f"--output {output}: no such folder" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args",
    [
        ["score"],  # PATH is required
        ["score", "x.jpg", "--format", "xml"],
        ["score", "x.jpg", "--batch-size", "0"],
        ["reproduce", "data/", "--batch-size", "many"],
        ["frobnicate"],
        [],
    ],
    ids=[
        "no-path", "bad-format", "bad-batch-size", "bad-reproduce-batch-size",
        "unknown-command", "no-command",
    ],
)  # fmt: skip
def test_bad_usage_exits_with_2(args, capsys):
    with pytest.raises(SystemExit) as stop:
        main(args)
    assert stop.value.code == 2
    error = capsys.readouterr().err
    assert "usage: skdeepbiq" in error
    if "--batch-size" in args:
        assert "--batch-size: must be 'auto' or a positive integer" in error


def test_batch_size_auto_is_accepted_on_the_command_line():
    parser = build_parser()
    for command in (["score", "x.jpg"], ["reproduce", "data/"]):
        assert parser.parse_args(command).batch_size == "auto"
        assert parser.parse_args([*command, "--batch-size", "12"]).batch_size == 12


def test_bad_usage_in_a_subprocess_exits_with_2():
    done = run_cli("score", "x.jpg", "--no-such-option")
    assert done.returncode == 2
    assert "unrecognized arguments: --no-such-option" in done.stderr


def test_help_in_a_subprocess_lists_the_commands_and_exits_0():
    done = run_cli("--help")
    assert done.returncode == 0
    for command in ("score", "fit", "evaluate", "reproduce", "weights"):
        assert command in done.stdout


@pytest.mark.parametrize(
    "command",
    [["score"], ["fit"], ["evaluate"], ["weights"], ["weights", "fetch"]],
    ids=" ".join,
)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as stop:
        main([*command, "--help"])
    assert stop.value.code == 0
    assert f"usage: skdeepbiq {' '.join(command)}" in capsys.readouterr().out


def test_reproduce_help_when_its_module_exists(capsys):
    if importlib.util.find_spec("skdeepbiq.reproduce") is None:
        pytest.skip("skdeepbiq.reproduce is not there yet")
    with pytest.raises(SystemExit) as stop:
        main(["reproduce", "--help"])
    assert stop.value.code == 0
    assert "usage: skdeepbiq reproduce" in capsys.readouterr().out


def test_score_writes_json_to_an_output_file(trained, tmp_path, capsys):
    output = tmp_path / "scores.json"
    pattern = str(trained / "images" / "img[0-2].png")
    code = main(
        ["score", pattern, "-m", str(trained / "model.npz"), "-f", "json"]
        + ["-o", str(output), "-q"]
    )
    assert code == 0
    assert capsys.readouterr().out == ""
    records = json.loads(output.read_text())
    assert [Path(record["path"]).name for record in records] == [
        "img0.png",
        "img1.png",
        "img2.png",
    ]
    assert all(isinstance(record["score"], float) for record in records)


def test_evaluate_prints_the_metrics_of_the_metrics_module(trained, capsys):
    code = main(
        ["evaluate", str(trained / "model.npz"), str(trained / "manifest.csv")]
        + ["--format", "json", "-q"]
    )
    assert code == 0
    results = json.loads(capsys.readouterr().out)
    assert set(results) == {"n_images", "PLCC", "SROCC", "KROCC", "RMSE", "MAE"}
    assert results["n_images"] == 8
    assert -1 <= results["SROCC"] <= 1 and results["RMSE"] >= 0


def test_evaluate_text_and_json_name_the_image_count_alike(trained, capsys):
    argv = ["evaluate", str(trained / "model.npz"), str(trained / "manifest.csv")]
    assert main([*argv, "-q"]) == 0
    text = dict(line.split("\t") for line in capsys.readouterr().out.splitlines())
    assert main([*argv, "-q", "--format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert list(text) == list(records)
    assert int(text["n_images"]) == records["n_images"] == 8


def test_fit_and_evaluate_take_a_manifest_whose_score_column_is_score(
    trained, tmp_path, capsys
):
    renamed = trained / "renamed.csv"  # beside the images, as the paths say
    renamed.write_text(
        (trained / "manifest.csv").read_text().replace("image,mos", "image,score")
    )
    model = str(tmp_path / "model.npz")
    assert main(["fit", str(renamed), "--output", model, *TINY]) == 0
    assert main(["evaluate", model, str(renamed), "-q", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_images"] == 8
    np.testing.assert_array_equal(
        load_model(model).predict([str(trained / "images" / "img3.png")]),
        load_model(trained / "model.npz").predict(
            [str(trained / "images" / "img3.png")]
        ),
    )


def test_a_manifest_without_a_score_column_names_the_columns_found(
    trained, tmp_path, capsys
):
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("image,quality\na.png,3\n")
    for argv in (
        ["fit", str(manifest), "--output", str(tmp_path / "m.npz"), *TINY],
        ["evaluate", str(trained / "model.npz"), str(manifest), "-q"],
    ):
        assert main(argv) == 2
        error = capsys.readouterr().err
        assert "no score column: expected 'mos' or 'score'" in error
        assert "found the columns ['image', 'quality']" in error


def test_a_model_argument_that_is_not_a_model_is_bad_usage(tmp_path, capsys):
    image = tmp_path / "a.png"
    Image.fromarray(make_images(1)[0]).save(image)
    text = tmp_path / "model.npz"
    text.write_text("not a model")
    for not_a_model in (text, image):
        assert main(["score", str(image), "--model", str(not_a_model)]) == 2
        error = capsys.readouterr().err
        assert f"--model {not_a_model}: not a skdeepbiq model file" in error
        assert "allow_pickle" not in error


def test_a_missing_model_file_exits_1_saying_it_does_not_exist(tmp_path, capsys):
    image = tmp_path / "a.png"
    Image.fromarray(make_images(1)[0]).save(image)
    missing = tmp_path / "none.npz"
    assert main(["score", str(image), "--model", str(missing)]) == 1
    error = capsys.readouterr().err
    assert f"--model {missing}: no such file" in error
    assert "neither a pretrained model" in error


def test_missing_weights_tell_which_command_fetches_them(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def offline(*args, **kwargs):
        raise URLError("no network in this test")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    image = tmp_path / "a.png"
    Image.fromarray(make_images(1)[0]).save(image)
    assert main(["score", str(image), "-q"]) == 1
    assert "skdeepbiq weights fetch efficientnet_lite2" in capsys.readouterr().err


def test_weights_fetch_downloads_from_torchvisions_address_with_its_hash(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    calls = []

    def download(url, destination, hash_prefix=None, progress=True):
        calls.append((url, hash_prefix))
        Path(destination).write_bytes(b"checked by torch against hash_prefix")

    monkeypatch.setattr(torch.hub, "download_url_to_file", download)
    assert main(["weights", "fetch", "mobilenet_v2", "-q"]) == 0
    url = "https://download.pytorch.org/models/mobilenet_v2-b0353104.pth"
    assert calls == [(url, "b0353104")]  # one download, no PyPI fallback
    assert (tmp_path / "hub" / "checkpoints" / "mobilenet_v2-b0353104.pth").exists()


def test_weights_fetch_takes_several_backbones_and_prints_each_path(
    monkeypatch, capsys
):
    import skdeepbiq.weights

    fetched = []

    def fetch_weights(backbone, weights="IMAGENET1K_V1", *, verbose=True):
        fetched.append((backbone, weights))
        return f"/cache/{backbone}.pth"

    monkeypatch.setattr(skdeepbiq.weights, "fetch_weights", fetch_weights)
    assert main(["weights", "fetch", "alexnet", "resnet50", "alexnet", "-q"]) == 0
    assert fetched == [("alexnet", "IMAGENET1K_V1"), ("resnet50", "IMAGENET1K_V1")]
    assert capsys.readouterr().out == "/cache/alexnet.pth\n/cache/resnet50.pth\n"
    assert main(["weights", "fetch", "resnet50", "--weights", "IMAGENET1K_V2"]) == 0
    assert fetched[-1] == ("resnet50", "IMAGENET1K_V2")


def test_ci_script_runs_only_commands_the_parser_takes():
    import shlex

    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    commands = [
        shlex.split(line.split("#", 1)[0])
        for line in lines
        if line.startswith("skdeepbiq ")
    ]
    assert any(words[1:3] == ["weights", "fetch"] for words in commands)
    for words in commands:
        build_parser().parse_args(words[1:])


def test_weights_list_with_an_empty_cache(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert main(["weights", "list"]) == 0
    assert "no weights cached" in capsys.readouterr().err


def test_expand_paths_takes_files_folders_and_patterns(tmp_path):
    for name in ("b.JPG", "a.png", "notes.txt", "sub/c.jpeg", "odd.data"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    folder = str(tmp_path)
    paths, problems = expand_paths([folder])
    assert paths == [f"{folder}/a.png", f"{folder}/b.JPG"] and problems == []
    paths, _ = expand_paths([folder], recursive=True)
    assert paths == [f"{folder}/a.png", f"{folder}/b.JPG", f"{folder}/sub/c.jpeg"]
    paths, _ = expand_paths([f"{folder}/**/*.jpeg", f"{folder}/odd.data", folder])
    assert paths == [
        f"{folder}/sub/c.jpeg",
        f"{folder}/odd.data",  # a file named explicitly is tried as it is
        f"{folder}/a.png",
        f"{folder}/b.JPG",
    ]
    paths, problems = expand_paths([f"{folder}/sub/..", f"{folder}/*.gif", "gone"])
    assert problems == [
        (f"{folder}/*.gif", "no image file matches this pattern"),
        ("gone", "no such file or directory"),
    ]


def test_console_script_is_declared_and_points_to_main():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["scripts"]["skdeepbiq"] == "skdeepbiq.cli:main"
    assert "data/*" in pyproject["tool"]["setuptools"]["package-data"]["skdeepbiq"]


def test_installed_console_script_runs(trained):
    program = shutil.which("skdeepbiq")
    if program is None:
        pytest.skip("the skdeepbiq console script is not installed (pip install -e .)")
    done = run_cli(
        "score", trained / "images" / "img1.png", "-m", trained / "model.npz",
        "-q", program=(program,),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert read_csv(done.stdout)[0]["path"].endswith("img1.png")


def test_score_with_the_pretrained_default(pretrained_weights_cached):
    names = ["0-original.jpg", "6-jpeg-strong.jpg"]
    done = run_cli("score", *names, "--device", "cpu", cwd=SAMPLES)
    assert done.returncode == 0, done.stderr
    assert "efficientnet_lite2 features" in done.stderr  # the progress bar
    rows = read_csv(done.stdout)
    expected = model_metadata("clive-efficientnet_lite2")["sample_scores"]
    for row, name in zip(rows, names, strict=True):
        assert row["path"] == name
        assert float(row["score"]) == pytest.approx(expected[name], abs=0.01)


@pytest.mark.parametrize("tune", [[], ["--fine-tune"]])
def test_fit_defaults_are_the_default_models_features(tune):
    from skdeepbiq import default_featurizer
    from skdeepbiq.cli import fit as fit_command

    args = build_parser().parse_args(["fit", "m.csv", "--output", "m.npz", *tune])
    made = fit_command.make_featurizer(args).get_params()
    # DeepBIQRegressor(fine_tune=True) picks another default featurizer
    expected = default_featurizer(fine_tune=bool(tune)).get_params()
    for name in ("backbone", "weights", "layer", "spatial_pooling", "n_crops",
                 "crop_size", "crops", "max_side", "compute", "random_state"):  # fmt: skip
        assert made[name] == expected[name], name


def test_fit_fine_tune_option_tunes_the_saved_model_with_the_named_objective(
    trained, tmp_path
):
    manifest, output = trained / "manifest.csv", tmp_path / "tuned.npz"
    done = run_cli("fit", manifest, "-o", output, "--fine-tune", "classes", *TINY)
    assert done.returncode == 0, done.stderr
    model = load_model(output)
    assert model.fine_tune.objective == "classes"
    with np.load(output, allow_pickle=False) as data:
        assert any(name.startswith("network.") for name in data.files)
    args = build_parser().parse_args(["fit", "m.csv", "-o", "m", "--fine-tune"])
    assert args.fine_tune == "regression"


def test_fit_layer_option_takes_penultimate_or_module_names():
    from skdeepbiq.cli import fit as fit_command

    def layer(*options):
        args = build_parser().parse_args(["fit", "m.csv", "-o", "m.npz", *options])
        return fit_command.make_featurizer(args).layer

    assert layer("--layer", "penultimate") is None
    assert layer("--layer", "features.3") == "features.3"
    assert layer("--layer", "features.3, features.18") == ["features.3", "features.18"]
    whole = build_parser().parse_args(["fit", "m.csv", "-o", "m", "--crops", "whole"])
    assert fit_command.make_featurizer(whole).compute == "crops"


def test_score_notes_each_image_enlarged_more_than_twice_on_stderr(trained, tmp_path):
    tiny = tmp_path / "icon.png"
    Image.fromarray(np.full((10, 12, 3), 120, np.uint8)).save(tiny)
    good = trained / "images" / "img0.png"
    done = run_cli("score", good, tiny, "--model", trained / "model.npz", "-q")
    assert done.returncode == 0, done.stderr
    assert (
        f"skdeepbiq: note: {tiny}: 12x10 pixels, enlarged 3.2x for its 32-pixel "
        "crops" in done.stderr
    )
    assert str(good) not in done.stderr
    assert [row["path"] for row in read_csv(done.stdout)] == [str(good), str(tiny)]


def test_score_viewing_scale_option_sets_the_scale_photos_are_judged_at(
    trained, tmp_path
):
    large = tmp_path / "large.png"
    pixels = Image.open(trained / "images" / "img3.png")
    pixels.resize((256, 192), Image.Resampling.LANCZOS).save(large)
    model = str(trained / "model.npz")
    scores = {}
    for scale in (None, "learned", "native", "48"):
        option = [] if scale is None else ["--viewing-scale", scale]
        done = run_cli("score", large, "--model", model, "-q", *option)
        assert done.returncode == 0, done.stderr
        scores[scale] = float(read_csv(done.stdout)[0]["score"])
    # the model learned 48 px (its photos' shorter side): its own scale
    assert scores[None] == scores["learned"] == scores["48"]
    assert scores["native"] != scores["learned"]
    done = run_cli("score", large, "--model", model, "--viewing-scale", "screen")
    assert done.returncode == 2
    assert "--viewing-scale" in done.stderr and "'screen'" in done.stderr
