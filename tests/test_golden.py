"""Golden values stored before the core was restructured: they must not move.

``tests/data/golden.npz`` holds, computed with the code of before the
restructuring, the features of three clive-dev photos (MobileNetV2
IMAGENET1K_V1, 5 random crops of 224 px, ``random_state=0``, exact crops, on
the CPU) and the names of the sample images in ``examples/images``, whose
scores by the pretrained model its file records.

They were computed on one machine. On a processor of another family, PyTorch
(oneDNN) and BLAS choose other kernels, which add float32 numbers in other
orders: there the values agree to float32 rounding, not bit for bit. That
they repeat bit for bit on one machine is tested in test_reproducibility.py.
"""

from pathlib import Path

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose

from skdeepbiq import CNNCropFeaturizer, load_pretrained
from skdeepbiq._models.pretrained import model_metadata

from .conftest import CLIVE_DEV, GOLDEN_RTOL

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = np.load(Path(__file__).parent / "data" / "golden.npz")


@pytest.fixture(autouse=True)
def two_torch_threads():
    """The stored values were computed with PyTorch on 2 threads; CPU kernels
    round differently with another thread count."""
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(threads)


@pytest.mark.clive
def test_clive_features_are_the_stored_ones(mobilenet_weights_cached):
    if not (CLIVE_DEV / "mos.csv").exists():
        pytest.skip("../shared/data/clive-dev is not present")
    paths = [str(CLIVE_DEV / "images" / name) for name in GOLDEN["clive_names"]]
    featurizer = CNNCropFeaturizer(
        backbone="mobilenet_v2",
        weights="IMAGENET1K_V1",
        n_crops=5,
        crop_size=224,
        random_state=0,
        compute="crops",
        device="cpu",
    ).fit(paths[:1])
    stored = GOLDEN["clive_features"]
    features = featurizer.transform(paths)
    # features near zero: their rounding is that of the largest ones
    assert_allclose(
        features, stored, rtol=GOLDEN_RTOL, atol=GOLDEN_RTOL * np.abs(stored).max()
    )


def test_pretrained_scores_of_the_sample_images_are_those_its_training_recorded(
    pretrained_weights_cached,
):
    # benchmarks/train_pretrained.py records the scores it computed in the file.
    recorded = model_metadata("clive-efficientnet_lite2")["sample_scores"]
    names = [str(name) for name in GOLDEN["sample_names"]]
    paths = [str(ROOT / "examples" / "images" / name) for name in names]
    scores = load_pretrained(device="cpu").predict(paths)
    assert_allclose(scores, [recorded[name] for name in names], rtol=GOLDEN_RTOL)


@pytest.mark.clive
def test_pretrained_scores_of_500x500_clive_photos_did_not_move(
    pretrained_weights_cached,
):
    # tests/data/pretrained_clive_scores.npz: the shipped model's scores of 20
    # clive-dev photos, computed before the viewing scale existed. Its viewing
    # scale is 500 pixels, CLIVE's own: photos of that size are read as before.
    if not (CLIVE_DEV / "mos.csv").exists():
        pytest.skip("../shared/data/clive-dev is not present")
    stored = np.load(Path(__file__).parent / "data" / "pretrained_clive_scores.npz")
    paths = [str(CLIVE_DEV / "images" / name) for name in stored["names"]]
    model = load_pretrained(device="cpu")
    assert model.featurizer_.viewing_side() == 500
    assert_allclose(model.predict(paths), stored["scores"], rtol=GOLDEN_RTOL)
