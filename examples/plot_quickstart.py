"""
=========================================
Quickstart: predict the quality of photos
=========================================

Train :class:`~skdeepbiq.DeepBIQRegressor` on photos and their mean opinion
scores (MOS), predict the scores of photos it has not seen, and compare the
predictions with the MOS.

The photos are 100 of clive-dev (the LIVE In the Wild Image Quality
Challenge Database) when the folder ``../shared/data/clive-dev`` sits beside
this repository, and synthetic images
(:func:`~skdeepbiq.datasets.make_synthetic_iqa`) otherwise. To run in about
a minute on a CPU, the model cuts 5 crops per image instead of its default
25; everything else is the default model.
"""

# %%
# The data
# --------
# A dataset is a list of images (paths, PIL images or arrays) and one score
# per image. :func:`~skdeepbiq.datasets.load_manifest` reads a CSV file with
# an ``image`` and a ``mos`` column, such as clive-dev's ``mos.csv``.
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


# The ImageNet weights of MobileNetV2 are needed for real photos; fetch them
# once with ``skdeepbiq weights fetch mobilenet_v2``.
weights_cached = any(
    entry["backbone"] == "mobilenet_v2" and entry["weights"] == "IMAGENET1K_V1"
    for entry in list_cached_weights()
)
clive_dev = find_clive_dev()
if clive_dev is not None and weights_cached:
    data = load_manifest(clive_dev / "mos.csv")
    chosen = np.random.default_rng(0).choice(len(data.y), size=100, replace=False)
    X, y = data.paths[chosen], data.y[chosen]
    featurizer_params = {"n_crops": 5}
    print(f"Data: {len(X)} of the {len(data.y)} photos of clive-dev ({clive_dev})")
else:
    data = make_synthetic_iqa(n_references=6, levels=4, random_state=0)
    X, y = data.images, data.y
    weights = "IMAGENET1K_V1" if weights_cached else None
    featurizer_params = {"n_crops": 5, "crop_size": 64, "weights": weights}
    print(f"Data: clive-dev not found; {len(X)} synthetic images, weights={weights}")

# %%
# Fit and predict
# ---------------
# :class:`~skdeepbiq.CNNCropFeaturizer` cuts random crops from each image at
# its original scale and describes each with a CNN (MobileNetV2 with its
# ImageNet weights by default); :class:`~skdeepbiq.DeepBIQRegressor` trains a
# linear SVR on the crops, each labelled with its image's score, and
# predicts the mean of an image's crop scores. ``memory`` keeps the features
# of each image on disk, so the CNN runs once per image in this example.
from tempfile import TemporaryDirectory
from time import perf_counter

from sklearn.model_selection import train_test_split

from skdeepbiq import CNNCropFeaturizer, DeepBIQRegressor
from skdeepbiq.metrics import plcc, rmse, srocc

cache = TemporaryDirectory(prefix="skdeepbiq-quickstart-")
model = DeepBIQRegressor(CNNCropFeaturizer(memory=cache.name, **featurizer_params))
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, random_state=0
)
start = perf_counter()
model.fit(X_train, y_train)
predicted = model.predict(X_test)
seconds = perf_counter() - start
print(f"Fit on {len(X_train)} images, predicted {len(X_test)}: {seconds:.0f} s")
print(f"Test SROCC {srocc(y_test, predicted):.3f}")
print(f"Test PLCC  {plcc(y_test, predicted):.3f}")
print(f"Test RMSE  {rmse(y_test, predicted):.1f} (MOS points)")

# %%
# A fitted model scores any image; ``predict_crops`` gives the score of each
# of its crops, whose spread shows how much the quality varies across the
# image.
crop_scores = model.predict_crops(X_test[:3])
print(np.round(crop_scores, 1))

# %%
# Every image predicted once
# --------------------------
# 25 test images say little. Cross-validation predicts every image from a
# model that did not see it; the features come from the cache, so only the
# SVR is refitted.
import matplotlib.pyplot as plt
from sklearn.model_selection import KFold, cross_val_predict

predicted = cross_val_predict(model, X, y, cv=KFold(5, shuffle=True, random_state=0))
print(f"Cross-validated SROCC {srocc(y, predicted):.3f}, PLCC {plcc(y, predicted):.3f}")

fig, ax = plt.subplots(figsize=(5, 5))
ax.scatter(y, predicted, s=18, alpha=0.7)
low, high = min(y.min(), predicted.min()), max(y.max(), predicted.max())
ax.plot(
    [low, high], [low, high], color="gray", linestyle="--", label="prediction = MOS"
)
ax.set_xlabel("MOS")
ax.set_ylabel("predicted score (5-fold cross-validation)")
ax.set_title(f"SROCC {srocc(y, predicted):.2f}, PLCC {plcc(y, predicted):.2f}")
ax.legend(loc="upper left")
fig.tight_layout()
plt.show()

# %%
# The predictions are pulled towards the mean score: a linear model trained on
# 80 images of so varied content predicts the order of the images (SROCC)
# better than their exact scores. The full model (25 crops, 812 photos)
# reaches a median SROCC of 0.76 over the paper's 10 random 80/20 splits of
# clive-dev; :func:`~skdeepbiq.load_pretrained` loads it ready to use (see
# :ref:`sphx_glr_auto_examples_plot_score_folder.py`).
cache.cleanup()
