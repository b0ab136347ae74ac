"""Turn the fine-tuning logs written before ``protocol.py`` into its JSON lines.

The fine-tuning study (2025-2026) ran ``finetune.py`` split by split, often
across sessions, and kept its printed output in ``benchmarks/results/*.log``.
This script reads each split's figures back from those logs (the lines
``split N: fine-tuned SROCC ... PLCC ... [KROCC ... RMSE ...] | fit S s``;
a line without a fit time re-scores a saved model and is not a fit, except
in ``--refit`` logs, whose heads are fitted anew) and appends one line per
configuration to ``benchmarks/results/finetune.jsonl`` in the protocol's
format, naming the logs it came from. Those runs recorded neither commit
nor date, so the lines say ``"commit": null``.

All of them are on the choice splits (``random_state=0``). Run once::

    python benchmarks/import_logs.py
"""

import re
from pathlib import Path

from protocol import RESULTS, append_jsonl, medians

SPLIT = re.compile(
    r"^split (?P<split>\d+): .*?fine-tuned SROCC (?P<srocc>[\d.]+) PLCC (?P<plcc>[\d.]+)"
    r"(?: KROCC (?P<krocc>[\d.]+) RMSE (?P<rmse>[\d.]+))?(?: \| fit (?P<fit>\d+) s)?"
)
H100 = "NVIDIA H100 80GB HBM3"
CPU = "cpu (2 cores)"

#: (label, recipe in words, logs, device, refit): every configuration tuned
#: on the choice splits, in the order the study tried them.
CONFIGURATIONS = [
    ("MobileNetV2 tail", "FineTuning(trainable='tail'); the default stage means of 25 crops",
     ["finetune_h100.log"], H100, False),
    ("MobileNetV2 tail, 12 epochs", "FineTuning(trainable='tail', epochs=12)",
     ["finetune_h100_epochs12.log"], H100, False),
    ("MobileNetV2 deep", "FineTuning(trainable='deep'); stage means of 25 crops",
     ["finetune_cpu_deep_split0.log", "finetune_cpu_deep_splits1-5.log",
      "finetune_cpu_deep_splits6-9.log"], CPU, False),
    ("MobileNetV2 deep, classes", "FineTuning(trainable='deep', objective='classes')",
     ["finetune_cpu_classes_deep_split0.log"], CPU, False),
    ("EfficientNet-Lite0 tail, 10 crops", "FineTuning(trainable='tail')",
     ["finetune_cpu_lite0_splits0-2-6-9.log", "finetune_cpu_lite0_splits3-5-7-8.log"],
     CPU, False),
    ("EfficientNet-Lite2 tail, 10 crops", "FineTuning(trainable='tail')",
     ["finetune_cpu_lite2_splits0-3.log", "finetune_cpu_lite2_splits4-9.log"], CPU, False),
    ("EfficientNet-Lite1 deep, 10 crops", "FineTuning(trainable='deep')",
     ["finetune_cpu_lite1_deep.log"], CPU, False),
    ("EfficientNet-Lite2 deep, 10 crops", "FineTuning(trainable='deep')",
     ["finetune_cpu_lite2_deep.log"], CPU, False),
    ("EfficientNet-Lite2 deep, 10 crops, flips", "FineTuning(trainable='deep', flips=True)",
     ["finetune_cpu_lite2_deep_flips.log"], CPU, False),
    ("EfficientNet-Lite2 deep, 25 crops", "FineTuning(trainable='deep')",
     ["finetune_cpu_lite2_deep_crops25.log"], CPU, False),
    ("EfficientNet-Lite2 deep, 25 trunk windows, C=1e-5 (fine_tune=True)",
     "FineTuning(); the 25-crop models' tuned networks, features of 25 windows of "
     "the trunk's maps, LinearSVR(C=1e-5)",
     ["finetune_cpu_lite2_deep_trunk.log"], CPU, True),
]  # fmt: skip


def splits_of(log: Path, refit: bool) -> dict:
    """Each split's figures in ``log``, by split number (a later line wins)."""
    found = {}
    for text in log.read_text(encoding="utf-8").splitlines():
        match = SPLIT.match(text)
        if not match or (match["fit"] is None and not refit):
            continue
        row = {"split": int(match["split"])}
        for key in ("srocc", "plcc", "krocc", "rmse"):
            if match[key] is not None:
                row[key] = float(match[key])
        if match["fit"] is not None:
            row["fit_seconds"] = float(match["fit"])
        found[row["split"]] = row
    return found


def main() -> None:
    target = RESULTS / "finetune.jsonl"
    done = target.read_text(encoding="utf-8") if target.exists() else ""
    for label, recipe, logs, device, refit in CONFIGURATIONS:
        if f'"label": "{label}"' in done:
            continue
        rows = {}
        for name in logs:
            rows |= splits_of(RESULTS / name, refit)
        per_split = [rows[number] for number in sorted(rows)]
        append_jsonl(
            target,
            {
                "benchmark": "finetune",
                "configuration": {"label": label, "recipe": recipe},
                "random_state": 0,
                "splits_kind": "choice",
                "n_splits": len(per_split),
                "medians": medians(per_split),
                "per_split": per_split,
                "from_logs": logs,
                "commit": None,
                "date": None,
                "machine": {"device": device},
            },
        )
        print(f"{label}: {len(per_split)} splits, {medians(per_split)}")


if __name__ == "__main__":
    main()
