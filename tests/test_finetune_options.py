"""Fine-tuning recipe options: flips, layer-wise rates, early stopping, rank loss."""

import numpy as np
import pytest
import torch
from sklearn.utils._param_validation import InvalidParameterError
from torch import nn

import skdeepbiq._finetuning.loop as loop
from skdeepbiq import CNNCropFeaturizer, FineTuning
from skdeepbiq._engine.runtime import resolve_runtime
from skdeepbiq._engine.trunk import split_network
from skdeepbiq._finetuning.loop import (
    RankAwareLoss,
    TrainingMaps,
    Windows,
    cut_windows,
    learning_rate_scheduler,
    parameter_groups,
)
from skdeepbiq._finetuning.recipe import check_fine_tuning, fine_tune
from skdeepbiq._finetuning.validation import EarlyStopping, hold_out

from .conftest import LIVELY

SMALL = dict(backbone="mobilenet_v2", weights=None, n_crops=3, crop_size=32)


def tiny_tail():
    torch.manual_seed(0)
    blocks = nn.Sequential(nn.Conv2d(4, 6, 1), nn.ReLU(), nn.Conv2d(6, 8, 1))
    return nn.Sequential(blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten())


def tiny_maps(n_images=10):
    generator = torch.Generator().manual_seed(1)
    return [torch.randn(4, 3, 4, generator=generator) for _ in range(n_images)]


def tune_tiny(tail, recipe, maps=None, mirrored=None):
    maps = tiny_maps() if maps is None else maps
    return fine_tune(
        tail, maps, [(48, 64)] * len(maps), np.linspace(10, 90, len(maps)), recipe,
        n_features=8, crop_size=32, seed=0,
        runtime=resolve_runtime("cpu", "float32"), mirrored=mirrored,
    )  # fmt: skip


@pytest.mark.parametrize(
    "params, field",
    [({"flips": "yes"}, "flips"), ({"lr_decay": 0.0}, "lr_decay"),
     ({"lr_decay": 1.5}, "lr_decay"), ({"validation_fraction": 1.0},
     "validation_fraction"), ({"n_iter_no_change": 0}, "n_iter_no_change"),
     ({"rank_weight": -0.5}, "rank_weight"), ({"rank_weight": "high"}, "rank_weight"),
     ({"objective": "classes", "rank_weight": 1.0}, "rank_weight")],
)  # fmt: skip
def test_new_recipe_options_are_validated_by_name(params, field):
    with pytest.raises(InvalidParameterError, match=field):
        check_fine_tuning(FineTuning(**params))


def test_flipped_crops_are_windows_of_the_mirrored_maps():
    maps = [torch.arange(24.0).view(1, 4, 6)]
    mirrored = [torch.arange(24.0).view(1, 4, 6) + 100]
    windows = Windows(np.array([0, 0]), np.array([[1, 2], [1, 2]]), np.array([0, 1]))
    cut = cut_windows(TrainingMaps(maps, [(64, 96)], mirrored), windows, 2)
    assert torch.equal(cut[0], maps[0][:, 1:3, 2:4])
    assert torch.equal(cut[1], mirrored[0][:, 1:3, 2:4])


def test_mirrored_trunk_maps_are_the_trunk_of_the_flipped_image(images, scores):
    recipe = FineTuning(epochs=1, crops_per_image=2, batch_size=4, flips=True)
    seen = {}
    original = loop.cut_windows

    def recording(data, windows, window):
        seen["data"] = data
        seen.setdefault("flipped", []).append(windows.flipped)
        return original(data, windows, window)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(loop, "cut_windows", recording)
        featurizer = CNNCropFeaturizer(**SMALL, fine_tune=recipe)
        plain = CNNCropFeaturizer(**SMALL, compute="trunk").fit(images)
        featurizer.fit(images, scores)
    flipped = np.concatenate(seen["flipped"])
    assert 0 < flipped.sum() < len(flipped)
    trunk, _ = split_network("mobilenet_v2", plain.network_.model, deep=True)
    image = torch.as_tensor(images[3]).permute(2, 0, 1).flip(-1)[None] / 255.0
    mean = torch.tensor(plain.mean_).view(1, 3, 1, 1)
    std = torch.tensor(plain.std_).view(1, 3, 1, 1)
    with torch.no_grad():
        expected = trunk((image - mean) / std)[0]
    mirrored = seen["data"].mirrored[3]
    scale = expected.abs().max().item()
    torch.testing.assert_close(mirrored, expected, rtol=1e-3, atol=1e-4 * scale)
    unflipped = seen["data"].maps[3].flip(-1)  # a flipped window is not this
    assert not torch.allclose(mirrored, unflipped, rtol=1e-3, atol=1e-4 * scale)


def test_flips_need_mirrored_maps_and_change_the_training():
    recipe = FineTuning(epochs=1, crops_per_image=4, batch_size=4, flips=True)
    with pytest.raises(ValueError, match="mirrored"):
        tune_tiny(tiny_tail(), recipe)
    plain, flipped = tiny_tail(), tiny_tail()
    tune_tiny(plain, FineTuning(epochs=1, crops_per_image=4, batch_size=4))
    mirrored = [maps.flip(-1) * 2 for maps in tiny_maps()]
    tune_tiny(flipped, recipe, mirrored=mirrored)
    assert not torch.equal(plain[0][2].weight, flipped[0][2].weight)


def test_layer_wise_rates_decay_per_block_from_the_head_and_follow_the_schedule():
    tail, head = tiny_tail(), nn.Linear(8, 1)
    groups = parameter_groups(tail, head, "tail", 1e-2, 0.5)
    optimizer = torch.optim.SGD(groups)
    rates = [group["lr"] for group in optimizer.param_groups]
    # head (and modules after the blocks), then Conv2d(6, 8), then Conv2d(4, 6);
    # the ReLU between them has no parameters but counts as a block.
    np.testing.assert_allclose(rates, [1e-2, 5e-3, 1.25e-3])
    assert optimizer.param_groups[0]["params"][0] is head.weight
    scheduler = learning_rate_scheduler(optimizer, "cosine", 4)
    for _ in range(2):
        optimizer.step()
        scheduler.step()
    halfway = [group["lr"] for group in optimizer.param_groups]
    np.testing.assert_allclose(halfway, np.array(rates) / 2)


def test_lr_decay_one_trains_every_block_at_the_same_rate_as_before():
    tail, head = tiny_tail(), nn.Linear(8, 1)
    groups = parameter_groups(tail, head, 1, 1e-3, 1.0)
    assert [group["lr"] for group in groups] == [1e-3, 1e-3]
    trainable = {id(p) for p in tail.parameters() if p.requires_grad}
    assert trainable == {id(p) for p in tail[0][2].parameters()}


def test_held_out_images_are_a_seeded_part_of_the_training_images():
    train, held_out = hold_out(10, 0.3, seed=4)
    assert len(held_out) == 3 and len(train) == 7
    assert sorted(np.concatenate([train, held_out])) == list(range(10))
    again = hold_out(10, 0.3, seed=4)
    np.testing.assert_array_equal(held_out, again[1])
    assert len(hold_out(10, None, seed=4)[1]) == 0
    with pytest.raises(ValueError, match="validation_fraction"):
        hold_out(1, 0.5, seed=0)


def test_early_stopping_never_trains_on_held_out_images(monkeypatch):
    owners = []
    original = loop.train_step

    def recording(training, batch, batch_owners):
        owners.extend(batch_owners.tolist())
        return original(training, batch, batch_owners)

    monkeypatch.setattr(loop, "train_step", recording)
    recipe = FineTuning(
        epochs=3, crops_per_image=2, batch_size=4, validation_fraction=0.3,
        n_iter_no_change=5,
    )  # fmt: skip
    history = tune_tiny(tiny_tail(), recipe)
    _, held_out = hold_out(10, 0.3, seed=0)
    assert set(owners).isdisjoint(held_out.tolist())
    assert history["n_images"] == 7 and history["n_validation_images"] == 3
    assert len(history["validation_srocc"]) == len(history["loss"]) == 3
    assert len(history["validation_loss"]) == 3
    best = int(np.nanargmax(history["validation_srocc"])) + 1
    assert history["best_epoch"] == best


class ScriptedStopping(EarlyStopping):
    """Early stopping whose validation Spearman of each epoch is given."""

    def __init__(self, sroccs, patience):
        self.script = iter(sroccs)
        self.rows = np.arange(2)
        self.patience = patience
        self.losses, self.sroccs = [], []
        self.best_epoch, self.best_weights = 0, None

    def evaluate(self, training):
        return 0.0, next(self.script)


def test_early_stopping_keeps_the_best_epoch_and_stops_after_patience():
    weight = nn.Parameter(torch.zeros(1))
    training = type("T", (), {})()
    training.optimizer = torch.optim.SGD([weight], lr=1.0)
    stopping = ScriptedStopping([0.1, 0.5, 0.4, 0.5, 0.9], patience=2)
    stops = []
    for epoch in range(1, 6):
        with torch.no_grad():
            weight.fill_(epoch)
        stops.append(stopping.update(training))
        if stops[-1]:
            break
    assert stops == [False, False, False, True]  # 0.5 at epoch 4 is no better
    stopping.restore(training)
    assert weight.item() == 2.0 and stopping.best_epoch == 2
    assert stopping.history()["validation_srocc"] == [0.1, 0.5, 0.4, 0.5]


def test_featurizer_fine_tunes_with_every_new_option(images, scores):
    recipe = FineTuning(
        epochs=2, crops_per_image=2, batch_size=4, flips=True, lr_decay=0.7,
        validation_fraction=0.25, n_iter_no_change=1,
    )  # fmt: skip
    featurizer = CNNCropFeaturizer(**SMALL, fine_tune=recipe).fit(images, scores)
    history = featurizer.fine_tuning_history_
    assert history["n_images"] == 9 and history["n_validation_images"] == 3
    assert 1 <= history["best_epoch"] <= len(history["loss"]) <= 2
    assert np.isfinite(featurizer.transform(images)).all()


@pytest.mark.parametrize(
    "backbone, n_blocks, deep_blocks",
    [("mobilenet_v2", 5, 11), ("resnet18", 2, 3), ("efficientnet_b0", 3, 4)],
)
def test_deep_split_ends_the_trunk_at_stride_16_with_more_blocks_in_the_tail(
    backbone, n_blocks, deep_blocks
):
    from torchvision import models

    torch.manual_seed(0)
    model = getattr(models, backbone)(weights=None).eval()
    image = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        whole = model(image)
        for deep, blocks in ((False, n_blocks), (True, deep_blocks)):
            trunk, tail = split_network(backbone, model, deep=deep)
            maps = trunk(image)
            assert maps.shape[-2:] == (64 // 16, 96 // 16)
            assert len(list(tail[0].children())) == blocks
            torch.testing.assert_close(tail(maps), whole)


def test_deep_fine_tuning_trains_from_the_first_stride_16_layer(images, tmp_path):
    y = np.linspace(10, 90, len(images))
    params = dict(SMALL, layer="stages", compute="trunk", memory=tmp_path)
    recipe = dict(epochs=1, crops_per_image=2, learning_rate=0.05)
    deep = FineTuning(**recipe, trainable="deep")
    plain = CNNCropFeaturizer(**params).fit(images).transform(images)
    # The tail's trunk maps come first into the cache: deep tuning must not
    # take them for its own, shorter trunk's.
    tail = FineTuning(**recipe, trainable="tail")
    CNNCropFeaturizer(**params, fine_tune=tail).fit(images, y)
    featurizer = CNNCropFeaturizer(**params, fine_tune=deep).fit(images, y)
    blocks = {int(name.split(".")[2]) for name in featurizer.tuned_weights()}
    assert min(blocks) == 8 and max(blocks) == 18
    tuned = featurizer.transform(images).reshape(len(images), 3, -1)
    n_trunk = 16 + 24 + 32  # features.1, 3 and 6 are in the deep trunk
    plain = plain.reshape(len(images), 3, -1)
    np.testing.assert_array_equal(tuned[..., :n_trunk], plain[..., :n_trunk])
    assert not np.allclose(tuned[..., n_trunk:], plain[..., n_trunk:])
    uncached = CNNCropFeaturizer(**{**params, "memory": None}, fine_tune=deep)
    np.testing.assert_array_equal(
        uncached.fit(images, y).transform(images).reshape(tuned.shape), tuned
    )


def test_deep_fine_tuning_of_a_resnet_taps_layer3_through_its_last_block(images):
    # The deep trunk ends inside layer3, so the layer3 module never runs.
    y = np.linspace(10, 90, len(images))
    params = dict(LIVELY, layer="stages", compute="trunk")
    plain = CNNCropFeaturizer(**params).fit(images).transform(images)
    recipe = FineTuning(epochs=1, crops_per_image=2, learning_rate=0.05)
    deep = CNNCropFeaturizer(**params, fine_tune=recipe.set_params(trainable="deep"))
    tuned = deep.fit(images, y).transform(images).reshape(len(images), 3, -1)
    plain = plain.reshape(tuned.shape)
    n_trunk = 64 + 128  # layer1 and layer2 stay in the deep trunk
    np.testing.assert_array_equal(tuned[..., :n_trunk], plain[..., :n_trunk])
    assert not np.allclose(tuned[..., n_trunk:], plain[..., n_trunk:])


def test_rank_weight_zero_is_the_smooth_l1_loss_to_the_last_bit():
    generator = torch.Generator().manual_seed(2)
    scores, targets = torch.randn(2, 16, generator=generator)
    expected = nn.SmoothL1Loss(reduction="mean")(scores, targets)
    assert torch.equal(RankAwareLoss(0.0)(scores, targets), expected)


def test_rank_term_penalises_a_wrong_order_that_the_score_loss_cannot_see():
    targets = torch.tensor([0.0, 0.3])
    ordered = torch.tensor([0.3, 0.6])  # each 0.3 off, in the right order
    swapped = torch.tensor([0.3, 0.0])  # each 0.3 off, in the wrong order
    plain, ranked = RankAwareLoss(0.0), RankAwareLoss(1.0)
    assert torch.isclose(plain(ordered, targets), plain(swapped, targets))
    assert ranked(swapped, targets) > ranked(ordered, targets) + 1e-3
    assert ranked(swapped, targets) > plain(swapped, targets)


def test_rank_term_vanishes_when_the_score_gaps_are_the_target_gaps():
    targets = torch.tensor([-1.0, 0.2, 0.5, 1.4])
    shifted = targets + 0.5  # the same gaps; the rank term compares gaps only
    plain, ranked = RankAwareLoss(0.0), RankAwareLoss(1.0)
    assert abs(ranked(shifted, targets).item() - plain(shifted, targets).item()) < 1e-3


def test_crops_of_one_photo_are_never_paired():
    targets = torch.full((6,), 0.7)  # six crops of one photo share its target
    scores = torch.tensor([0.1, 2.0, -1.0, 0.7, 0.3, 1.1])
    assert torch.equal(
        RankAwareLoss(5.0)(scores, targets), RankAwareLoss(0.0)(scores, targets)
    )


def test_rank_loss_gradients_stay_finite_when_the_order_is_certain():
    scores = torch.tensor([-40.0, 0.0, 40.0], requires_grad=True)
    RankAwareLoss(1.0)(scores, torch.tensor([-30.0, 0.0, 30.0])).backward()
    assert torch.isfinite(scores.grad).all()


def test_rank_weight_changes_the_training_and_stays_reproducible():
    recipe = dict(epochs=2, crops_per_image=2, batch_size=4)
    plain = tune_tiny(tiny_tail(), FineTuning(**recipe))["loss"]
    ranked = [
        tune_tiny(tiny_tail(), FineTuning(**recipe, rank_weight=1.0))["loss"]
        for _ in range(2)
    ]
    assert ranked[0] == ranked[1]
    assert ranked[0] != plain
