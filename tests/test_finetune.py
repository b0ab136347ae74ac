"""Fine-tuning (Exp III) and the shared-trunk computation it relies on."""

import copy
import math
import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import ShuffleSplit, cross_validate
from sklearn.utils._param_validation import InvalidParameterError
from torch import nn

from skdeepbiq import CNNCropFeaturizer, DeepBIQRegressor, FineTuning
from skdeepbiq._engine.crops import snap_boxes
from skdeepbiq._engine.runtime import resolve_runtime
from skdeepbiq._finetuning.loop import learning_rate_scheduler
from skdeepbiq._finetuning.recipe import (
    check_fine_tuning,
    class_weights,
    fine_tune,
    score_classes,
)

from .conftest import LIVELY, make_images

SMALL = dict(backbone="mobilenet_v2", weights=None, n_crops=3, crop_size=32)
QUICK = FineTuning(epochs=2, crops_per_image=2, batch_size=4)


def tuned(images, scores, **params):
    return CNNCropFeaturizer(**SMALL, fine_tune=QUICK, **params).fit(images, scores)


def test_classes_follow_the_papers_crisp_partition():
    edges = FineTuning().edges()
    np.testing.assert_array_equal(edges, [20, 40, 60, 80])
    scores = np.array([0, 20, 20.01, 40, 59.9, 60, 80, 80.5, 100])
    np.testing.assert_array_equal(
        score_classes(scores, edges), [0, 0, 1, 1, 2, 2, 3, 4, 4]
    )
    np.testing.assert_allclose(
        FineTuning(score_range=(1.0, 5.0)).edges(), [1.8, 2.6, 3.4, 4.2]
    )
    with pytest.raises(ValueError, match="class_edges"):
        FineTuning(class_edges=[3, 2, 1, 0]).edges()


def test_class_weights_are_max_count_over_class_count():
    classes = np.array([0, 1, 1, 1, 2, 2])
    np.testing.assert_allclose(class_weights(classes), [3.0, 1.0, 1.5, 0.0, 0.0])


@pytest.mark.parametrize(
    "trainable, last_kept, first_tuned",
    [(None, 7, 8), ("deep", 7, 8), ("tail", 13, 14)],  # None: the default
)
def test_fine_tuning_changes_the_trainable_blocks_and_keeps_the_trunk(
    images, scores, trainable, last_kept, first_tuned
):
    plain = CNNCropFeaturizer(**SMALL, compute="trunk").fit(images)
    recipe = (
        QUICK if trainable is None else clone(QUICK).set_params(trainable=trainable)
    )
    featurizer = CNNCropFeaturizer(**SMALL, fine_tune=recipe).fit(images, scores)
    before = dict(plain.network_.model.named_parameters())
    after = dict(featurizer.network_.model.named_parameters())
    assert torch.equal(before["features.0.0.weight"], after["features.0.0.weight"])
    kept, changed = f"features.{last_kept}.conv.0.0.weight", "features.18.0.weight"
    assert torch.equal(before[kept], after[kept])
    assert not torch.equal(before[changed], after[changed])
    first = f"features.{first_tuned}.conv.0.0.weight"
    assert not torch.equal(before[first], after[first])
    assert len(featurizer.fine_tuning_history_["loss"]) == 2
    assert not np.allclose(featurizer.transform(images), plain.transform(images))
    assert len(featurizer.fine_tuning_history_["loss"]) == 2
    assert not np.allclose(featurizer.transform(images), plain.transform(images))


def test_fine_tuning_with_a_fixed_random_state_is_reproducible_on_the_cpu(
    images, scores
):
    first = tuned(images, scores, random_state=3)
    second = tuned(images, scores, random_state=3)
    for (name, a), (_, b) in zip(
        first.network_.state_dict().items(),
        second.network_.state_dict().items(),
        strict=True,
    ):
        assert torch.equal(a, b), name
    np.testing.assert_array_equal(first.transform(images), second.transform(images))


@pytest.mark.parametrize("objective", ["classes", "regression"])
@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
def test_objectives_and_optimizers_train(images, scores, objective, optimizer):
    recipe = FineTuning(
        objective=objective, optimizer=optimizer, epochs=1, crops_per_image=2
    )
    featurizer = CNNCropFeaturizer(**SMALL, fine_tune=recipe).fit(images, scores)
    assert np.isfinite(featurizer.fine_tuning_history_["loss"]).all()


def test_trainable_last_blocks_only(images, scores):
    plain = CNNCropFeaturizer(**SMALL, compute="trunk").fit(images)
    recipe = FineTuning(epochs=1, crops_per_image=2, trainable=1)
    featurizer = CNNCropFeaturizer(**SMALL, fine_tune=recipe).fit(images, scores)
    before = dict(plain.network_.model.named_parameters())
    after = dict(featurizer.network_.model.named_parameters())
    assert torch.equal(
        before["features.17.conv.0.0.weight"], after["features.17.conv.0.0.weight"]
    )
    assert not torch.equal(
        before["features.18.0.weight"], after["features.18.0.weight"]
    )


def test_no_test_fold_image_reaches_fine_tuning_in_cross_validate(
    images, scores, monkeypatch
):
    seen = []
    original = CNNCropFeaturizer._fine_tune

    def recording(self, images_, y, config, *runtime):
        seen.append({img.tobytes() for img in images_})
        return original(self, images_, y, config, *runtime)

    monkeypatch.setattr(CNNCropFeaturizer, "_fine_tune", recording)
    cv = ShuffleSplit(n_splits=3, test_size=0.25, random_state=0)
    model = DeepBIQRegressor(CNNCropFeaturizer(**SMALL), fine_tune=QUICK)
    cross_validate(model, images, scores, cv=cv)
    assert len(seen) == 3
    for tuned_on, (train, test) in zip(seen, cv.split(images), strict=True):
        assert tuned_on == {images[i].tobytes() for i in train}
        assert not tuned_on & {images[i].tobytes() for i in test}


def test_fine_tuned_regressor_pickles_and_predicts_the_same(images, scores):
    model = DeepBIQRegressor(CNNCropFeaturizer(**SMALL), fine_tune=QUICK).fit(
        images, scores
    )
    assert model.featurizer_.fine_tuning_history_["n_images"] == 12
    restored = pickle.loads(pickle.dumps(model))
    assert all(
        p.device.type == "cpu" for p in restored.featurizer_.network_.parameters()
    )
    np.testing.assert_array_equal(restored.predict(images), model.predict(images))


def test_fine_tune_true_uses_the_default_recipe_and_needs_scores(images):
    featurizer = CNNCropFeaturizer(**SMALL, fine_tune=True)
    assert (
        check_fine_tuning(featurizer.fine_tune).get_params()
        == FineTuning().get_params()
    )
    with pytest.raises(ValueError, match="fine_tune needs the scores"):
        featurizer.fit(images)


def test_trunk_features_equal_exact_features_when_the_crop_is_the_whole_image():
    images = make_images(3, size=(32, 32))
    exact = CNNCropFeaturizer(**SMALL, compute="crops").fit(images).transform(images)
    trunk = CNNCropFeaturizer(**SMALL, compute="trunk").fit(images).transform(images)
    np.testing.assert_allclose(trunk, exact, rtol=1e-4, atol=1e-5)


def test_trunk_features_approximate_exact_crops(images):
    grid = {**SMALL, "crops": "grid", "n_crops": 2}
    exact = CNNCropFeaturizer(**grid, compute="crops")
    trunk = CNNCropFeaturizer(**grid, compute="trunk")
    a = exact.fit(images).transform(images)
    b = trunk.fit(images).transform(images)
    assert a.shape == b.shape
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.5


@pytest.mark.parametrize(
    "params, message",
    [(dict(backbone="alexnet"), "backbone='alexnet'"),
     (dict(crop_size=40), "multiple of 16")],
)  # fmt: skip
def test_trunk_mode_rejects_what_it_cannot_do(images, params, message):
    featurizer = CNNCropFeaturizer(**{**SMALL, **params}, compute="trunk")
    with pytest.raises(ValueError, match=message):
        featurizer.fit(images)


def test_snapped_boxes_keep_size_and_sit_on_the_stride_grid():
    boxes = np.array([[5, 17, 229, 241], [0, 0, 224, 224], [31, 47, 255, 271]])
    snapped = snap_boxes(boxes, 16)
    np.testing.assert_array_equal(
        snapped[:, 2:] - snapped[:, :2], boxes[:, 2:] - boxes[:, :2]
    )
    assert (snapped[:, :2] % 16 == 0).all() and (snapped[:, :2] <= boxes[:, :2]).all()


def test_fine_tune_with_precomputed_features_is_an_error(scores):
    model = DeepBIQRegressor("precomputed", fine_tune=True)
    with pytest.raises(ValueError, match="fine_tune needs a CNNCropFeaturizer"):
        model.fit(np.zeros((12, 2, 4)), scores)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
def test_trunk_mode_runs_on_cuda_and_matches_the_cpu(images):
    params = dict(LIVELY, compute="trunk", precision="float32")
    cpu = CNNCropFeaturizer(**params, device="cpu").fit(images).transform(images)
    gpu = CNNCropFeaturizer(**params, device="cuda").fit(images).transform(images)
    scale = np.abs(cpu).max()
    assert scale > 0.1  # features of a size that float32 resolves
    assert np.abs(gpu - cpu).max() <= 1e-3 * scale


def learning_rates(schedule, total_steps, peak=1e-3):
    """The learning rate of each of ``total_steps`` steps under ``schedule``."""
    parameter = nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=peak, momentum=0.9, nesterov=True)
    scheduler = learning_rate_scheduler(optimizer, schedule, total_steps)
    rates = []
    for _ in range(total_steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return np.array(rates)


@pytest.mark.parametrize("total_steps", [1, 12, 96, 5000])
def test_cosine_schedule_equals_the_closed_form_cosine_at_every_step(total_steps):
    steps = np.arange(total_steps)
    expected = 1e-3 * 0.5 * (1 + np.cos(np.pi * steps / total_steps))
    rates = learning_rates("cosine", total_steps)
    assert rates[0] == 1e-3
    np.testing.assert_allclose(rates, expected, rtol=0, atol=1e-12)


def test_constant_schedule_keeps_the_peak_learning_rate():
    np.testing.assert_array_equal(learning_rates("constant", 50), np.full(50, 1e-3))


def test_check_fine_tuning_turns_parameter_values_into_recipes():
    assert check_fine_tuning(None) is None
    assert check_fine_tuning(False) is None
    assert check_fine_tuning(np.False_) is None
    assert check_fine_tuning(True).get_params() == FineTuning().get_params()
    recipe = FineTuning(objective="classes", score_range=(1, 5))
    assert check_fine_tuning(recipe) is recipe


@pytest.mark.parametrize(
    "value, field",
    [(FineTuning(epochs=0), "epochs"),
     (FineTuning(objective="ranking"), "objective"),
     (FineTuning(trainable="head"), "trainable"),
     (FineTuning(class_edges=[20, 40, 60]), "class_edges"),
     (FineTuning(class_edges=[20, 40, np.nan, 80]), "class_edges"),
     (FineTuning(class_edges=[80, 60, 40, 20]), "class_edges"),
     (FineTuning(class_edges=["bad", "poor", "fair", "good"]), "class_edges"),
     (FineTuning(score_range=(5.0, 1.0)), "score_range"),
     (FineTuning(score_range=(0.0, 50.0, 100.0)), "score_range"),
     (FineTuning(score_range=(0.0, np.inf)), "score_range"),
     ("yes", "fine_tune"),
     (5, "fine_tune")],
)  # fmt: skip
def test_check_fine_tuning_names_fine_tune_and_the_bad_field(value, field):
    with pytest.raises(InvalidParameterError, match="fine_tune") as error:
        check_fine_tuning(value)
    assert field in str(error.value)


@pytest.mark.parametrize(
    "recipe, field",
    [(FineTuning(epochs=0), "epochs"),
     (FineTuning(objective="classes", class_edges=[1, 2, 3]), "class_edges")],
)  # fmt: skip
def test_a_bad_recipe_fails_in_fit_before_any_image_is_read_or_network_built(
    tmp_path, recipe, field
):
    missing = [str(tmp_path / f"missing {index}.png") for index in range(3)]
    featurizer = CNNCropFeaturizer(weights=None, fine_tune=recipe)
    with pytest.raises(InvalidParameterError, match=f"fine_tune.*{field}"):
        featurizer.fit(missing, [10.0, 50.0, 90.0])
    assert not hasattr(featurizer, "network_")
    model = DeepBIQRegressor(CNNCropFeaturizer(weights=None), fine_tune=recipe)
    with pytest.raises(InvalidParameterError, match=f"fine_tune.*{field}"):
        model.fit(missing, [10.0, 50.0, 90.0])


def tiny_tail():
    """A tail like a backbone's: a block sequence, then pooling to features."""
    torch.manual_seed(0)
    blocks = nn.Sequential(nn.Conv2d(4, 6, 1), nn.ReLU(), nn.Conv2d(6, 8, 1))
    return nn.Sequential(blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten())


def tune_tiny(tail, recipe, seed=0):
    generator = torch.Generator().manual_seed(1)
    maps = [torch.randn(4, 3, 4, generator=generator) for _ in range(5)]
    return fine_tune(
        tail, maps, [(48, 64)] * 5, np.linspace(10, 90, 5), recipe,
        n_features=8, crop_size=32, seed=seed,
        runtime=resolve_runtime("cpu", "float32"),
    )  # fmt: skip


def test_fine_tune_trains_only_the_last_blocks_and_leaves_the_tail_frozen():
    tail = tiny_tail()
    before = copy.deepcopy(tail.state_dict())
    recipe = FineTuning(epochs=3, crops_per_image=3, batch_size=4, trainable=1)
    history = tune_tiny(tail, recipe)
    after = tail.state_dict()
    assert history["steps"] == 3 * math.ceil(5 * 3 / 4)
    assert len(history["loss"]) == 3 and np.isfinite(history["loss"]).all()
    assert torch.equal(before["0.0.weight"], after["0.0.weight"])
    assert not torch.equal(before["0.2.weight"], after["0.2.weight"])
    assert not any(parameter.requires_grad for parameter in tail.parameters())


@pytest.mark.parametrize("objective", ["classes", "regression"])
def test_fine_tune_with_the_same_seed_gives_the_same_weights(objective):
    recipe = FineTuning(objective=objective, epochs=2, crops_per_image=2)
    first, second, other = tiny_tail(), tiny_tail(), tiny_tail()
    assert tune_tiny(first, recipe) == tune_tiny(second, recipe)
    tune_tiny(other, recipe, seed=1)
    for name, weights in first.state_dict().items():
        assert torch.equal(weights, second.state_dict()[name]), name
    assert not torch.equal(first[0][2].weight, other[0][2].weight)


def test_fine_tune_refuses_a_training_set_without_readable_images():
    with pytest.raises(ValueError, match="at least one readable training image"):
        fine_tune(
            tiny_tail(), [], [], np.array([]), FineTuning(),
            n_features=8, crop_size=32, seed=0,
            runtime=resolve_runtime("cpu", "float32"),
        )  # fmt: skip


def test_fine_tuning_then_exact_crops_tunes_the_same_network_as_trunk_mode(
    images, scores
):
    # the tail trains on trunk windows in both modes; only the features
    # after tuning come from exact crops with compute="crops"
    exact = tuned(images, scores, compute="crops")
    trunk = tuned(images, scores, compute="trunk")
    for (name, a), b in zip(
        exact.network_.model.named_parameters(),
        trunk.network_.model.parameters(),
        strict=True,
    ):
        assert torch.equal(a, b), name
    plain = CNNCropFeaturizer(**SMALL, compute="crops").fit(images)
    features = exact.transform(images)
    assert features.shape == plain.transform(images).shape
    assert np.isfinite(features).all()
    assert not np.allclose(features, plain.transform(images))


def test_fine_tuning_with_exact_crops_still_needs_a_trunk_backbone(images, scores):
    featurizer = CNNCropFeaturizer(
        **{**SMALL, "backbone": "alexnet"}, compute="crops", fine_tune=QUICK
    )
    with pytest.raises(ValueError, match="backbone='alexnet'"):
        featurizer.fit(images, scores)
