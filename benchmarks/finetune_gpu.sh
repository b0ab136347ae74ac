#!/usr/bin/env bash
# Fine-tuning recipes on clive-dev's ten 80/20 splits, on a GPU, in one call.
#
# On a CPU one tuned split of the default recipe (EfficientNet-Lite2,
# trainable="deep") takes about 15 minutes; on an H100 a split of the
# MobileNetV2 recipes took about 20 s, so a device call of 8 minutes measures
# a few recipes on all ten splits. Each recipe runs
#
#   benchmarks/finetune.py --splits 10 --device cuda --no-baseline FLAGS
#
# with the trunk maps cached in one folder for all of them (recipes with
# another trunk cache its maps apart), its log in $OUT/finetune-NAME.log,
# and one summary line per recipe at the end. Recipes, by name:
#
#   default      FineTuning() (fine_tune=True: EfficientNet-Lite2, deep)
#   flips        --flips (crops of the mirrored photo, half of the time)
#   decay        --lr-decay 0.8
#   epochs12     --epochs 12
#   crops25      --n-crops 25 (the features of 25 crops instead of 10)
#   tail         --trainable tail
#   classes      --objective classes (the paper's recipe)
#   adamw        --optimizer adamw
#
# Usage, with all 812 photos and the EfficientNet-Lite2 weights (JPEG
# quality 50, for the 64 MiB that travel; each photo's score is still its
# original's):
#
#   BACKBONES=efficientnet_lite2 bash benchmarks/make_gpu_payload.sh 812 50
#   run(command="bash benchmarks/finetune_gpu.sh default flips",
#       carry=["gpu_payload"], timeout_s=540)
#
# --budget SECONDS (default 470) bounds the whole script; a recipe that
# would start with under 60 s left is skipped, and one cut short keeps the
# splits it finished in its log. With no recipe named: deep deep-decay.
# --cpu-smoke runs two splits on the CPU, to check the script without a GPU
# (give it a payload of a dozen photos: --payload FOLDER).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

budget=470
payload=gpu_payload
device=cuda
splits=10
recipes=()
while (($#)); do
    case $1 in
        --budget) budget=$2; shift ;;
        --payload) payload=$2; shift ;;
        --cpu-smoke) device=cpu; splits=2 ;;
        -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) echo "finetune_gpu.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
        *) recipes+=("$1") ;;
    esac
    shift
done
((${#recipes[@]})) || recipes=(default flips)

flags_of() {
    case $1 in
        default) echo "" ;;
        flips) echo "--flips" ;;
        decay) echo "--lr-decay 0.8" ;;
        epochs12) echo "--epochs 12" ;;
        crops25) echo "--n-crops 25" ;;
        tail) echo "--trainable tail" ;;
        classes) echo "--objective classes" ;;
        adamw) echo "--optimizer adamw" ;;
        *) return 1 ;;
    esac
}
for name in "${recipes[@]}"; do
    flags_of "$name" >/dev/null || {
        echo "finetune_gpu.sh: unknown recipe $name (see --help)" >&2
        exit 2
    }
done

python=${PYTHON:-python3}
payload=$(cd "$payload" && pwd) || exit 1
export TORCH_HOME=$payload/torch PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
export PYTHONUNBUFFERED=1
logs=${OUT:-$(mktemp -d -t skdeepbiq-finetune.XXXXXX)}
cache=$(mktemp -d -t skdeepbiq-trunk-maps.XXXXXX)
mkdir -p "$logs"
start=$SECONDS
summary=()
for name in "${recipes[@]}"; do
    left=$((budget - (SECONDS - start)))
    if ((left < 60)); then
        summary+=("$name: skipped, ${left} s left")
        continue
    fi
    read -r -a flags <<<"$(flags_of "$name")"
    echo "== $name (${flags[*]:-defaults}; at most ${left} s)"
    log=$logs/finetune-$name.log
    timeout --kill-after=10 "$left" "$python" benchmarks/finetune.py --splits "$splits" \
        --device "$device" --no-baseline --verbose 0 --cache "$cache" \
        --data "$payload/clive" "${flags[@]}" >"$log" 2>&1
    code=$?
    grep -E '^(recipe|split)' "$log"
    median=$(grep -E '^median' "$log" | tail -1)
    done_splits=$(grep -cE '^split' "$log")
    case $code in
        0) summary+=("$name: ${median:-no median (see $log)}") ;;
        124 | 137) summary+=("$name: cut short after $done_splits splits") ;;
        *) summary+=("$name: FAILED (exit $code, see $log)") ;;
    esac
done
echo
echo "== fine-tuning recipes, clive-dev $splits x 80/20 ($((SECONDS - start)) s)"
printf '%s\n' "${summary[@]}"
