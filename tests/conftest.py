"""Shared fixtures: tiny synthetic images, devices, clive-dev and weights."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import skdeepbiq._engine.batching as batching_module
from skdeepbiq._engine.crops import CropSpec
from skdeepbiq._engine.cutting import crops_of, place_crops

CLIVE_DEV = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "clive-dev"
#: Golden files were stored on one machine. Other processors get other BLAS
#: and oneDNN kernels (OpenBLAS picks them per CPU family), which round float32
#: sums differently: across machines stored values agree to float32 rounding
#: (a few units in the 7th digit), and on one machine they repeat bit for bit.
GOLDEN_RTOL = 1e-5

# A small network with random weights whose features keep their size, for
# comparing devices and precisions. MobileNetV2 with random weights shrinks
# its activations about tenfold per few blocks: its penultimate features are
# about 1e-9, under float16's smallest number (6e-8), so on CUDA they were all
# zero in float16 and compared only rounding noise in float32. ResNet-18's
# random features are of order 1.
LIVELY = dict(backbone="resnet18", weights=None, n_crops=3, crop_size=32)

DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=[
            pytest.mark.cuda,
            pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU"),
        ],
    ),
]


@pytest.fixture(params=DEVICES)
def device(request):
    """Each test body runs on the CPU and, when present, on a CUDA GPU."""
    return request.param


def make_images(n_images, size=(48, 64), seed=0):
    """Smooth random RGB uint8 images, each a little different."""
    rng = np.random.default_rng(seed)
    height, width = size
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    images = []
    for _ in range(n_images):
        phase = rng.uniform(0, 6.28, 3)
        freq = rng.uniform(2, 9, 3)
        base = np.stack(
            [np.sin(freq[c] * (xx + yy * (c + 1)) + phase[c]) for c in range(3)], -1
        )
        noise = rng.normal(0, rng.uniform(0.0, 0.4), base.shape)
        images.append(np.clip((base + noise + 1) * 127.5, 0, 255).astype(np.uint8))
    return images


@pytest.fixture
def images():
    """Twelve 48x64 RGB uint8 arrays."""
    return make_images(12)


@pytest.fixture
def image_paths(tmp_path):
    """Twelve PNG files of the same images as the ``images`` fixture."""
    paths = []
    for index, pixels in enumerate(make_images(12)):
        path = tmp_path / f"image {index:02d}.png"
        Image.fromarray(pixels).save(path)
        paths.append(str(path))
    return paths


@pytest.fixture
def scores():
    """Twelve quality scores on a 0-100 scale."""
    return np.linspace(10, 90, 12)


@pytest.fixture(scope="session")
def clive_dev():
    """(paths, mos) of ../shared/data/clive-dev; skips when absent."""
    manifest = CLIVE_DEV / "mos.csv"
    if not manifest.exists():
        pytest.skip("../shared/data/clive-dev is not present")
    import csv

    with open(manifest, newline="") as f:
        rows = list(csv.DictReader(f))
    paths = [str(CLIVE_DEV / row["image"]) for row in rows]
    return paths, np.array([float(row["mos"]) for row in rows])


@pytest.fixture(scope="session")
def mobilenet_weights_cached():
    """Skip unless torchvision's mobilenet_v2 IMAGENET1K_V1 file is cached."""
    from torchvision.models import MobileNet_V2_Weights

    from skdeepbiq._engine.backbones import weights_file

    if not Path(weights_file(MobileNet_V2_Weights.IMAGENET1K_V1)).exists():
        pytest.skip(
            "mobilenet_v2 weights not cached: skdeepbiq weights fetch mobilenet_v2"
        )


@pytest.fixture(scope="session")
def pretrained_weights_cached():
    """Skip unless the ImageNet weights of the pretrained default's backbone are cached."""
    from skdeepbiq._engine.backbones import model_weights, weights_file
    from skdeepbiq._models.pretrained import DEFAULT_PRETRAINED, model_metadata

    config = model_metadata(DEFAULT_PRETRAINED)["config"]["featurizer"]
    backbone = config.get("backbone", "mobilenet_v2")
    if not Path(weights_file(model_weights(backbone).IMAGENET1K_V1)).exists():
        pytest.skip(
            f"{backbone} weights not cached: skdeepbiq weights fetch {backbone}"
        )


@pytest.fixture
def count_forward(monkeypatch):
    """Count the crops that go through the network."""
    counter = {"calls": 0, "crops": 0}
    original = batching_module.forward

    def counting(network, crops, *args):
        counter["calls"] += 1
        counter["crops"] += len(crops)
        return original(network, crops, *args)

    monkeypatch.setattr(batching_module, "forward", counting)
    return counter


def cut_crops(pixels, *, n_crops, crop_size, mode, seed):
    """The crops of one RGB image as the featurizer cuts them, and their boxes
    in its working-size image (for comparisons with a reference network)."""
    spec = CropSpec(n_crops=n_crops, crop_size=crop_size, mode=mode, seed=seed)
    image, boxes = place_crops(pixels, spec)
    return crops_of(image, boxes), boxes
