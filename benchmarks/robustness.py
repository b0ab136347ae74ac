"""Do a model's scores fall as synthetic damage grows? Blur, noise and JPEG ladders.

clive-dev's photos carry authentic distortions, so its 80/20 splits say
little about damage that is rare among them, such as strong Gaussian noise:
a recipe can gain there and grow blind to it. This benchmark takes the first
``--photos`` clive-dev photos, damages each at three strengths per kind
(Gaussian blur of radius 1.5 / 4 / 8 px, Gaussian noise of standard
deviation 15 / 40 / 70 per channel, JPEG quality 30 / 12 / 4; the
undamaged photo is step 0, as JPEG of quality 95), scores all of them with
each model file given, and prints per model and kind:

- ``drop``: the median over photos of (score undamaged - score at the
  strongest step), in MOS points;
- ``monotone``: the share of photos whose four scores fall at every step.

The photos are clive-dev's, which the shipped model (and any model fitted
on all of clive-dev) was trained on: the ladders are a sanity check that
scores fall with damage, not a measure of how a model generalises to
photos it never saw; the table printed says so.

Each run appends one JSON line to ``benchmarks/results/<--results>``
(default ``robustness.jsonl``): the ladders, the number of photos and, per
model, its drop and monotone share per kind and its scoring time, with the
run's provenance (date, git commit, machine, device).

Run from the repository root, with the shipped model and any other model
file (``save_model``; e.g. one fitted with ``skdeepbiq fit``)::

    python benchmarks/robustness.py skdeepbiq/data/clive-efficientnet_lite2.npz \\
        other-model.npz --photos 40
"""

import argparse
import io
import time

import numpy as np
from PIL import Image, ImageFilter
from protocol import append_result, load_clive_dev

from skdeepbiq import load_model

LADDERS = {
    "blur": (1.5, 4.0, 8.0),
    "noise": (15.0, 40.0, 70.0),
    "jpeg": (30, 12, 4),
}


def damaged(photo: Image.Image, kind: str, strength, seed: int) -> np.ndarray:
    """``photo`` with one damage at one strength, saved and read back as JPEG."""
    quality = 95
    if kind == "blur":
        photo = photo.filter(ImageFilter.GaussianBlur(strength))
    elif kind == "noise":
        pixels = np.asarray(photo, dtype=np.float64)
        noise = np.random.default_rng(seed).normal(0.0, strength, pixels.shape)
        photo = Image.fromarray(
            np.clip(np.round(pixels + noise), 0, 255).astype(np.uint8)
        )
    else:
        quality = strength
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=quality)
    return np.asarray(Image.open(buffer).convert("RGB"))


def ladders(paths) -> tuple[list, list]:
    """The images to score and, per image, its (photo, kind, step)."""
    images, index = [], []
    for number, path in enumerate(paths):
        photo = Image.open(path).convert("RGB")
        images.append(damaged(photo, "jpeg", 95, seed=number))
        index.append((number, None, 0))
        for kind, strengths in LADDERS.items():
            for step, strength in enumerate(strengths, start=1):
                images.append(damaged(photo, kind, strength, seed=number))
                index.append((number, kind, step))
    return images, index


def summary(scores: np.ndarray, index: list, n_photos: int) -> dict:
    """Median drop and share of monotone ladders, per kind of damage."""
    table = {kind: np.full((n_photos, 4), np.nan) for kind in LADDERS}
    for score, (number, kind, step) in zip(scores, index, strict=True):
        for name in LADDERS if kind is None else [kind]:
            table[name][number, step] = score
    return {
        kind: {
            "drop": float(np.median(rows[:, 0] - rows[:, -1])),
            "monotone": float(np.mean(np.all(np.diff(rows, axis=1) < 0, axis=1))),
        }
        for kind, rows in table.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", help="model files (save_model)")
    parser.add_argument("--photos", type=int, default=40)
    parser.add_argument("--data", default=None, help="clive-dev folder")
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--results",
        default="robustness.jsonl",
        metavar="NAME",
        help="append the run to benchmarks/results/NAME (an absolute path as it is)",
    )
    args = parser.parse_args()

    paths = load_clive_dev(args.data).paths[: args.photos]
    images, index = ladders(paths)
    print(
        f"{len(paths)} clive-dev photos, {len(images)} images; ladders {LADDERS} "
        "(a sanity check: models fitted on clive-dev were trained on these photos)"
    )
    header = " | ".join(f"{kind} drop, monotone" for kind in LADDERS)
    print(f"model | {header} | s")
    models = []
    for path in args.models:
        model = load_model(path, device=args.device)
        start = time.perf_counter()
        scores = model.predict(images)
        elapsed = time.perf_counter() - start
        result = summary(scores, index, len(paths))
        cells = " | ".join(
            f"{row['drop']:5.1f}, {row['monotone']:4.0%}" for row in result.values()
        )
        print(f"{path} | {cells} | {elapsed:.0f}", flush=True)
        models.append({"model": str(path), "kinds": result, "seconds": elapsed})
    line = {"benchmark": "robustness", "photos": len(paths), "images": len(images)}
    line |= {"ladders": LADDERS, "models": models}
    append_result(args.results, line, device=args.device)


if __name__ == "__main__":
    main()
