"""Peak memory of featurizing many images: the output plus a bounded working set.

Writes ``--images`` synthetic JPEGs (``--size`` pixels square; a few distinct
contents, copied, so writing them is quick), featurizes them with
``CNNCropFeaturizer`` (MobileNetV2, random weights: memory does not depend on
their values) and prints the peak resident set size (RSS) next to the size
of the output array. Images are decoded and batched as a stream, so the
working set stays bounded whatever the number of images.

Run::

    python benchmarks/memory.py --images 20000 --n-crops 1

Small images and crops (96 px images, 64 px crops by default) keep the run
short on a CPU; the working set does not depend on the number of images.
The summary (the JSON line printed) is also appended to
``benchmarks/results/<--results>`` (default ``memory.jsonl``) with the
image and crop sizes and the run's provenance (date, git commit, machine,
device).
"""

import argparse
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from protocol import append_result

from skdeepbiq import CNNCropFeaturizer


def rss_mib() -> float:
    """Current resident set size in MiB (Linux)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def write_images(folder: Path, n_images: int, size: int) -> list[str]:
    rng = np.random.default_rng(0)
    templates = []
    for index in range(16):
        path = folder / f"template{index:02d}.jpg"
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(
            path
        )
        templates.append(path)
    paths = []
    for index in range(n_images):
        path = folder / f"image{index:06d}.jpg"
        shutil.copyfile(templates[index % len(templates)], path)
        paths.append(str(path))
    return paths


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=20000)
    parser.add_argument("--size", type=int, default=96, help="image side in pixels")
    parser.add_argument("--n-crops", type=int, default=1)
    parser.add_argument("--crop-size", type=int, default=64)
    parser.add_argument(
        "--batch-size",
        type=lambda text: text if text == "auto" else int(text),
        default="auto",
    )
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--results",
        default="memory.jsonl",
        metavar="NAME",
        help="append the summary to benchmarks/results/NAME (an absolute path as "
        "it is)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="skdeepbiq-memory-") as folder:
        paths = write_images(Path(folder), args.images, args.size)
        featurizer = CNNCropFeaturizer(
            weights=None, n_crops=args.n_crops, crop_size=args.crop_size,
            batch_size=args.batch_size,
            device=args.device, verbose=1,
        ).fit(paths)  # fmt: skip
        featurizer.transform(paths[:8])  # warm-up: allocator, threads
        baseline = rss_mib()
        start = time.perf_counter()
        features = featurizer.transform(paths)
        elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    output = features.nbytes / 2**20
    summary = {
        "images": args.images,
        "n_crops": args.n_crops,
        "output_mib": round(output, 1),
        "rss_before_transform_mib": round(baseline, 1),
        "peak_rss_mib": round(peak, 1),
        "peak_minus_baseline_minus_output_mib": round(peak - baseline - output, 1),
        "seconds": round(elapsed, 1),
    }
    print(
        f"{args.images} images x {args.n_crops} crops of {args.crop_size} px: output {output:.1f} MiB, "
        f"RSS before transform {baseline:.1f} MiB, peak RSS {peak:.1f} MiB "
        f"({elapsed:.0f} s)"
    )
    print(json.dumps(summary))
    line = {"benchmark": "memory", **summary, "size": args.size}
    line |= {"crop_size": args.crop_size, "batch_size": args.batch_size}
    append_result(args.results, line, device=args.device)


if __name__ == "__main__":
    main()
