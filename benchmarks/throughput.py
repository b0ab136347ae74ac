"""Throughput of CNNCropFeaturizer against the network alone and a naive loop.

For each backbone, measured in one run on the same images:

1. **end to end**: ``CNNCropFeaturizer.transform(paths)``, crops per second
   (reading, decoding, cropping, normalising, copying and the network);
2. **network only**: the same network on ready-made tensors of the same batch
   size, dtype and device, already on the device;
3. **naive**: what one writes by hand: per image, PIL open, torchvision
   transforms per crop, one model call per image;
4. **trunk**: end to end with ``compute="trunk"`` (the shared-trunk fast
   mode), where the backbone supports it.

Prints a table, then one JSON line. Images: the first ``--images`` photos of
clive-dev when present, else synthetic 500x500 JPEGs. Weights are random
(speed does not depend on their values), so no download is needed.

Run::

    python benchmarks/throughput.py                       # CPU defaults
    python benchmarks/throughput.py --device cuda --batch-size 256 --n-crops 25 --images 400
"""

import argparse
import json
import math
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from _common import CLIVE_DEV
from PIL import Image
from torchvision import transforms

from skdeepbiq import CNNCropFeaturizer
from skdeepbiq._featurizer import autocast_dtype, resolve_device
from skdeepbiq._trunk import TRUNK_BACKBONES


def image_paths(n_images: int, folder: str | None) -> tuple[list[str], str]:
    """Paths of the benchmark images and a description of them."""
    source = Path(folder) if folder else CLIVE_DEV / "images"
    if source.is_dir():
        paths = sorted(
            str(p)
            for p in source.iterdir()
            if p.suffix.lower() in {".jpg", ".png", ".bmp"}
        )
        if paths:
            return paths[:n_images], f"{min(n_images, len(paths))} images of {source}"
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
    featurizer.transform(paths[: max(2, len(paths) // 10)])  # warm-up
    synchronize(device)
    start = time.perf_counter()
    featurizer.transform(paths)
    synchronize(device)
    return len(paths) * featurizer.n_crops_ / (time.perf_counter() - start)


def network_only(featurizer, n_crops_total: int, device, amp_dtype) -> float:
    network = featurizer._network_on(device)
    size = featurizer.crop_size
    batch = torch.randn(featurizer.batch_size, 3, size, size, device=device)
    batch = batch.contiguous(memory_format=torch.channels_last)
    n_batches = math.ceil(n_crops_total / featurizer.batch_size)
    with (
        torch.inference_mode(),
        torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None),
    ):
        network(batch)  # warm-up
        synchronize(device)
        start = time.perf_counter()
        for _ in range(n_batches):
            network(batch).float()
        synchronize(device)
    return n_batches * featurizer.batch_size / (time.perf_counter() - start)


def naive(featurizer, paths: list[str], device, amp_dtype) -> float:
    """Per image: PIL, torchvision transforms per crop, one model call."""
    model = featurizer._network_on(device)
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
        help="default: 256 on CUDA, 32 on the CPU",
    )
    parser.add_argument(
        "--n-crops", type=int, default=None, help="default: 25 on CUDA, 5 on the CPU"
    )
    parser.add_argument(
        "--images", type=int, default=None, help="default: 400 on CUDA, 24 on the CPU"
    )
    parser.add_argument(
        "--n-jobs", type=int, default=None, help="decoding threads (default 1; CUDA: 8)"
    )
    parser.add_argument(
        "--data", default=None, help="folder of images (default: clive-dev)"
    )
    parser.add_argument("--skip-naive", action="store_true")
    args = parser.parse_args()

    device = resolve_device(args.device)
    cuda = device.type == "cuda"
    batch_size = args.batch_size or (256 if cuda else 32)
    n_crops = args.n_crops or (25 if cuda else 5)
    n_jobs = args.n_jobs or (8 if cuda else 1)
    paths, described = image_paths(args.images or (400 if cuda else 24), args.data)
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
        row = {"backbone": backbone}
        row["end_to_end"] = end_to_end(featurizer, paths, device)
        row["network_only"] = network_only(
            featurizer, len(paths) * n_crops, device, amp_dtype
        )
        row["naive"] = (
            None if args.skip_naive else naive(featurizer, paths, device, amp_dtype)
        )
        row["trunk"] = None
        if backbone in TRUNK_BACKBONES:
            fast = CNNCropFeaturizer(**params, compute="trunk").fit(paths)
            row["trunk"] = end_to_end(fast, paths, device)
        row["end_to_end_over_network"] = row["end_to_end"] / row["network_only"]
        row["end_to_end_over_naive"] = row["naive"] and row["end_to_end"] / row["naive"]
        results.append(row)

        def fmt(value, width, digits=1):
            return f"{'-':>{width}}" if value is None else f"{value:>{width}.{digits}f}"

        print(
            f"{backbone:<14}{fmt(row['end_to_end'], 12)}{fmt(row['network_only'], 10)}"
            f"{fmt(row['naive'], 9)}{fmt(row['trunk'], 9)}"
            f"{fmt(row['end_to_end_over_network'], 9, 2)}{fmt(row['end_to_end_over_naive'], 10, 2)}",
            flush=True,
        )
    print(
        json.dumps(
            {
                "device": str(device),
                "device_name": name,
                "images": described,
                "n_crops": n_crops,
                "batch_size": batch_size,
                "precision": str(amp_dtype or torch.float32),
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
