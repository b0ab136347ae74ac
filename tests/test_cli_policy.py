"""One exit-code policy for every command, the --cache shared by fit,
evaluate and score, and the message for missing weights.

Exit codes: 0 success; 1 a missing or unreadable path, image or weights
file; 2 bad usage (an option, a value, a malformed file, a model file that
is not a model). Commands run in-process through ``main()``.
"""

import glob
import json
from urllib.error import URLError

import numpy as np
import pytest
import torch
from PIL import Image

from skdeepbiq.cli import main

from .conftest import make_images

# Every crop through the whole network, so that the first convolution counts
# crops, and no probe of the layers' widths at fit (as multi-level layers have)
TINY = ["--weights", "none", "--n-crops", "2", "--crop-size", "32", "-q"]
TINY += ["--compute", "crops", "--layer", "penultimate"]
N_IMAGES, N_CROPS = 4, 2


@pytest.fixture
def manifest(tmp_path):
    """Four PNG images and their manifest."""
    rows = ["image,mos"]
    for index, pixels in enumerate(make_images(N_IMAGES)):
        Image.fromarray(pixels).save(tmp_path / f"img{index}.png")
        rows.append(f"img{index}.png,{20 + 20 * index}")
    path = tmp_path / "manifest.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture
def count_crops():
    """Crops through the network's first convolution, counted per command."""
    counted = []

    def hook(module, inputs, output):
        if isinstance(module, torch.nn.Conv2d) and module.in_channels == 3:
            counted.append(inputs[0].shape[0])

    handle = torch.nn.modules.module.register_module_forward_hook(hook)

    def run(argv):
        counted.clear()
        code = main(argv)
        return code, sum(counted)

    yield run
    handle.remove()


def test_fit_then_evaluate_with_the_same_cache_runs_the_network_once_per_image(
    manifest, tmp_path, count_crops, capsys
):
    cache, model = str(tmp_path / "cache"), str(tmp_path / "model.npz")
    code, fitted = count_crops(
        ["fit", str(manifest), "-o", model, *TINY, "--cache", cache]
    )
    assert code == 0
    assert fitted == N_IMAGES * N_CROPS
    entries = glob.glob(f"{cache}/**/*.npy", recursive=True)
    assert len(entries) == N_IMAGES
    code, evaluated = count_crops(
        ["evaluate", model, str(manifest), "-f", "json", "-q", "--cache", cache]
    )
    assert code == 0
    assert evaluated == 0
    assert json.loads(capsys.readouterr().out)["n_images"] == N_IMAGES
    images = sorted(glob.glob(str(tmp_path / "img*.png")))
    code, scored = count_crops(["score", *images, "-m", model, "-q", "--cache", cache])
    assert (code, scored) == (0, 0)
    assert len(glob.glob(f"{cache}/**/*.npy", recursive=True)) == N_IMAGES


def test_evaluate_without_the_cache_runs_the_network_again(
    manifest, tmp_path, count_crops
):
    model = str(tmp_path / "model.npz")
    assert count_crops(["fit", str(manifest), "-o", model, *TINY])[0] == 0
    code, evaluated = count_crops(["evaluate", model, str(manifest), "-q"])
    assert (code, evaluated) == (0, N_IMAGES * N_CROPS)


@pytest.mark.parametrize(
    ("content", "code", "message"),
    [
        (None, 1, "manifest.csv"),  # no such file
        ("image,quality\na.png,3\n", 2, "mos"),  # no mos column
        ("image,mos\na.png,good\n", 2, "'good'"),
        ("image,mos\nnowhere.png,3\nnowhere2.png,4\n", 1, "nowhere.png"),
    ],
    ids=["missing", "no-mos-column", "bad-mos", "missing-image"],
)
@pytest.mark.parametrize("command", ["fit", "evaluate"])
def test_manifest_problems_follow_the_exit_code_policy(
    command, content, code, message, tmp_path, capsys
):
    path = tmp_path / "manifest.csv"
    if content is not None:
        path.write_text(content)
    if command == "fit":
        argv = ["fit", str(path), "-o", str(tmp_path / "m.npz"), *TINY]
    else:
        argv = ["evaluate", "clive-efficientnet_lite2", str(path), "-q"]
    assert main(argv) == code
    assert message in capsys.readouterr().err


def test_an_npz_file_that_is_not_a_model_is_bad_usage(tmp_path, capsys):
    image = tmp_path / "a.png"
    Image.fromarray(make_images(1)[0]).save(image)
    np.savez(tmp_path / "arrays.npz", x=np.arange(3))
    assert main(["score", str(image), "-m", str(tmp_path / "arrays.npz"), "-q"]) == 2
    error = capsys.readouterr().err
    assert "not a skdeepbiq model" in error and "arrays.npz" in error


def test_a_bad_runtime_value_found_when_running_is_bad_usage(
    manifest, tmp_path, capsys
):
    model = str(tmp_path / "model.npz")
    argv = ["fit", str(manifest), "-o", model, *TINY, "--device", "abacus"]
    assert main(argv) == 2
    assert "abacus" in capsys.readouterr().err


def test_reproduce_with_an_unknown_experiment_is_bad_usage(manifest, tmp_path, capsys):
    argv = ["reproduce", str(manifest), "-o", str(tmp_path / "out"), "--no-plots"]
    assert main([*argv, "--experiments", "IV", "-q"]) == 2
    assert "experiments must be among" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """An empty torch cache and no network."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))

    def no_network(*args, **kwargs):
        raise URLError("no network in this test")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    return tmp_path / "torch" / "hub" / "checkpoints"


def test_missing_weights_without_an_offline_source_name_the_file_and_folder_only(
    manifest, tmp_path, offline, capsys
):
    argv = ["fit", str(manifest), "-o", str(tmp_path / "m.npz"), "-q"]
    assert main([*argv, "--backbone", "resnet18", "--weights", "IMAGENET1K_V1"]) == 1
    error = " ".join(capsys.readouterr().err.split())
    assert "resnet18-f37072fd.pth" in error
    assert f"in the folder {offline}" in error
    assert "weights fetch" not in error
    assert "mobilenet" not in error and "wheel" not in error


@pytest.mark.parametrize(
    "options, backbone, file",
    [
        # fit's default backbone, tuned or not, is EfficientNet-Lite2
        ([], "efficientnet_lite2", "efficientnet-lite2-9656183e.pth"),
        (["--backbone", "mobilenet_v2"], "mobilenet_v2", "mobilenet_v2-b0353104.pth"),
    ],
)
def test_missing_weights_name_the_file_folder_and_fetch_command(
    manifest, tmp_path, offline, capsys, options, backbone, file
):
    fit = ["fit", str(manifest), "-o", str(tmp_path / "m.npz"), "-q", *options]
    assert main(fit) == 1
    error = " ".join(capsys.readouterr().err.split())
    assert file in error
    assert f"in the folder {offline}" in error
    assert f"`skdeepbiq weights fetch {backbone}`" in error


def test_missing_weights_of_the_pretrained_default_name_its_fetch_command(
    tmp_path, offline, capsys
):
    image = tmp_path / "a.png"
    Image.fromarray(make_images(1)[0]).save(image)
    assert main(["score", str(image), "-q"]) == 1
    error = " ".join(capsys.readouterr().err.split())
    assert "efficientnet-lite2-9656183e.pth" in error
    assert f"in the folder {offline}" in error
    assert "`skdeepbiq weights fetch efficientnet_lite2`" in error
