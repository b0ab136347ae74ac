"""
================================================
Pooling and fusion of crops (the paper's Exp II)
================================================

DeepBIQ describes each image by several random crops at the original scale
and combines them in one of three ways (Bianco et al., 2018, Exp II):

- **feature pooling**: the element-wise min, mean or max of the crops'
  features gives one vector per image;
- **feature concatenation**: the crops' features side by side;
- **prediction pooling**: the SVR scores every crop; an image's score is the
  min, mean or max of its crop scores (DeepBIQ's choice, with the mean).

This example compares them, and the number of crops, under the paper's
protocol: random 80% train / 20% test splits, median SROCC over the splits.
The CNN runs once: the crop features are computed once and passed to
``DeepBIQRegressor(featurizer="precomputed")``, and fewer crops are a slice
of the same crops (crops are independent random draws).

It uses 100 photos of clive-dev and 8 crops per image when the folder
``../shared/data/clive-dev`` is present, and synthetic images otherwise. With
so few photos the figures are noisy; the paper used 1,162 photos and up to 50
crops.
"""

# %%
# The data
# --------
from pathlib import Path

import numpy as np

from skdeepbiq.datasets import load_manifest, make_synthetic_iqa
from skdeepbiq.weights import list_cached_weights


def find_clive_dev():
    """clive-dev beside the repository this example runs in, or None."""
    for folder in (Path.cwd(), *Path.cwd().parents):
        if (folder / "pyproject.toml").is_file():
            clive_dev = folder.parent / "shared" / "data" / "clive-dev"
            return clive_dev if (clive_dev / "mos.csv").is_file() else None
    return None


weights_cached = any(
    entry["backbone"] == "mobilenet_v2" and entry["weights"] == "IMAGENET1K_V1"
    for entry in list_cached_weights()
)
clive_dev = find_clive_dev()
if clive_dev is not None and weights_cached:
    data = load_manifest(clive_dev / "mos.csv")
    chosen = np.random.default_rng(1).choice(len(data.y), size=100, replace=False)
    X, y = data.paths[chosen], data.y[chosen]
    featurizer_params = {}
    print(f"Data: {len(X)} of the {len(data.y)} photos of clive-dev ({clive_dev})")
else:
    data = make_synthetic_iqa(n_references=6, levels=4, noise=5.0, random_state=0)
    X, y = data.images, data.y
    weights = "IMAGENET1K_V1" if weights_cached else None
    featurizer_params = {"crop_size": 64, "weights": weights}
    print(f"Data: clive-dev not found; {len(X)} synthetic images, weights={weights}")

# %%
# Crop features, once
# -------------------
# :class:`~skdeepbiq.CNNCropFeaturizer` returns one row per image: the
# features of its crops one after the other. Reshaped to (images, crops,
# features), they are what ``featurizer="precomputed"`` takes.
from time import perf_counter

from skdeepbiq import CNNCropFeaturizer

n_crops = 8
start = perf_counter()
featurizer = CNNCropFeaturizer(n_crops=n_crops, **featurizer_params).fit(X)
crops = featurizer.transform(X).reshape(len(X), n_crops, -1)
print(f"Crop features {crops.shape} in {perf_counter() - start:.0f} s")

# %%
# Fusion and pooling
# ------------------
# :func:`~skdeepbiq.model_selection.clive_splits` is the paper's CLIVE
# protocol (random 80/20 splits); :data:`skdeepbiq.metrics.SCORERS` holds
# the image quality scorers and :func:`~skdeepbiq.model_selection.median_scores`
# the medians the paper reports. Concatenated features are ``n_crops`` times
# wider, so their SVR gets ``C / n_crops`` (the same as scaling the
# concatenated vector to the norm of one crop's).
import pandas as pd
from sklearn.model_selection import cross_validate

from skdeepbiq import DeepBIQRegressor, default_regressor
from skdeepbiq.metrics import SCORERS
from skdeepbiq.model_selection import clive_splits, median_scores

cv = clive_splits(n_splits=10)
scoring = {"srocc": SCORERS["srocc"], "plcc": SCORERS["plcc"]}
C = default_regressor().C  # the default LinearSVR's


def evaluate(features, fusion, pooling="mean"):
    """Median test SROCC and PLCC of one fusion over the splits."""
    k = features.shape[1]
    regressor = default_regressor(C=C / k if fusion == "concatenation" else C)
    model = DeepBIQRegressor(
        featurizer="precomputed", regressor=regressor, fusion=fusion, pooling=pooling
    )
    scores = cross_validate(model, features, y, cv=cv, scoring=scoring)
    medians = median_scores(scores)
    return medians["test_srocc"], medians["test_plcc"]


rows = []
for fusion, poolings in [
    ("feature", ["min", "mean", "max"]),
    ("concatenation", ["-"]),
    ("prediction", ["min", "mean", "max"]),
]:
    for pooling in poolings:
        srocc, plcc = evaluate(crops, fusion, "mean" if pooling == "-" else pooling)
        rows.append(
            {"fusion": fusion, "pooling": pooling, "SROCC": srocc, "PLCC": plcc}
        )
table = pd.DataFrame(rows)
table.round(3)

# %%
# :class:`~skdeepbiq.CropPooler` is feature pooling as a transformer of its
# own, to put in front of any scikit-learn regressor; it takes the
# featurizer's rows, crop after crop.
from sklearn.linear_model import RidgeCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdeepbiq import CropPooler

rows = crops.reshape(len(X), -1)  # the featurizer's output
ridge = make_pipeline(
    CropPooler(n_crops=n_crops, pooling="mean"),
    StandardScaler(),
    RidgeCV(alphas=np.logspace(0, 5, 11)),
)
scores = cross_validate(ridge, rows, y, cv=cv, scoring=scoring)
srocc = median_scores(scores)["test_srocc"]
print(f"Mean-pooled features, ridge regression: median SROCC {srocc:.3f}")

# %%
# The number of crops
# -------------------
# The first ``k`` crops of each image are ``k`` random crops: slicing the
# features studies every ``k`` without running the CNN again.
counts = [1, 2, 4, 8]
by_count = {
    fusion: [evaluate(crops[:, :k], fusion)[0] for k in counts]
    for fusion in ("feature", "concatenation", "prediction")
}

# %%
# Plots
# -----
import matplotlib.pyplot as plt

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
labels = [
    fusion if pooling == "-" else f"{fusion}, {pooling}"
    for fusion, pooling in zip(table["fusion"], table["pooling"], strict=True)
]
colors = {
    "feature": "tab:blue",
    "concatenation": "tab:orange",
    "prediction": "tab:green",
}
left.barh(labels, table["SROCC"], color=[colors[f] for f in table["fusion"]])
left.invert_yaxis()
left.set_xlabel(f"median SROCC, {cv.get_n_splits()} splits")
left.set_title(f"Fusion and pooling, {n_crops} crops")
left.set_xlim(min(0.0, table["SROCC"].min() - 0.05), 1.0)
for fusion, values in by_count.items():
    right.plot(counts, values, marker="o", color=colors[fusion], label=fusion)
right.set_xscale("log", base=2)
right.set_xticks(counts, [str(k) for k in counts])
right.set_xlabel("crops per image")
right.set_ylabel("median SROCC")
right.set_title("Number of crops (pooling by the mean)")
right.legend()
fig.tight_layout()
plt.show()

# %%
# On these 100 photos prediction pooling gains the most from more crops: a
# 224-px crop sees about a fifth of a 500x500 photo, quality varies over the
# image, and averaging crop scores evens it out. Differences of a few
# hundredths are within the noise of so few photos. The paper's figures on all
# of CLIVE (ImageNet+Places CaffeNet) were 0.78 SROCC for feature pooling with
# the mean (30 crops), 0.77 for concatenation (35 crops) and 0.77 for
# prediction pooling with the mean (20 crops), its best rows all pooling by
# the mean.
# Prediction pooling with the mean is :class:`~skdeepbiq.DeepBIQRegressor`'s
# default. ``skdeepbiq reproduce`` (or :func:`skdeepbiq.reproduce.reproduce`)
# runs this study on a whole dataset, with the paper's t-tests for the number
# of crops: see :ref:`sphx_glr_auto_examples_plot_reproduce_clive.py`.
