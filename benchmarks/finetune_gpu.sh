#!/usr/bin/env bash
# Fine-tuning recipes on clive-dev's ten 80/20 splits, on a GPU, in one call.
#
# On a CPU one tuned split takes about 10 minutes; on an H100 about 20 s, so
# a device call of 8 minutes measures two or three recipes on all ten
# splits. Each recipe runs
#
#   benchmarks/finetune.py --splits 10 --device cuda --no-baseline FLAGS
#
# with the trunk maps cached in one folder for all of them (deep recipes
# cache their shorter trunk's maps apart), its log in $OUT/finetune-NAME.log,
# and one summary line per recipe at the end. Recipes, by name:
#
#   default      FineTuning()
#   deep         --trainable deep (11 blocks of MobileNetV2 instead of 5)
#   deep-decay   --trainable deep --lr-decay 0.8
#   deep-12      --trainable deep --epochs 12
#   epochs12     --epochs 12
#   classes      --objective classes (the paper's recipe)
#   adamw        --optimizer adamw
#
# Usage, with the photos and weights of benchmarks/make_gpu_payload.sh:
#
#   run(command="bash benchmarks/finetune_gpu.sh deep deep-decay",
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
((${#recipes[@]})) || recipes=(deep deep-decay)

flags_of() {
    case $1 in
        default) echo "" ;;
        deep) echo "--trainable deep" ;;
        deep-decay) echo "--trainable deep --lr-decay 0.8" ;;
        deep-12) echo "--trainable deep --epochs 12" ;;
        epochs12) echo "--epochs 12" ;;
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
