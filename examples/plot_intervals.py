"""
=================================================
Scores with their confidence: conformal intervals
=================================================

:meth:`~skdeepbiq.DeepBIQRegressor.predict_interval` gives, for each photo,
an interval that holds the score people would give it with the probability
asked for, once the model is calibrated on photos it did not learn from
(:meth:`~skdeepbiq.DeepBIQRegressor.calibrate`). This example fits the
default model, calibrates it on out-of-fold predictions of its training
photos (``cv=5``: the SVR is fitted again on five parts, the network runs
once per photo), and checks the intervals on photos it never saw:

- the calibration plot: the share of test photos whose interval holds their
  MOS, against the confidence asked for, with one width for each third of
  the predicted scores (``method="score_bins"``, the default), one width for
  every photo (``"absolute"``), and widths that follow the disagreement of
  the photo's crops (``"crop_spread"``);
- the predictions with their 90% intervals against the MOS.

The photos are 300 of clive-dev when the folder ``../shared/data/clive-dev``
sits beside this repository, and synthetic images otherwise. To run in a
couple of minutes on a CPU, the model cuts 10 crops per photo instead of
its default 25. ``benchmarks/intervals.py`` measures the same on all of
clive-dev's splits (see :ref:`intervals`).
"""

# %%
# The data and the model
# ----------------------
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np
from sklearn.model_selection import train_test_split

from skdeepbiq import DeepBIQRegressor, default_featurizer
from skdeepbiq.datasets import load_manifest, make_synthetic_iqa
from skdeepbiq.weights import list_cached_weights


def find_clive_dev():
    """clive-dev beside the repository this example runs in, or None."""
    for folder in (Path.cwd(), *Path.cwd().parents):
        if (folder / "pyproject.toml").is_file():
            clive_dev = folder.parent / "shared" / "data" / "clive-dev"
            return clive_dev if (clive_dev / "mos.csv").is_file() else None
    return None


backbone = default_featurizer().backbone  # the default model's network
weights_cached = any(
    entry["backbone"] == backbone and entry["weights"] == "IMAGENET1K_V1"
    for entry in list_cached_weights()
)
clive_dev = find_clive_dev()
cache = TemporaryDirectory(prefix="skdeepbiq-intervals-")
if clive_dev is not None and weights_cached:
    data = load_manifest(clive_dev / "mos.csv")
    chosen = np.random.default_rng(0).choice(len(data.y), size=300, replace=False)
    X, y = data.paths[chosen], data.y[chosen]
    featurizer = default_featurizer(n_crops=10, memory=cache.name)
    print(f"Data: {len(X)} of the {len(data.y)} photos of clive-dev")
else:
    data = make_synthetic_iqa(n_references=12, levels=4, random_state=0)
    X, y = data.images, data.y
    weights = "IMAGENET1K_V1" if weights_cached else None
    featurizer = default_featurizer(
        n_crops=10, crop_size=64, weights=weights, memory=cache.name
    )
    print(f"Data: clive-dev not found; {len(X)} synthetic images")

X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=1 / 3, random_state=0
)
model = DeepBIQRegressor(featurizer).fit(X_train, y_train)

# %%
# Calibrate, then predict intervals
# ---------------------------------
# ``calibrate(X_train, y_train, cv=5)`` fits the head again on each four
# fifths of the training photos and keeps its errors on the other fifth: the
# conformity scores. Their quantiles give the intervals' half-widths.
levels = np.array([0.5, 0.6, 0.7, 0.8, 0.9, 0.95])
coverage, width = {}, {}
for method in ("score_bins", "absolute", "crop_spread"):
    model.calibrate(X_train, y_train, cv=5, method=method)
    coverage[method], width[method] = [], []
    for level in levels:
        low, high = model.predict_interval(X_test, level).T
        coverage[method].append(np.mean((low <= y_test) & (y_test <= high)))
        width[method].append(np.mean(high - low))
    print(
        f"{method:>11}: 90% intervals hold {coverage[method][4]:.0%} of the "
        f"test photos, {width[method][4]:.1f} points wide on average"
    )

# %%
# The calibration plot
# --------------------
# A calibrated model's intervals hold about the share of photos asked for:
# the points lie near the diagonal (conformal prediction guarantees at
# least that share on average over calibrations; one test set of 100 photos
# scatters around it).
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(5, 5))
ax.plot([0.4, 1], [0.4, 1], color="grey", linestyle="--", label="asked for")
for method, marker in (("score_bins", "o"), ("absolute", "s"), ("crop_spread", "^")):
    ax.plot(levels, coverage[method], marker=marker, label=method)
ax.set_xlabel("confidence asked for")
ax.set_ylabel("share of test photos inside their interval")
ax.set_xlim(0.4, 1)
ax.set_ylim(0.4, 1)
ax.legend()
ax.set_title("Calibration of the intervals")
plt.show()

# %%
# Predictions with their intervals
# --------------------------------
# With the default method, each third of the predicted scores has its own
# width: the low predictions, where the errors are largest, the widest.
model.calibrate(X_train, y_train, cv=5)
bounds = model.predict_interval(X_test, 0.9)
predicted = bounds.mean(axis=1)
order = np.argsort(y_test)
fig, ax = plt.subplots(figsize=(7, 4))
ax.errorbar(
    np.arange(len(order)),
    predicted[order],
    yerr=(predicted[order] - bounds[order, 0], bounds[order, 1] - predicted[order]),
    fmt="o",
    markersize=3,
    alpha=0.6,
    label="prediction and 90% interval",
)
ax.plot(np.arange(len(order)), np.asarray(y_test)[order], "k.", label="MOS")
ax.set_xlabel("test photos, by MOS")
ax.set_ylabel("score")
ax.legend()
plt.show()
