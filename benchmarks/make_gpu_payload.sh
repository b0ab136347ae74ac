#!/usr/bin/env bash
# Fill gpu_payload/ (git-ignored) with what benchmarks/gpu_check.sh needs on a
# device machine that has no network:
#
#   gpu_payload/torch/hub/checkpoints/mobilenet_v2-b0353104.pth
#   gpu_payload/torch/hub/checkpoints/efficientnet-lite2-9656183e.pth
#       the ImageNet weights of MobileNetV2 (torchvision's IMAGENET1K_V1, for
#       the CUDA tests) and of EfficientNet-Lite2 (the shipped model's and
#       fine-tuning's backbone), copied from this machine's torch cache
#       (gpu_check.sh sets TORCH_HOME=gpu_payload/torch);
#   gpu_payload/clive/images/*.jpg and gpu_payload/clive/mos.csv
#       the first clive-dev photos re-encoded as JPEG (quality 85: about
#       47 kB each) and their scores. What travels with a device call is at
#       most 64 MiB, the repository (about 19 MiB) and the two weights files
#       (37 MiB) included, which leaves room for about 80 photos;
#   gpu_payload/clive/cpu_scores.csv
#       the shipped model's scores of those photos on this machine's CPU
#       (`skdeepbiq score --device cpu`, with the payload's weights), which
#       gpu_check.sh compares with the same command's scores on CUDA.
#
# Usage, from the repository root, before a device call that carries it:
#
#   bash benchmarks/make_gpu_payload.sh [N_IMAGES [QUALITY]]   # default 80 85
#
# then run(command="bash benchmarks/gpu_check.sh", carry=["gpu_payload"]).
# CLIVE_DEV (default ../shared/data/clive-dev) and TORCH_HOME (default
# ~/.cache/torch) say where the photos and the weights are; BACKBONES
# (default "mobilenet_v2 efficientnet_lite2") which weights travel (the
# CPU scores need efficientnet_lite2's).
set -euo pipefail
cd "$(dirname "$0")/.."

n_images=${1:-80}
quality=${2:-85}
clive=${CLIVE_DEV:-../shared/data/clive-dev}
payload=gpu_payload
limit_mib=62  # what travels is at most 64 MiB, the repository included

read -r -a backbones <<<"${BACKBONES:-mobilenet_v2 efficientnet_lite2}"
# skdeepbiq's own fetch_weights names each weights file, and puts it in
# torch's cache first when it is not there yet.
mapfile -t weights < <(
    python - "${backbones[@]}" <<'PYTHON'
import sys
from skdeepbiq.weights import fetch_weights
for backbone in sys.argv[1:]:
    print(fetch_weights(backbone, verbose=False))
PYTHON
)
if ((${#weights[@]} != ${#backbones[@]})); then
    echo "could not fetch the weights of: ${backbones[*]}" >&2
    exit 1
fi
if [[ ! -f $clive/mos.csv ]]; then
    echo "no clive-dev at $clive (set CLIVE_DEV=FOLDER)" >&2
    exit 1
fi

rm -rf "$payload"
mkdir -p "$payload/torch/hub/checkpoints" "$payload/clive/images"
cp "${weights[@]}" "$payload/torch/hub/checkpoints/"
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

# The reference for gpu_check.sh's "shipped model" step, with nothing but the
# payload's weights.
if [[ " ${backbones[*]} " == *" efficientnet_lite2 "* ]]; then
    TORCH_HOME=$payload/torch python -m skdeepbiq score --device cpu --format csv \
        --quiet --output "$payload/clive/cpu_scores.csv" "$payload/clive/images"
    echo "the shipped model's CPU scores of them in $payload/clive/cpu_scores.csv"
fi

size_mib=$(du -sm "$payload" | cut -f1)
tracked_mib=$(git ls-files -z | du -cm --files0-from=- | tail -1 | cut -f1)
echo "gpu_payload: ${size_mib} MiB; tracked files: ${tracked_mib} MiB"
if (( size_mib + tracked_mib > limit_mib )); then
    echo "too large to travel (over ${limit_mib} MiB): use fewer images or a lower quality" >&2
    exit 1
fi
