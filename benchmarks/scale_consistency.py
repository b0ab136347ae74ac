"""Does a photo's score change when it is enlarged or shrunk? Scale consistency.

A photo enlarged 2x looks the same on a screen (the screen shrinks it
back), so a score that tracks what people see should not change with the
file's pixel count. This benchmark takes the first ``--photos`` clive-dev
photos, resizes each by every factor of ``--factors`` (PIL Lanczos;
factors below 1 shrink), writes every version as a temporary JPEG of quality
95 and scores the files with the shipped model (``load_pretrained``). Files,
not arrays: users score files, so the real reading path (decoding, and the
reduced-size JPEG decoding of a viewing scale) is what is measured. The
reference, ``1x``, is the photo itself written the same way, so that JPEG
re-encoding is the same on both sides of each comparison; the ``file`` row
(the clive-dev file itself, a PNG, against ``1x``) shows how far the scores
move from re-encoding alone, the floor of the figures.

Printed per version, with ``1x`` as the reference:

- ``med |d|``: median over photos of |score - score at 1x|, in MOS points;
- ``med d``: median of score - score at 1x (its sign: up or down);
- ``rho 1x``: Spearman rank correlation between the 1x scores and these;
- ``SROCC``: Spearman correlation of these scores with the photos' MOS
  (on a few dozen photos: a rough figure, +- 0.1; and the shipped model was
  trained on all of clive-dev, so at 1x it is a fit to training photos, not
  a held-out figure: read how it falls with the factor, not its level);
- ``s/photo``: scoring time per photo (the files' decoding included; on a
  shared machine, as noisy as its load).

A factor below 1 also gives ``F->1x``: the shrunk photo enlarged back to its
original size (Lanczos), which says whether bringing photos smaller than the
training scale up to it would restore their scores.

Run from the repository root (``--viewing-scale``: ``learned``, ``native``
or a shorter side in pixels, set on the loaded model with
``model.featurizer_.set_params(viewing_scale=V)``; left out, the model as
loaded)::

    python benchmarks/scale_consistency.py --photos 40 --factors 2,4
    python benchmarks/scale_consistency.py --photos 40 --factors 0.5,2,4 \\
        --viewing-scale learned

Each run appends one JSON line (configuration, figures per version, date,
git commit, machine) to ``benchmarks/results/scale_consistency.jsonl``.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from protocol import append_jsonl, load_clive_dev, provenance
from scipy.stats import spearmanr

from skdeepbiq import load_pretrained

RESULTS = Path(__file__).resolve().parent / "results" / "scale_consistency.jsonl"
NO_PARAMETER = "native (before the parameter existed)"
JPEG_QUALITY = 95


def viewing_scale_value(text: str):
    """``--viewing-scale`` as ``set_params`` takes it: an int when numeric."""
    return int(text) if text.isdigit() else text


def factor_label(factor: float) -> str:
    return f"{factor:g}x"


def write_versions(paths, factors, folder: Path) -> dict[str, list[str]]:
    """Every version of every photo as a JPEG: version label -> file paths."""
    versions: dict[str, list[str]] = {"file": [str(path) for path in paths]}
    for number, path in enumerate(paths):
        print(f"\rwriting versions of photo {number + 1}/{len(paths)}", end="",
              file=sys.stderr)  # fmt: skip
        photo = Image.open(path).convert("RGB")
        width, height = photo.size
        images = {"1x": photo}
        for factor in factors:
            size = (max(1, round(width * factor)), max(1, round(height * factor)))
            resized = photo.resize(size, Image.Resampling.LANCZOS)
            images[factor_label(factor)] = resized
            if factor < 1:
                back = resized.resize((width, height), Image.Resampling.LANCZOS)
                images[f"{factor_label(factor)}->1x"] = back
        for label, image in images.items():
            (folder / label).mkdir(exist_ok=True)
            target = folder / label / f"{number:04d}.jpg"
            image.save(target, "JPEG", quality=JPEG_QUALITY)
            versions.setdefault(label, []).append(str(target))
    print(file=sys.stderr)
    return versions


def figures(scores: np.ndarray, reference: np.ndarray, mos: np.ndarray) -> dict:
    difference = scores - reference
    return {
        "median_abs_diff": round(float(np.median(np.abs(difference))), 2),
        "median_diff": round(float(np.median(difference)), 2),
        "spearman_vs_1x": round(float(spearmanr(reference, scores).statistic), 4),
        "srocc_vs_mos": round(float(spearmanr(mos, scores).statistic), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=60, help="first N clive-dev")
    parser.add_argument(
        "--factors",
        default="2,4",
        help="comma-separated resize factors; below 1 shrinks (default: %(default)s)",
    )
    parser.add_argument(
        "--viewing-scale",
        default=None,
        help="learned, native or a shorter side in pixels (default: as loaded)",
    )
    parser.add_argument("--data", default=None, help="clive-dev folder")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default=str(RESULTS), help="JSON lines file")
    args = parser.parse_args()
    factors = [float(text) for text in args.factors.split(",") if text.strip()]
    if any(factor <= 0 or factor == 1 for factor in factors):
        parser.error("--factors: positive numbers other than 1")

    dataset = load_clive_dev(args.data)
    paths = list(dataset.paths[: args.photos])
    mos = np.asarray(dataset.y[: args.photos], dtype=float)
    model = load_pretrained(device=args.device)
    if args.viewing_scale is not None:
        model.featurizer_.set_params(
            viewing_scale=viewing_scale_value(args.viewing_scale)
        )
    viewing_scale = model.featurizer_.get_params().get("viewing_scale", NO_PARAMETER)
    print(f"{len(paths)} clive-dev photos, factors {factors}, viewing scale "
          f"{viewing_scale!r}, device {args.device}", file=sys.stderr)  # fmt: skip

    model.predict(paths[:1])  # warm-up: weights, threads, allocator
    results = {}
    with tempfile.TemporaryDirectory(prefix="skdeepbiq-scale-") as folder:
        versions = write_versions(paths, factors, Path(folder))
        scores = {}
        for label, files in versions.items():
            size = Image.open(files[0]).size
            print(f"scoring {label} ({len(files)} photos, the first "
                  f"{size[0]}x{size[1]})", file=sys.stderr)  # fmt: skip
            start = time.perf_counter()
            scores[label] = np.asarray(model.predict(files), dtype=float)
            seconds = (time.perf_counter() - start) / len(files)
            results[label] = {
                "first_size": f"{size[0]}x{size[1]}",
                "s_per_photo": round(seconds, 3),
            }
    for label, row in results.items():
        row.update(figures(scores[label], scores["1x"], mos))
        row["scores"] = [round(float(score), 2) for score in scores[label]]

    print(f"\n{len(paths)} clive-dev photos, viewing scale {viewing_scale!r}; "
          "versions against 1x (JPEG q95 at the photo's own size)")  # fmt: skip
    print(f"{'version':>9} {'size':>10} {'med |d|':>8} {'med d':>7} "
          f"{'rho 1x':>7} {'SROCC':>6} {'s/photo':>8}")  # fmt: skip
    for label, row in results.items():
        print(f"{label:>9} {row['first_size']:>10} {row['median_abs_diff']:8.2f} "
              f"{row['median_diff']:7.2f} {row['spearman_vs_1x']:7.3f} "
              f"{row['srocc_vs_mos']:6.3f} {row['s_per_photo']:8.2f}")  # fmt: skip

    record = {
        "benchmark": "scale_consistency",
        "config": {
            "photos": len(paths),
            "factors": factors,
            "viewing_scale": viewing_scale,
            "viewing_scale_argument": args.viewing_scale,
            "model": "load_pretrained()",
            "resample": "lanczos",
            "jpeg_quality": JPEG_QUALITY,
            "device": args.device,
        },
        "versions": results,
        "mos": [round(float(value), 3) for value in mos],
        **provenance(args.device),
    }
    append_jsonl(args.out, record)
    print(f"appended to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
