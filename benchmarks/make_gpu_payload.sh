#!/usr/bin/env bash
# Fill gpu_payload/ (git-ignored) with what benchmarks/gpu_check.sh needs on a
# device machine that has no network:
#
#   gpu_payload/torch/hub/checkpoints/mobilenet_v2-b0353104.pth
#       torchvision's MobileNetV2 IMAGENET1K_V1 weights, copied from this
#       machine's torch cache (gpu_check.sh sets TORCH_HOME=gpu_payload/torch);
#   gpu_payload/clive/images/*.jpg and gpu_payload/clive/mos.csv
#       the clive-dev photos re-encoded as JPEG (quality 85 by default: the
#       812 PNGs take 156 MB, too much for the 64 MiB that travels with a
#       device call; the JPEGs take about 38 MB) and their scores.
#
# Usage, from the repository root, before a device call that carries it:
#
#   bash benchmarks/make_gpu_payload.sh [N_IMAGES [QUALITY]]   # default 812 85
#
# then run(command="bash benchmarks/gpu_check.sh", carry=["gpu_payload"]).
# CLIVE_DEV (default ../shared/data/clive-dev) and TORCH_HOME (default
# ~/.cache/torch) say where the photos and the weights are.
set -euo pipefail
cd "$(dirname "$0")/.."

n_images=${1:-812}
quality=${2:-85}
clive=${CLIVE_DEV:-../shared/data/clive-dev}
weights=${TORCH_HOME:-$HOME/.cache/torch}/hub/checkpoints/mobilenet_v2-b0353104.pth
payload=gpu_payload
limit_mib=60  # what travels is at most 64 MiB, the repository included

if [[ ! -f $weights ]]; then
    echo "no weights at $weights: run 'python -m skdeepbiq weights fetch mobilenet_v2'" >&2
    exit 1
fi
if [[ ! -f $clive/mos.csv ]]; then
    echo "no clive-dev at $clive (set CLIVE_DEV=FOLDER)" >&2
    exit 1
fi

rm -rf "$payload"
mkdir -p "$payload/torch/hub/checkpoints" "$payload/clive/images"
cp "$weights" "$payload/torch/hub/checkpoints/"
python - "$clive" "$payload/clive" "$n_images" "$quality" <<'PYTHON'
"""Re-encode the first N clive-dev photos as JPEG and write their mos.csv."""
import csv
import sys
from pathlib import Path

from PIL import Image

source, target, n_images, quality = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
with open(source / "mos.csv", newline="") as file:
    rows = list(csv.DictReader(file))[:n_images]
for row in rows:
    name = Path(row["image"]).with_suffix(".jpg").name
    with Image.open(source / row["image"]) as image:
        image.convert("RGB").save(target / "images" / name, quality=quality)
    row["image"] = f"images/{name}"
with open(target / "mos.csv", "w", newline="") as file:
    writer = csv.DictWriter(file, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
print(f"{len(rows)} photos as JPEG (quality {quality}) in {target}")
PYTHON

size_mib=$(du -sm "$payload" | cut -f1)
tracked_mib=$(git ls-files -z | du -cm --files0-from=- | tail -1 | cut -f1)
echo "gpu_payload: ${size_mib} MiB; tracked files: ${tracked_mib} MiB"
if (( size_mib + tracked_mib > limit_mib )); then
    echo "too large to travel (over ${limit_mib} MiB): use fewer images or a lower quality" >&2
    exit 1
fi
