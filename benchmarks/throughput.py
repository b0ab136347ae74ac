"""Throughput of CNNCropFeaturizer against the network alone and a naive loop.

For each backbone, measured in one run on the same images:

1. **end to end**: ``CNNCropFeaturizer.transform(paths)``, crops per second
   (reading, decoding, cropping, normalising, copying and the network);
2. **network only**: the same network on ready-made tensors of the same
   dtype, already on the device, in passes of the same sizes as the
   pipeline's (on the CPU a pass holds one image's crops, so with 5 crops
   per image both run passes of 5; on CUDA, passes of ``batch_size``);
3. **naive**: what one writes by hand: per image, PIL open, torchvision
   transforms per crop, one model call per image;
4. **trunk**: end to end with ``compute="trunk"`` (the shared-trunk fast
   mode), where the backbone supports it.

Each measurement is repeated ``--repeats`` times, and within a round the
measurements alternate every ``--chunk`` images (end to end, network, naive
and trunk on 16 images, then on the next 16, ...), so that a machine whose
speed drifts affects all of them alike; the table gives medians over the
rounds, and the ratios are the medians of the per-round ratios. Prints a table, then one JSON line,
which is also appended to ``benchmarks/results/<--results>`` (default
``throughput.jsonl``) with the run's provenance (date, git commit, machine,
device).
Images: the first ``--images`` photos of clive-dev (or of ``--data``) when
present, each read again in turn when there are fewer, else synthetic 500x500
JPEGs. Weights are random (speed does not depend on their
values), so no download is needed.

Run::

    python benchmarks/throughput.py                       # CPU defaults
    python benchmarks/throughput.py --device cuda --batch-size 256 --n-crops 25 --images 400
"""

import argparse
import copy
import json
import math
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from protocol import CLIVE_DEV, append_result
from torchvision import transforms

from skdeepbiq import CNNCropFeaturizer

# The benchmark uses the public API only: what follows restates, from the
# featurizer's documentation, how its ``device="auto"``, ``batch_size="auto"``
# and ``precision="auto"`` resolve, and how ``transform`` groups crops into
# forward passes, so that the network alone runs the same passes.


def resolve_device(device: str) -> torch.device:
    """``device="auto"``: CUDA where there is one, else the CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def default_batch_size(device: torch.device) -> int:
    """``batch_size="auto"``: 256 on CUDA, 8 on the CPU."""
    return 256 if device.type == "cuda" else 8


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of ``precision`` at prediction (None: float32)."""
    if precision == "auto":
        return torch.float16 if device.type == "cuda" else None
    return {"float32": None, "float16": torch.float16, "bfloat16": torch.bfloat16}[
        precision
    ]


def copy_to(network: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """A copy of a fitted featurizer's ``network_`` on ``device``, for inference."""
    return copy.deepcopy(network).to(device).eval()


def image_paths(n_images: int, folder: str | None) -> tuple[list[str], str]:
    """Paths of the benchmark images and a description of them."""
    source = Path(folder) if folder else CLIVE_DEV / "images"
    if source.is_dir():
        paths = sorted(
            str(p)
            for p in source.iterdir()
            if p.suffix.lower() in {".jpg", ".png", ".bmp"}
        )
        if len(paths) >= n_images:
            return paths[:n_images], f"{n_images} images of {source}"
        if paths:  # fewer photos than asked for: each is read again
            repeated = (paths * -(-n_images // len(paths)))[:n_images]
            return (
                repeated,
                f"{n_images} images: the {len(paths)} of {source}, repeated",
            )
    target = Path(tempfile.mkdtemp(prefix="skdeepbiq-bench-"))
    rng = np.random.default_rng(0)
    paths = []
    for index in range(n_images):
        pixels = rng.integers(0, 256, (500, 500, 3), dtype=np.uint8)
        path = target / f"synthetic{index:05d}.jpg"
        Image.fromarray(pixels).save(path, quality=90)
        paths.append(str(path))
    return paths, f"{n_images} synthetic 500x500 JPEGs"


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def end_to_end(featurizer: CNNCropFeaturizer, paths: list[str], device) -> float:
    synchronize(device)
    start = time.perf_counter()
    featurizer.transform(paths)
    synchronize(device)
    return len(paths) * featurizer.n_crops_ / (time.perf_counter() - start)


def pass_sizes(featurizer, n_images: int, device) -> list[int]:
    """The sizes of the forward passes ``transform`` makes for ``n_images``
    images: on the CPU, each image's crops in near-equal passes of at most
    ``batch_size``; on CUDA, passes of exactly ``batch_size`` crops shared
    across images (the last may be smaller)."""
    batch_size, n_crops = featurizer.batch_size, featurizer.n_crops_
    if device.type == "cpu":
        n_passes = math.ceil(n_crops / batch_size)
        one_image = [len(part) for part in np.array_split(range(n_crops), n_passes)]
        return one_image * n_images
    total = n_images * n_crops
    return [min(batch_size, total - start) for start in range(0, total, batch_size)]


def network_only(featurizer, sizes: list[int], device, amp_dtype) -> float:
    """The network alone on ready-made tensors, already on the device, in
    passes of the same sizes as the pipeline's."""
    network = copy_to(featurizer.network_, device)
    size = featurizer.crop_size
    batches = {
        n: torch.randn(n, 3, size, size, device=device).contiguous(
            memory_format=torch.channels_last
        )
        for n in set(sizes)
    }
    with (
        torch.inference_mode(),
        torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None),
    ):
        for batch in batches.values():
            network(batch)  # warm-up
        synchronize(device)
        start = time.perf_counter()
        for n in sizes:
            network(batches[n]).float().cpu()
        synchronize(device)
    return sum(sizes) / (time.perf_counter() - start)


def naive(featurizer, paths: list[str], device, amp_dtype) -> float:
    """Per image: PIL, torchvision transforms per crop, one model call."""
    model = copy_to(featurizer.network_, device)
    crop = transforms.Compose(
        [
            transforms.RandomCrop(featurizer.crop_size, pad_if_needed=True),
            transforms.ToTensor(),
            transforms.Normalize(featurizer.mean_, featurizer.std_),
        ]
    )
    start = time.perf_counter()
    with (
        torch.inference_mode(),
        torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None),
    ):
        for path in paths:
            image = Image.open(path).convert("RGB")
            batch = torch.stack([crop(image) for _ in range(featurizer.n_crops_)])
            model(batch.to(device)).float().cpu().numpy()
    synchronize(device)
    return len(paths) * featurizer.n_crops_ / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbones", default="alexnet,mobilenet_v2,resnet50")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="auto")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="default: the featurizer's 'auto' (256 on CUDA, 8 on the CPU)",
    )
    parser.add_argument(
        "--n-crops", type=int, default=None, help="default: 25 on CUDA, 5 on the CPU"
    )
    parser.add_argument(
        "--images", type=int, default=None, help="default: 400 on CUDA, 96 on the CPU"
    )
    parser.add_argument(
        "--n-jobs",
        type=int,
        default=None,
        help="reading threads (default: the featurizer's, none on the CPU, 4 on CUDA)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="rounds (default 3)")
    parser.add_argument(
        "--chunk",
        type=int,
        default=None,
        help="images per alternation within a round (default: 16 on the CPU, "
        "all on CUDA)",
    )
    parser.add_argument(
        "--data", default=None, help="folder of images (default: clive-dev)"
    )
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument(
        "--results",
        default="throughput.jsonl",
        metavar="NAME",
        help="append the summary to benchmarks/results/NAME (an absolute path as "
        "it is)",
    )
    args = parser.parse_args()

    device = resolve_device(args.device)
    cuda = device.type == "cuda"
    batch_size = args.batch_size or default_batch_size(device)
    n_crops = args.n_crops or (25 if cuda else 5)
    n_jobs = args.n_jobs
    if args.chunk is None and not cuda:
        args.chunk = 16
    paths, described = image_paths(args.images or (400 if cuda else 96), args.data)
    amp_dtype = autocast_dtype(args.precision, device)
    name = torch.cuda.get_device_name(device) if cuda else platform.processor() or "CPU"
    print(
        f"device {device} ({name}), {described}, {n_crops} crops per image, "
        f"batch {batch_size}, precision {args.precision} ({amp_dtype or torch.float32}), "
        f"{torch.get_num_threads()} torch threads"
    )
    results = []
    header = f"{'backbone':<14}{'end-to-end':>12}{'network':>10}{'naive':>9}{'trunk':>9}{'e2e/net':>9}{'e2e/naive':>10}"
    print(header + "   (crops/s)")
    for backbone in args.backbones.split(","):
        params = dict(
            backbone=backbone, weights=None, n_crops=n_crops, batch_size=batch_size,
            device=args.device, precision=args.precision, n_jobs=n_jobs,
        )  # fmt: skip
        featurizer = CNNCropFeaturizer(**params).fit(paths)
        try:  # the shared-trunk mode, where the backbone has one
            fast = CNNCropFeaturizer(**params, compute="trunk").fit(paths)
        except ValueError:
            fast = None
        warm_up = paths[: max(2, len(paths) // 10)]
        for model in filter(None, [featurizer, fast]):
            model.transform(warm_up)
        chunk = args.chunk or len(paths)
        chunks = [paths[start : start + chunk] for start in range(0, len(paths), chunk)]
        rounds = []
        for _ in range(args.repeats):
            seconds = dict.fromkeys(
                ["end_to_end", "network_only", "naive", "trunk"], 0.0
            )
            for part in chunks:  # the measurements alternate chunk by chunk
                n = len(part) * n_crops
                sizes = pass_sizes(featurizer, len(part), device)
                seconds["end_to_end"] += n / end_to_end(featurizer, part, device)
                seconds["network_only"] += n / network_only(
                    featurizer, sizes, device, amp_dtype
                )
                if not args.skip_naive:
                    seconds["naive"] += n / naive(featurizer, part, device, amp_dtype)
                if fast is not None:
                    seconds["trunk"] += n / end_to_end(fast, part, device)
            total = len(paths) * n_crops
            one = {key: total / value for key, value in seconds.items() if value}
            one["end_to_end_over_network"] = one["end_to_end"] / one["network_only"]
            if "naive" in one:
                one["end_to_end_over_naive"] = one["end_to_end"] / one["naive"]
            rounds.append(one)
        row = {"backbone": backbone}
        for key in [
            "end_to_end", "network_only", "naive", "trunk",
            "end_to_end_over_network", "end_to_end_over_naive",
        ]:  # fmt: skip
            values = [one[key] for one in rounds if key in one]
            row[key] = float(np.median(values)) if values else None
        row["rounds"] = rounds
        results.append(row)

        def fmt(value, width, digits=1):
            return f"{'-':>{width}}" if value is None else f"{value:>{width}.{digits}f}"

        print(
            f"{backbone:<14}{fmt(row['end_to_end'], 12)}{fmt(row['network_only'], 10)}"
            f"{fmt(row['naive'], 9)}{fmt(row['trunk'], 9)}"
            f"{fmt(row['end_to_end_over_network'], 9, 2)}{fmt(row['end_to_end_over_naive'], 10, 2)}",
            flush=True,
        )
    summary = {
        "device": str(device),
        "device_name": name,
        "images": described,
        "n_crops": n_crops,
        "batch_size": batch_size,
        "repeats": args.repeats,
        "chunk": args.chunk,
        "torch_threads": torch.get_num_threads(),
        "precision": str(amp_dtype or torch.float32),
        "results": results,
    }
    print(json.dumps(summary))
    line = {"benchmark": "throughput", **summary}
    append_result(args.results, line, device=str(device))


if __name__ == "__main__":
    main()
