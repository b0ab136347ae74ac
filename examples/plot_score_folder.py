"""
==================================================
Score a folder of photos with the pretrained model
==================================================

:func:`~skdeepbiq.load_pretrained` returns a fitted
:class:`~skdeepbiq.DeepBIQRegressor` that needs no training data: the default
model (EfficientNet-Lite2, fine-tuned; its stages' features of 10 random
224-px crops, a linear SVR, the mean of the crop scores) trained on the 812
photos of clive-dev. Its
scores are on CLIVE's MOS scale: 0 to 100, higher is better.

Here it scores ``examples/images``: one photograph and six damaged versions of
it (blur, noise and JPEG compression, each light and strong). The same
scores come from the command line::

    skdeepbiq score examples/images

The source photograph is one of the photos the model was trained on, so its
own score is no test of the model; the point is how the scores fall as the
damage grows. Without ``examples/images`` (a copy of this script run
elsewhere), synthetic images at graded blur, noise and JPEG levels are
scored instead.
"""

# %%
# The images
# ----------
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np

from skdeepbiq.datasets import make_synthetic_iqa


def find_repository():
    """The repository this example runs in (holding pyproject.toml), or None."""
    for folder in (Path.cwd(), *Path.cwd().parents):
        if (folder / "pyproject.toml").is_file():
            return folder
    return None


repository = find_repository()
folder = repository / "examples" / "images" if repository else None
if folder is not None and folder.is_dir():
    paths = sorted(folder.glob("*.jpg"))
    # File names are "<n>-<damage>[-<strength>].jpg", e.g. "2-blur-strong.jpg".
    names = [path.stem.split("-") for path in paths]
    damage = [name[1] for name in names]
    strength = [{"light": 1, "strong": 2}.get(name[-1], 0) for name in names]
    print(f"Images: {len(paths)} files of {folder}")
else:
    synthetic_folder = TemporaryDirectory(prefix="skdeepbiq-images-")
    synthetic = make_synthetic_iqa(
        n_references=1,
        levels=2,
        distortions=("blur", "noise", "jpeg"),
        image_size=(320, 320),
        output_dir=synthetic_folder.name,
        random_state=0,
    )
    paths = [Path(path) for path in synthetic.paths]
    damage = [
        "original" if name == "reference" else str(name)
        for name in synthetic.distortion_type
    ]
    strength = synthetic.distortion_level.tolist()
    print(f"Images: examples/images not found; {len(paths)} synthetic images")

# %%
# Scores
# ------
# ``predict`` takes paths, PIL images or arrays and returns one score per
# image. The ImageNet weights of EfficientNet-Lite2 come from torch's cache
# (``skdeepbiq weights fetch efficientnet_lite2`` puts them there once); the
# model file holds the tuned blocks, the SVR and the feature scaling.
# ``memory`` caches the features of each image, so the crop scores below reuse
# them.
from skdeepbiq import load_pretrained

cache = TemporaryDirectory(prefix="skdeepbiq-scores-")
model = load_pretrained(memory=cache.name)
scores = model.predict(paths)
for path, score in zip(paths, scores, strict=True):
    print(f"{path.name:22s} {score:5.1f}")

# %%
# The photos and their scores
# ---------------------------
import matplotlib.pyplot as plt
from PIL import Image

fig, axes = plt.subplots(1, len(paths), figsize=(2.0 * len(paths), 2.6))
for ax, path, score in zip(axes, paths, scores, strict=True):
    with Image.open(path) as image:
        ax.imshow(image)
    ax.set_title(f"{path.stem}\n{score:.1f}", fontsize=9)
    ax.set_axis_off()
fig.tight_layout()
plt.show()

# %%
# Scores against the strength of the damage
# -----------------------------------------
# Each image's score is the mean of its crop scores (10 random crops with the
# pretrained model);
# :meth:`~skdeepbiq.DeepBIQRegressor.predict_crops` returns them, and their
# spread (the bars: the lowest to the highest) shows how much the model's
# opinion varies over the image. (Percentiles would not do: with a skewed
# handful of crops the mean can fall outside the middle half.)
crop_scores = model.predict_crops(paths)
lower, upper = crop_scores.min(axis=1), crop_scores.max(axis=1)
original = damage.index("original")
fig, ax = plt.subplots(figsize=(6, 4))
for offset, kind in zip((-0.06, 0.0, 0.06), ("blur", "noise", "jpeg"), strict=True):
    chosen = [original] + sorted(
        (i for i, name in enumerate(damage) if name == kind), key=strength.__getitem__
    )
    ax.errorbar(
        np.array([strength[i] for i in chosen]) + offset,
        scores[chosen],
        yerr=[scores[chosen] - lower[chosen], upper[chosen] - scores[chosen]],
        marker="o",
        capsize=3,
        label=kind,
    )
ax.set_xticks([0, 1, 2], ["none", "light", "strong"])
ax.set_xlabel("damage")
ax.set_ylabel("predicted quality (0-100)")
ax.legend(title="damage")
fig.tight_layout()
plt.show()

# %%
# On ``examples/images`` every kind of damage lowers the score, and strong
# damage lowers it more than light damage. The model never saw these
# synthetic damages: it learnt from the authentic distortions of CLIVE's
# photos (motion blur, sensor noise, over- and under-exposure, compression).
# (The synthetic images of the fallback are drawings, not photos, and the
# model scores them less consistently.)
cache.cleanup()
