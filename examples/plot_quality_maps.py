"""
===========================================
Where is a photo bad? Quality maps of crops
===========================================

DeepBIQ scores every crop of a photo and pools the crop scores into the
photo's score. Before pooling, the crop scores say *where* the model finds
the photo good or bad. The paper's reason for crops is exactly this: a
photo blurred all over and a photo with a sharp subject on a blurred
background (a shallow depth of field) may get similar global statistics, but
not similar crops.

- :meth:`~skdeepbiq.DeepBIQRegressor.crop_scores` returns each image's crop
  boxes (in the image's own pixels), each crop's score and the pooled score;
- :func:`~skdeepbiq.quality_maps` scores a dense grid of crops covering the
  whole image and spreads the scores back onto it: the map's value at a
  pixel is the mean score of the crops covering it;
- :func:`~skdeepbiq.plotting.plot_quality_map` draws a map over its photo
  (matplotlib: ``pip install skdeepbiq[plot]``), and
  ``skdeepbiq score PHOTOS --maps DIR`` writes one such PNG per photo.

The pretrained default model needs EfficientNet-Lite2's ImageNet weights
(``skdeepbiq weights fetch efficientnet_lite2``); without them this example fits a
small model with a random network on synthetic images instead, which shows
the same mechanics with far less meaningful maps. The photos of clive-dev
are used when the folder is present beside the repository.
"""

# %%
# The model
# ---------
from pathlib import Path

import numpy as np

from skdeepbiq import load_pretrained
from skdeepbiq.exceptions import WeightsNotFoundError


def find_repository():
    """The repository this example runs in (holding pyproject.toml), or None."""
    for folder in (Path.cwd(), *Path.cwd().parents):
        if (folder / "pyproject.toml").is_file():
            return folder
    return None


def fit_fallback_model():
    """A small model with a random network, fitted on synthetic images."""
    from skdeepbiq import CNNCropFeaturizer, DeepBIQRegressor
    from skdeepbiq.datasets import make_synthetic_iqa

    data = make_synthetic_iqa(
        n_references=6,
        levels=3,
        distortions=("blur", "noise"),
        image_size=(160, 160),
        random_state=0,
    )
    featurizer = CNNCropFeaturizer(weights=None, n_crops=8, crop_size=64)
    return DeepBIQRegressor(featurizer).fit(data.images, data.y)


try:
    model = load_pretrained()
    print("Model: the pretrained default (clive-efficientnet_lite2)")
except WeightsNotFoundError as error:
    print(f"Model: {error}\n-> a random network fitted on synthetic images")
    model = fit_fallback_model()

# The colours of every map below span the same scores: the training scores'
# mean +- 2 standard deviations (what ``skdeepbiq score --maps`` uses too).
limits = {
    "vmin": model.y_mean_ - 2 * model.y_scale_,
    "vmax": model.y_mean_ + 2 * model.y_scale_,
}

repository = find_repository()
samples = repository / "examples" / "images" if repository else None
if samples is not None and samples.is_dir():
    sample_paths = sorted(samples.glob("*.jpg"))
else:  # a copy of this script run elsewhere: graded synthetic damage
    from skdeepbiq.datasets import make_synthetic_iqa

    synthetic = make_synthetic_iqa(
        n_references=1,
        levels=2,
        distortions=("blur", "noise", "jpeg"),
        image_size=(320, 320),
        random_state=0,
    )
    sample_paths = list(synthetic.images)
clive_dev = repository.parent / "shared" / "data" / "clive-dev" if repository else None
if clive_dev is None or not (clive_dev / "mos.csv").is_file():
    clive_dev = None
print(f"{len(sample_paths)} sample images; clive-dev: {clive_dev}")


def name_of(image):
    return image.stem if isinstance(image, Path) else "synthetic"


# %%
# The model's own crops
# ---------------------
# :meth:`~skdeepbiq.DeepBIQRegressor.crop_scores` gives, for each image, the
# ``(left, top, right, bottom)`` boxes of the crops the model scores (25
# random crops of 224 px for the default model), their scores, and the
# pooled score that :meth:`~skdeepbiq.DeepBIQRegressor.predict` returns.
# Only prediction pooling (DeepBIQ's default, ``fusion="prediction"``) scores
# crops; with feature pooling the regressor sees one vector per image and
# ``crop_scores`` says so.
#
# Here the first sample photo, and beside it its mirror image with strong
# noise: crops on the clean half score high, crops on the noisy half low,
# and crops across the middle in between.
import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle

from skdeepbiq._engine.images import load_image

clean = load_image(sample_paths[0], 0)
noise = np.random.default_rng(0).normal(0, 40, clean.shape)
noisy = np.clip(clean[:, ::-1] + noise, 0, 255).astype(np.uint8)
half_noisy = np.concatenate([clean, noisy], axis=1)
crops = model.crop_scores([half_noisy])[0]
print(
    f"boxes {crops.boxes.shape}, scores {crops.scores.shape}, score {crops.score:.1f}"
)

fig, ax = plt.subplots(figsize=(8, 4.6))
ax.imshow(half_noisy)
colours = plt.get_cmap("RdYlBu")
low, high = limits["vmin"], limits["vmax"]
for (left, top, right, bottom), score in zip(crops.boxes, crops.scores, strict=True):
    ax.add_patch(
        Rectangle(
            (left - 0.5, top - 0.5),
            right - left,
            bottom - top,
            fill=False,
            linewidth=1.5,
            edgecolor=colours((score - low) / (high - low)),
        )
    )
ax.set_title(
    f"{len(crops.scores)} crops coloured by their score (red low, blue high); "
    f"pooled score {crops.score:.1f}"
)
ax.set_axis_off()
plt.show()

# %%
# Quality maps of the sample photos
# ---------------------------------
# Random crops overlap unevenly and leave parts of an image out, so
# :func:`~skdeepbiq.quality_maps` scores a regular grid of crops instead,
# neighbouring crops at most ``stride`` pixels apart (half a crop by
# default; a quarter here, for finer maps: a 320x320 photo then takes 9 crops
# of 224 px, a 500x500 one 36). The model is not changed: a copy of its
# fitted featurizer cuts the grid.
from skdeepbiq import quality_maps
from skdeepbiq.plotting import plot_quality_map

stride = 56
sample_maps = quality_maps(model, sample_paths, stride=stride)

fig, axes = plt.subplots(2, 4, figsize=(14, 6.6))
for ax, image, result in zip(axes.flat, sample_paths, sample_maps, strict=False):
    plot_quality_map(image, result, ax=ax, title=name_of(image), fontsize=8, **limits)
for ax in axes.flat[len(sample_paths) :]:
    ax.set_axis_off()
fig.tight_layout()
plt.show()

# %%
# The damage is spread evenly over these photos, and so is each map's drop:
# what varies within a map follows the content, not the damage.
#
# Sharp subject, blurred background
# ---------------------------------
# The case the paper's crops are for. From one sharp photo, two blurred
# versions: the background blurred around a sharp subject (the flower, as a
# lens with a shallow depth of field would), and the whole photo blurred.
from PIL import Image, ImageFilter

if clive_dev is not None:  # the full photo the sample images are cut from
    photo = Image.open(clive_dev / "images" / "844.JPG").convert("RGB")
    subject, radius = (350, 315), 110
else:
    photo = Image.fromarray(load_image(sample_paths[0], 0))
    subject, radius = (254, 219), 90


def blur_around(photo, center, radius, blur=6):
    """The photo blurred outside a disk (soft edge), and blurred everywhere."""
    height, width = photo.height, photo.width
    rows, cols = np.mgrid[0:height, 0:width]
    distance = np.hypot(cols - center[0], rows - center[1])
    sharp = np.clip((radius + 20 - distance) / 40, 0, 1)[..., None]
    blurred = np.asarray(photo.filter(ImageFilter.GaussianBlur(blur)), dtype=float)
    shallow = sharp * np.asarray(photo) + (1 - sharp) * blurred
    return shallow.round().astype(np.uint8), blurred.round().astype(np.uint8)


shallow, everywhere = blur_around(photo, subject, radius)
versions = {
    "sharp": np.asarray(photo),
    "blurred background": shallow,
    "blurred all over": everywhere,
}
version_maps = quality_maps(model, list(versions.values()), stride=stride)

rows, cols = np.mgrid[0 : photo.height, 0 : photo.width]
on_subject = np.hypot(cols - subject[0], rows - subject[1]) < radius - 10
fig, axes = plt.subplots(1, 3, figsize=(14, 4.6))
for ax, (name, image), result in zip(axes, versions.items(), version_maps, strict=True):
    plot_quality_map(image, result, ax=ax, title=name, **limits)
    print(
        f"{name:18s} score {result.score:5.1f}   map on the subject "
        f"{result.map[on_subject].mean():5.1f}, elsewhere "
        f"{result.map[~on_subject].mean():5.1f}"
    )
fig.tight_layout()
plt.show()

# %%
# The pooled score puts both blurred versions well below the sharp photo,
# but the maps tell them apart: the background-blurred photo keeps its high
# scores on the subject, the photo blurred all over is low everywhere. A
# photographer who blurred the background on purpose reads this as "the
# subject is sharp"; a low pooled score alone would not say so.
#
# Real photos of clive-dev
# ------------------------
# Three photos with their human scores (MOS): a sharp lip balm on a blurred
# background (MOS 72), a butterfly on a leaf with a soft background (MOS 65)
# and a cat photographed with camera shake (MOS 18).
if clive_dev is not None:
    from skdeepbiq.datasets import load_manifest

    data = load_manifest(clive_dev / "mos.csv")
    mos = dict(zip((Path(path).name for path in data.paths), data.y, strict=True))
    chosen = ["149.png", "854.JPG", "707.JPG"]
    paths = [clive_dev / "images" / name for name in chosen]
    real_maps = quality_maps(model, paths, stride=stride)
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.6))
    for ax, path, result in zip(axes, paths, real_maps, strict=True):
        title = f"{path.name} (MOS {mos[path.name]:.0f})"
        plot_quality_map(path, result, ax=ax, title=title, **limits)
        print(
            f"{path.name}: MOS {mos[path.name]:4.1f}, pooled score "
            f"{result.score:4.1f}, map from {result.map.min():4.1f} to "
            f"{result.map.max():4.1f}"
        )
    fig.tight_layout()
    plt.show()
else:
    print("clive-dev not found: no real photos here")

# %%
# The lip balm's map is highest on the balm and lowest on the blurred room
# on the left: the map finds the sharp subject. Its pooled score, the mean
# over the whole photo, is still far below the people's MOS: they judged the
# photo by its subject, while the mean weighs every crop alike. The shaken
# cat is low everywhere.
#
# The same from the command line
# ------------------------------
# ``skdeepbiq score PHOTOS --maps DIR`` prints the scores as usual and writes
# ``DIR/<photo's file name>.png`` for each photo (``photo.jpg`` gives
# ``photo.jpg.png``; photos from several folders keep their path below the
# folder they share, ``a/photo.jpg`` gives ``DIR/a/photo.jpg.png``): the
# photo, its map (default stride: half a crop), a colour bar and the score,
# in a file of the photo's aspect ratio::
#
#     skdeepbiq score examples/images --maps maps/
