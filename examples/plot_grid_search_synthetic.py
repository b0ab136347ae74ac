"""
===========================================================
Grid search with splits by reference image (synthetic data)
===========================================================

Databases of synthetic distortions (LIVE, CSIQ, TID2008, TID2013) hold a few
dozen *reference* images and many distorted versions of each. If versions of
the same reference fall on both sides of a split, a model can recognise the
content instead of judging the quality. The paper's protocol for them splits
the reference images: 60% of them (with all their versions) for training,
20% for validation (choosing the hyperparameters) and 20% for testing, 100
times, and reports median correlations.

Because :class:`~skdeepbiq.DeepBIQRegressor` keeps one row per image (the
crops live inside the row), scikit-learn's group splitters and
:class:`~sklearn.model_selection.GridSearchCV` apply unchanged: pass each
image's reference id as ``groups``.

The data are synthetic: :func:`~skdeepbiq.datasets.make_synthetic_iqa` draws
procedural reference images and distorts them at graded levels of blur,
noise, JPEG compression and contrast reduction; the "scores" only encode that
stronger damage is worse. Small images (128 px) and crops (64 px) keep the
example within a minute on a CPU.
"""

# %%
# The data
# --------
# ``groups`` is the reference image of each image.
import numpy as np

from skdeepbiq.datasets import make_synthetic_iqa
from skdeepbiq.weights import list_cached_weights

data = make_synthetic_iqa(n_references=12, levels=4, noise=2.0, random_state=0)
X, y, groups = data.images, data.y, data.groups
print(f"{len(X)} images of {len(np.unique(groups))} reference images")
print(f"distortions: {sorted(set(data.distortion_type))}, levels 1-4")

# The ImageNet weights of MobileNetV2 when they are cached, else a randomly
# initialised network (``weights=None``), which runs the same code but whose
# features predict quality poorly.
weights_cached = any(
    entry["backbone"] == "mobilenet_v2" and entry["weights"] == "IMAGENET1K_V1"
    for entry in list_cached_weights()
)
weights = "IMAGENET1K_V1" if weights_cached else None
print(f"MobileNetV2 weights: {weights}")

# %%
# A held-out test set of reference images
# ---------------------------------------
# :class:`~sklearn.model_selection.GroupShuffleSplit` keeps every version of
# a reference image on one side.
from sklearn.model_selection import GroupShuffleSplit

outer = GroupShuffleSplit(n_splits=1, test_size=0.25, random_state=0)
train, test = next(outer.split(X, y, groups))
print(f"train: {len(train)} images of references {sorted(set(groups[train].tolist()))}")
print(f"test:  {len(test)} images of references {sorted(set(groups[test].tolist()))}")

# %%
# The grid search
# ---------------
# The search's own splits must also be by reference image: a
# ``GroupShuffleSplit`` as ``cv``, and ``groups`` passed to ``fit``. The
# featurizer's ``memory`` caches the crop features of each image, so the CNN
# runs once per image whatever the number of candidates and folds.
from tempfile import TemporaryDirectory

import pandas as pd
from sklearn.model_selection import GridSearchCV

from skdeepbiq import CNNCropFeaturizer, DeepBIQRegressor, default_regressor
from skdeepbiq.metrics import SCORERS

cache = TemporaryDirectory(prefix="skdeepbiq-grid-")
# The regressor is given (the default LinearSVR), so that its C can be searched.
model = DeepBIQRegressor(
    CNNCropFeaturizer(n_crops=4, crop_size=64, weights=weights, memory=cache.name),
    regressor=default_regressor(),
)
param_grid = {
    "regressor__C": [1e-5, 1e-4, 1e-3, 1e-2],
    "fusion": ["prediction", "feature"],
}
search = GridSearchCV(
    model,
    param_grid,
    scoring=SCORERS["srocc"],
    cv=GroupShuffleSplit(n_splits=3, test_size=0.25, random_state=0),
)
search.fit(X[train], y[train], groups=groups[train])
print(f"best: {search.best_params_}, validation SROCC {search.best_score_:.3f}")

results = pd.DataFrame(search.cv_results_)
results.pivot(
    index="param_regressor__C", columns="param_fusion", values="mean_test_score"
).round(3)

# %%
# Scores against the distortion level
# -----------------------------------
# The refitted best model scores the test images, whose references it never
# saw. A good model ranks the versions of each reference by their level.
import matplotlib.pyplot as plt

from skdeepbiq.metrics import plcc, srocc

predicted = search.predict(X[test])
print(
    f"test SROCC {srocc(y[test], predicted):.3f}, PLCC {plcc(y[test], predicted):.3f}"
)

levels = data.distortion_level[test]
kinds = data.distortion_type[test]
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
for kind in ("blur", "noise", "jpeg", "contrast"):
    shown = (kinds == kind) | (kinds == "reference")
    means = [predicted[shown & (levels == level)].mean() for level in range(5)]
    left.plot(range(5), means, marker="o", label=kind)
left.plot(range(5), 100 * (1 - np.arange(5) / 5), "k--", label="synthetic score")
left.set_xticks(range(5))
left.set_xlabel("distortion level (0: reference)")
left.set_ylabel("predicted score (mean over test references)")
left.set_title("Test references")
left.legend()
right.scatter(y[test], predicted, c=levels, cmap="viridis", s=16)
right.set_xlabel("synthetic score")
right.set_ylabel("predicted score")
right.set_title(f"SROCC {srocc(y[test], predicted):.2f}")
fig.tight_layout()
plt.show()

# %%
# The paper's protocol: train / validation / test by reference
# -------------------------------------------------------------
# :class:`~skdeepbiq.model_selection.ReferenceSplit` draws the three parts
# of each split by reference image (60/20/20% by default, 100 splits in the
# paper). Nested in :func:`~sklearn.model_selection.cross_validate`, the
# search picks ``C`` on a validation part drawn from the development part by
# :meth:`~skdeepbiq.model_selection.ReferenceSplit.validation_splitter`;
# ``params={"groups": groups}`` hands each development part's groups to
# the search. Five splits here; the features still come from the cache.
from sklearn.model_selection import cross_validate

from skdeepbiq.model_selection import ReferenceSplit, median_scores

splits = ReferenceSplit(n_splits=5, random_state=0)
search = GridSearchCV(
    model,
    {"regressor__C": [1e-5, 1e-4, 1e-3, 1e-2]},
    scoring=SCORERS["srocc"],
    cv=splits.validation_splitter(),
)
scores = cross_validate(
    search,
    X,
    y,
    groups=groups,
    cv=splits,
    scoring={"srocc": SCORERS["srocc"], "plcc": SCORERS["plcc"]},
    params={"groups": groups},
)
medians = median_scores(scores)
print(f"Median over {splits.get_n_splits()} splits by reference image:")
print(f"SROCC {medians['test_srocc']:.3f}, PLCC {medians['test_plcc']:.3f}")

# %%
# With real databases, :func:`~skdeepbiq.datasets.load_live`,
# :func:`~skdeepbiq.datasets.load_csiq`, :func:`~skdeepbiq.datasets.load_tid2013`
# and the others return the same ``paths``, ``y`` and ``groups``, and
# ``skdeepbiq reproduce`` runs the whole protocol on them.
cache.cleanup()
