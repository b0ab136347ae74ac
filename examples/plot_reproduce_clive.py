"""
=============================================
Reproducing the paper's CLIVE table, in small
=============================================

:func:`skdeepbiq.reproduce.reproduce` (the ``skdeepbiq reproduce`` command)
runs the experiments of Bianco et al. (2018) on a dataset under the paper's
protocol and writes a report: ``report.md`` with the paper's figures beside
ours, ``report.json`` and PNG plots.

- Exp I: one central crop of the image resized to 256 px.
- Exp II: random crops at the original scale, fused by feature pooling,
  concatenation and prediction pooling, for several numbers of crops; the
  number reported is chosen by two-sample t-tests over the splits, as in
  the paper.
- Exp III: the network fine-tuned on the training images of each split with
  the paper's recipe, ``FineTuning(objective="classes")`` (five MOS classes,
  crops weighted against the classes' imbalance);
  ``regression_fine_tuning=True`` adds rows tuned with skdeepbiq's own
  regression objective, labelled as such. It tunes the network once per
  split (a GPU job; left out here).

On CLIVE the protocol is 10 random 80/20 splits of the images and medians
over the splits. The full run on clive-dev's 812 photos takes about 10
minutes on a 2-core CPU for Exp I and II (the CNN runs once per image and
crop setting; features are cached), and resumes where it stopped when
interrupted::

    skdeepbiq reproduce ../shared/data/clive-dev -o report --experiments I II

This example runs Exp I and II on 100 photos of clive-dev with up to 5 crops
(synthetic images when clive-dev is absent), so its figures are far noisier
than the paper's.
"""

# %%
# A subset of clive-dev
# ---------------------
# ``reproduce`` takes a CSV manifest, a database folder, or a
# :class:`~sklearn.utils.Bunch` from :mod:`skdeepbiq.datasets` with image
# ``paths``; :func:`~skdeepbiq.datasets.load_dataset` recognises the first
# two by their files. A subset is a Bunch with every per-image entry indexed.
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np
from sklearn.utils import Bunch

from skdeepbiq.datasets import load_dataset, make_synthetic_iqa
from skdeepbiq.weights import list_cached_weights


def find_clive_dev():
    """clive-dev beside the repository this example runs in, or None."""
    for folder in (Path.cwd(), *Path.cwd().parents):
        if (folder / "pyproject.toml").is_file():
            clive_dev = folder.parent / "shared" / "data" / "clive-dev"
            return clive_dev if (clive_dev / "mos.csv").is_file() else None
    return None


def subset(data, chosen):
    """The images ``chosen`` of a dataset Bunch, with their scores."""
    return Bunch(
        **{
            key: value[chosen] if isinstance(value, np.ndarray) else value
            for key, value in data.items()
        }
    )


output = TemporaryDirectory(prefix="skdeepbiq-report-")
weights_cached = any(
    entry["backbone"] == "mobilenet_v2" and entry["weights"] == "IMAGENET1K_V1"
    for entry in list_cached_weights()
)
clive_dev = find_clive_dev()
if clive_dev is not None and weights_cached:
    data = load_dataset(clive_dev)  # a folder holding mos.csv: a manifest
    chosen = np.random.default_rng(3).choice(len(data.y), size=100, replace=False)
    dataset = subset(data, chosen)
    settings = {}
    print(f"Data: {len(chosen)} of the {len(data.y)} photos of clive-dev ({clive_dev})")
else:
    # Written to files: reproduce reads images from paths. No reference ids
    # (groups=None), so the CLIVE protocol of random 80/20 splits applies.
    dataset = make_synthetic_iqa(
        n_references=6,
        levels=4,
        noise=5.0,
        output_dir=Path(output.name) / "images",
        random_state=0,
    )
    dataset.groups = None
    weights = "IMAGENET1K_V1" if weights_cached else None
    settings = {"crop_size": 64, "weights": weights}
    print(f"Data: clive-dev not found; {len(dataset.y)} synthetic images, {weights=}")

# %%
# The run
# -------
from time import perf_counter

from skdeepbiq.reproduce import reproduce

start = perf_counter()
results = reproduce(
    dataset,
    output.name,
    experiments=("I", "II"),
    n_splits=10,
    crop_counts=(1, 3, 5),
    verbose=0,
    **settings,
)
print(f"Exp I and II, 10 splits: {perf_counter() - start:.0f} s")
print("Written:", ", ".join(Path(path).name for path in results.files))

# %%
# The table
# ---------
# ``results.rows`` is the report's table: our medians over the splits beside
# the paper's figures (CaffeNet on all 1,162 CLIVE photos). For each fusion,
# two rows: the number of crops chosen by the t-tests, and the best one.
import pandas as pd

no_paper = {"srocc": None, "lcc": None, "n_crops": None}  # databases it did not use
table = pd.DataFrame(
    [
        {
            "Exp": row["experiment"],
            "fusion": row["label"],
            "crops": f"{row['n_crops']} ({row['choice'] or 'fixed'})",
            "SROCC": row["ours"]["srocc"],
            "PLCC": row["ours"]["plcc"],
            "paper SROCC": (row["paper"] or no_paper)["srocc"],
            "paper PLCC": (row["paper"] or no_paper)["lcc"],
            "paper crops": (row["paper"] or no_paper)["n_crops"],
        }
        for row in results.rows
    ]
)
table.round(3)

# %%
# SROCC against the number of crops, and the predictions
# -------------------------------------------------------
# ``results.crop_study`` holds Exp II's median SROCC for each number of
# crops; ``results.records`` every split's test predictions.
import matplotlib.pyplot as plt

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
for fusion, study in results.crop_study.items():
    left.plot(study["crop_counts"], study["median_srocc"], marker="o", label=fusion)
center = results.configs["I"]["center"]["median"]["srocc"]
left.axhline(center, color="gray", linestyle="--", label="Exp I (central crop)")
left.set_xticks(results.settings["crop_counts"])
left.set_xlabel("random crops per image")
left.set_ylabel("median SROCC, 10 splits")
left.set_title("Exp II")
left.legend()

y = np.asarray(dataset.y)
best = max(results.crop_study["prediction-mean"]["crop_counts"])
for record in results.records["II"][f"prediction-mean-k{best}"]:
    right.scatter(y[record["test"]], record["predictions"], s=10, alpha=0.6)
right.set_xlabel("MOS")
right.set_ylabel("predicted score")
right.set_title(f"Prediction pooling, {best} crops: each split's test images")
fig.tight_layout()
plt.show()

# %%
# ``report.md`` holds the same table, the t-tests, the timing, and notes on
# what differs from the paper:
report = (Path(output.name) / "report.md").read_text()
notes = report.split("## Notes")[1].split("\n## ")[0]
print(notes.strip())
output.cleanup()
