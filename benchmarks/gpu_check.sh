#!/usr/bin/env bash
# The GPU check of skdeepbiq: one script, under 8 minutes on an H100, one table.
#
# On a CUDA machine without network (the device machines of this workplace:
# Python 3.12 with its own torch, torchvision, scikit-learn, pandas, pytest),
# from the repository root:
#
#   1. checks the Python packages skdeepbiq needs (none can be installed
#      there: a missing one is named, with how to carry it as a wheel);
#   2. installs skdeepbiq over the machine's torch:
#      pip install --no-deps --no-build-isolation --no-index -e .
#      (falls back to PYTHONPATH=. if that fails);
#   3. runs the CUDA tests: pytest -m cuda;
#   4. runs benchmarks/throughput.py for resnet50, alexnet and mobilenet_v2
#      on CUDA, batch 256, float16 mixed precision, 25 crops per image, random
#      weights: end to end against the network alone and against naive code;
#   5. times one fine-tuned fit (benchmarks/finetune.py --full-fit: the
#      default recipe, EfficientNet-Lite2) on the carried clive-dev photos;
#   6. scores the carried photos with the shipped model on CUDA
#      (skdeepbiq score --device cuda, float16 then float32), and compares
#      the scores with those of the same command on the CPU, computed by
#      make_gpu_payload.sh (gpu_payload/clive/cpu_scores.csv);
#
# and prints one table. Each step has its own timeout, and the steps share a
# budget (--budget, 460 s), so the whole script ends within 8 minutes.
#
# What it needs travels in gpu_payload/ (git-ignored; fill it here with
# benchmarks/make_gpu_payload.sh): the MobileNetV2 and EfficientNet-Lite2
# weights files, found through TORCH_HOME=gpu_payload/torch, and the photos
# with their mos.csv and CPU scores. With the
# device tool: run(command="bash benchmarks/gpu_check.sh", carry=["gpu_payload"],
# timeout_s=540). Step logs go to $OUT (which comes back) or a temporary folder.
#
# Without CUDA it runs nothing but the environment check, prints the table
# with "no CUDA" rows and exits 0. --dry-run prints the plan and the table
# without running anything. --cpu-smoke runs every step but the install on
# the CPU with tiny sizes (4 images of 2 crops; give it a payload of a few
# photos: make_gpu_payload.sh 8), to check the script itself without a GPU.
# Exit status: 0 when no step failed, else 1.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

python=${PYTHON:-python3}
payload=gpu_payload
budget=460
install_limit=60
pytest_limit=120
throughput_limit=150
finetune_limit=160
shipped_limit=90
dry_run=0
smoke=0
while (($#)); do
    case $1 in
        --dry-run) dry_run=1 ;;
        --cpu-smoke) smoke=1 ;;
        --payload) payload=$2; shift ;;
        --budget) budget=$2; shift ;;
        -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "gpu_check.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

logs=${OUT:-$(mktemp -d -t skdeepbiq-gpu-check.XXXXXX)}
mkdir -p "$logs"
start=$SECONDS
rows=()
failed=0

add_row() { # step result seconds details
    rows+=("$1"$'\x1f'"$2"$'\x1f'"$3"$'\x1f'"$4")
}

print_table() {
    echo
    echo "== skdeepbiq GPU check: $device_name; $versions =="
    printf '%-26s %-18s %7s  %s\n' step result seconds details
    local row step result seconds details
    for row in "${rows[@]}"; do
        IFS=$'\x1f' read -r step result seconds details <<<"$row"
        printf '%-26s %-18s %7s  %s\n' "$step" "$result" "$seconds" "$details"
    done
    printf '%-26s %-18s %7s  %s\n' total "" "$((SECONDS - start))" "logs in $logs"
}

# run_step NAME LIMIT COMMAND...: run with a timeout trimmed to the budget
# left; sets step_result and step_seconds; the output goes to $logs/NAME.log.
run_step() {
    local name=$1 limit=$2
    shift 2
    local left=$((budget - (SECONDS - start)))
    ((limit > left)) && limit=$left
    step_seconds=0
    if ((limit < 15)); then
        step_result="skipped"
        return 1
    fi
    echo "== $name (at most ${limit} s)"
    local begin=$SECONDS
    timeout --kill-after=10 "$limit" "$@" >"$logs/$name.log" 2>&1
    local code=$?
    step_seconds=$((SECONDS - begin))
    case $code in
        0) step_result="ok" ;;
        124 | 137) step_result="TIMEOUT >${limit}s"; failed=1 ;;
        *) step_result="FAILED (exit $code)"; failed=1 ;;
    esac
    return $code
}

steps_after_environment=(
    "install"
    "payload"
    "pytest -m cuda"
    "throughput resnet50"
    "throughput alexnet"
    "throughput mobilenet_v2"
    "fine-tuned fit"
    "shipped model float16"
    "shipped model float32"
)

device=cuda
precisions=(float16 float32)
sizes=(--precision float16 --batch-size 256 --n-crops 25 --images 200 --repeats 3)
if ((smoke)); then # float16 on the CPU is slow beyond use
    device=cpu
    precisions=(float32)
    sizes=(--precision float32 --batch-size 8 --n-crops 2 --images 4 --repeats 1)
fi
throughput_command=(
    "$python" benchmarks/throughput.py --device "$device"
    --backbones resnet50,alexnet,mobilenet_v2 "${sizes[@]}"
    --data "$payload/clive/images"
)
finetune_command=(
    "$python" benchmarks/finetune.py --full-fit --device "$device" --verbose 0
    --data "$payload/clive"
)

if ((dry_run)); then
    device_name="dry run"
    versions="nothing was run"
    add_row environment "dry run" 0 "$python: packages, torch.cuda.is_available()"
    add_row install "dry run" 0 "pip install --no-deps --no-build-isolation --no-index -e . (${install_limit} s)"
    add_row "pytest -m cuda" "dry run" 0 "$python -m pytest -m cuda -q (${pytest_limit} s)"
    add_row "throughput (3 backbones)" "dry run" 0 "${throughput_command[*]} (${throughput_limit} s)"
    add_row "fine-tuned fit" "dry run" 0 "${finetune_command[*]} (${finetune_limit} s)"
    add_row "shipped model" "dry run" 0 "skdeepbiq score --device $device --precision float16|float32 $payload/clive/images (${shipped_limit} s each)"
    add_row payload "dry run" 0 "TORCH_HOME=$payload/torch; photos in $payload/clive"
    print_table
    exit 0
fi

# 1. environment ---------------------------------------------------------------
environment=$(
    timeout 60 "$python" - 2>&1 <<'PYTHON'
import importlib, platform
needed = ["torch", "torchvision", "sklearn", "scipy", "numpy", "PIL", "joblib",
          "tqdm", "pandas", "pytest"]
missing = []
for name in needed:
    try:
        importlib.import_module(name)
    except ImportError:
        missing.append(name)
line = [f"Python {platform.python_version()}"]
device = ""
if "torch" not in missing:
    import torch
    line.append(f"torch {torch.__version__}")
    if torch.cuda.is_available():
        device = torch.cuda.get_device_name(0)
print("missing=" + ",".join(missing))
print("versions=" + ", ".join(line))
print("device=" + device)
PYTHON
)
missing=$(sed -n 's/^missing=//p' <<<"$environment")
versions=$(sed -n 's/^versions=//p' <<<"$environment")
device_name=$(sed -n 's/^device=//p' <<<"$environment")
versions=${versions:-"$python did not answer: ${environment:0:120}"}
if [[ -n $missing ]]; then
    add_row environment "MISSING PACKAGES" "$((SECONDS - start))" \
        "$missing not installed, and the device has no network: carry wheels (.whl, see the device README)"
    failed=1
elif ((smoke)); then
    device_name="CPU smoke run (tiny sizes, no install)"
    add_row environment ok "$((SECONDS - start))" "packages present"
elif [[ -z $device_name ]]; then
    device_name="no CUDA"
    add_row environment ok "$((SECONDS - start))" "torch.cuda.is_available() is False"
else
    add_row environment ok "$((SECONDS - start))" "packages present"
fi
if [[ -n $missing || $device_name == "no CUDA" ]]; then
    reason=$([[ -n $missing ]] && echo "skipped" || echo "no CUDA")
    device_name=${device_name:-"unknown device"}
    for step in "${steps_after_environment[@]}"; do
        add_row "$step" "$reason" 0 ""
    done
    print_table
    exit "$failed"
fi

# 2. install -------------------------------------------------------------------
export TORCH_HOME=$PWD/$payload/torch PYTHONUNBUFFERED=1
if ((smoke)); then
    export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
    add_row install skipped 0 "CPU smoke run: PYTHONPATH=. (this machine's install untouched)"
elif run_step install "$install_limit" "$python" -m pip install --no-deps \
    --no-build-isolation --no-index -q -e .; then
    add_row install ok "$step_seconds" "pip install --no-deps -e . over the device's torch"
else # PYTHONPATH serves as well for what follows: not a failure of the check
    failed=0
    export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
    add_row install "$step_result" "$step_seconds" "using PYTHONPATH=. instead (see install.log)"
fi
missing_weights=$(
    "$python" - 2>&1 <<'PYTHON'
from skdeepbiq.weights import list_cached_weights
cached = {entry["backbone"] for entry in list_cached_weights()}
print(" ".join(sorted({"mobilenet_v2", "efficientnet_lite2"} - cached)))
PYTHON
)
n_photos=$(find "$payload/clive/images" -name '*.jpg' 2>/dev/null | wc -l)
if [[ -z $missing_weights ]] && ((n_photos > 0)); then
    add_row payload ok 0 "mobilenet_v2 and efficientnet_lite2 weights, $n_photos photos in $payload"
else
    add_row payload MISSING 0 \
        "weights missing: ${missing_weights:-none}, photos: $n_photos; run benchmarks/make_gpu_payload.sh here and carry $payload"
    failed=1
fi

# 3. the CUDA tests --------------------------------------------------------------
run_step pytest "$pytest_limit" "$python" -m pytest -m cuda -q -p no:cacheprovider
summary=$(grep -E '[0-9]+ (passed|failed|error|skipped|deselected)|no tests ran' \
    "$logs/pytest.log" | tail -1)
add_row "pytest -m cuda" "$step_result" "$step_seconds" "${summary//=/}"

# 4. throughput --------------------------------------------------------------------
if [[ -d $payload/clive/images ]]; then
    run_step throughput "$throughput_limit" "${throughput_command[@]}"
else
    step_result="no images"
    step_seconds=0
fi
throughput=$(
    "$python" - "$logs/throughput.log" <<'PYTHON' 2>/dev/null
import json, sys
lines = [l for l in open(sys.argv[1]) if l.startswith("{")] if sys.argv[1] else []
rows = {row["backbone"]: row for row in json.loads(lines[-1])["results"]} if lines else {}
def f(value, digits=0):
    return "-" if value is None else f"{value:.{digits}f}"
for backbone in ("resnet50", "alexnet", "mobilenet_v2"):
    row = rows.get(backbone)
    if row is None:
        print(f"{backbone}\t")
        continue
    print(
        f"{backbone}\tcrops/s: end to end {f(row['end_to_end'])}, network "
        f"{f(row['network_only'])}, naive {f(row['naive'])}, trunk {f(row['trunk'])}; "
        f"e2e/network {f(row['end_to_end_over_network'], 2)}, "
        f"e2e/naive {f(row['end_to_end_over_naive'], 2)}"
    )
PYTHON
)
for backbone in resnet50 alexnet mobilenet_v2; do
    details=$(awk -F '\t' -v name="$backbone" '$1 == name {print $2}' <<<"$throughput")
    add_row "throughput $backbone" "$step_result" "$step_seconds" \
        "${details:-no result (see throughput.log)}"
    step_seconds=""
done

# 5. one fine-tuned fit ------------------------------------------------------------
if [[ -f $payload/clive/mos.csv ]]; then
    n_images=$(($(wc -l <"$payload/clive/mos.csv") - 1))
    run_step finetune "$finetune_limit" "${finetune_command[@]}"
    details=$(grep -o '"full_fit_seconds": [0-9.]*' "$logs/finetune.log" | tr -d '"')
    add_row "fine-tuned fit" "$step_result" "$step_seconds" \
        "$n_images photos; ${details:-no result (see finetune.log)}"
else
    add_row "fine-tuned fit" "no images" 0 "run benchmarks/make_gpu_payload.sh, carry $payload"
    failed=1
fi

# 6. the shipped model on the GPU against the CPU ------------------------------------
for precision in "${precisions[@]}"; do
    if [[ ! -f $payload/clive/cpu_scores.csv ]]; then
        add_row "shipped model $precision" "no CPU scores" 0 "run benchmarks/make_gpu_payload.sh, carry $payload"
        failed=1
        continue
    fi
    scores=$logs/scores-$precision.csv
    run_step "shipped-$precision" "$shipped_limit" "$python" -m skdeepbiq score \
        --device "$device" --precision "$precision" --format csv --quiet \
        --output "$scores" "$payload/clive/images"
    details=$(
        "$python" - "$payload/clive/cpu_scores.csv" "$scores" "$step_seconds" <<'PYTHON' 2>&1
import sys
import pandas as pd
cpu, gpu = (pd.read_csv(path).set_index("path")["score"] for path in sys.argv[1:3])
difference = (gpu - cpu.reindex(gpu.index)).abs()
rate = len(gpu) / max(float(sys.argv[3]), 1.0)
print(f"{len(gpu)} photos, {rate:.1f} photos/s with start-up; |score - CPU score|: "
      f"median {difference.median():.3f}, max {difference.max():.3f} (0-100 scale)")
PYTHON
    )
    add_row "shipped model $precision" "$step_result" "$step_seconds" \
        "${details:0:160}"
done

print_table
exit "$failed"
