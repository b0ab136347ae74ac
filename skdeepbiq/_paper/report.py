"""The report of ``reproduce``: the paper's figures and ours, Markdown and JSON.

The paper's figures are those of Bianco et al. (2018), as restated in the
project's notes on the paper. The plots are in :mod:`skdeepbiq._paper.report_plots`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .experiments import LEAKY_PREFIX, REGRESSION_PREFIX
from .splits import jsonable

#: Paper, CLIVE, median over 10 splits: (label, crops, LCC, SROCC).
PAPER_CLIVE = {
    ("I", "center"): ("ImageNet-CNN", 1, 0.6782, 0.6381),
    ("II", "feature-mean"): ("ImageNet+Places-CNN", 30, 0.7938, 0.7828),
    ("II", "concatenation"): ("ImageNet+Places-CNN", 35, 0.7864, 0.7724),
    ("II", "prediction-mean"): ("ImageNet+Places-CNN", 20, 0.7873, 0.7685),
    ("III", "feature-mean"): ("fine-tuned", 20, 0.9026, 0.8851),
    ("III", "prediction-mean"): ("fine-tuned, DeepBIQ", 25, 0.9082, 0.8894),
}
#: Paper, DeepBIQ on CLIVE: RMSE, MAE, % within 1, 2, 3 std of the ratings.
PAPER_CLIVE_ERRORS = {"rmse": 8.59, "mae": 6.42, "within_std": (97.2, 99.4, 99.8)}
#: Paper, DeepBIQ (CNN fine-tuned on CLIVE, SVR retrained): LCC, SROCC.
PAPER_SYNTHETIC = {
    "LIVE": (0.98, 0.97),
    "CSIQ": (0.97, 0.96),
    "TID2008": (0.95, 0.95),
    "TID2013": (0.96, 0.96),
}
FUSION_LABELS = {
    "center": "central crop, resized to 256",
    "feature-mean": "feature pooling, mean",
    "concatenation": "feature concatenation",
    "prediction-mean": "prediction pooling, mean",
}
#: Exp III's fine-tuning recipes, by ``FineTuning`` objective.
RECIPE_LABELS = {
    "classes": "five MOS classes, class weights (the paper's recipe)",
    "regression": "regression objective (skdeepbiq's, not the paper's)",
}


def paper_family(name: str) -> str | None:
    """The paper's database a dataset name stands for (CLIVE, LIVE, ...), or None."""
    lower = name.lower()
    if "clive" in lower or "challenge" in lower:
        return "CLIVE"
    return next((key for key in PAPER_SYNTHETIC if key.lower() == lower), None)


def recipe_label(fine_tune: dict | None, leakage: str | None = None) -> str:
    """How a configuration's network was tuned, from its recorded recipe."""
    if fine_tune is None:
        return "not fine-tuned"
    objective = fine_tune["objective"]
    label = f"fine-tuned: {RECIPE_LABELS.get(objective, objective + ' objective')}"
    return label if leakage is None else f"LEAKY, {leakage}; {label}"


def _paper_row(family, experiment: str, base: str) -> dict | None:
    """The paper's figures for a configuration, where the paper has them."""
    if family == "CLIVE" and (experiment, base) in PAPER_CLIVE:
        label, crops, lcc, srocc = PAPER_CLIVE[experiment, base]
        return {"label": label, "n_crops": crops, "lcc": lcc, "srocc": srocc}
    if family in PAPER_SYNTHETIC and (experiment, base) == ("III", "prediction-mean"):
        lcc, srocc = PAPER_SYNTHETIC[family]
        return {"label": "DeepBIQ", "n_crops": 25, "lcc": lcc, "srocc": srocc}
    return None


def _crop_choice(study: dict, n_crops: int) -> str:
    """Whether an Exp II count is the t-test's choice, the best, both or neither."""
    return ", ".join(
        label
        for label, count in (("t-test", study["chosen"]), ("best", study["best"]))
        if count == n_crops
    )


def table_rows(results) -> list[dict]:
    """The reported configurations with the paper's figures next to ours.

    Exp II: each fusion at the t-test's choice of crops and at the best.
    Exp III: each configuration labelled with its fine-tuning recipe; those
    tuned with skdeepbiq's regression objective as an extra (``REGRESSION_PREFIX``)
    get no figures of the paper; those tuned on every image (``LEAKY_PREFIX``)
    are labelled LEAKY.
    """
    family = paper_family(results.dataset["name"])
    rows = []
    for experiment, configs in results.configs.items():
        for config, summary in configs.items():
            base, choice, label, paper = config, None, None, None
            regression = False
            if experiment == "II":
                base = config.rsplit("-k", 1)[0]
                choice = _crop_choice(results.crop_study[base], summary["n_crops"])
                if not choice:
                    continue
            if experiment == "III":
                base = config.removeprefix(LEAKY_PREFIX)
                regression = base.startswith(REGRESSION_PREFIX)
                base = base.removeprefix(REGRESSION_PREFIX)
                label = recipe_label(summary.get("fine_tune"), summary.get("leakage"))
            if not (experiment == "III" and regression):
                paper = _paper_row(family, experiment, base)
            rows.append(
                {
                    "experiment": experiment,
                    "config": config,
                    "label": "; ".join(filter(None, [FUSION_LABELS[base], label])),
                    "n_crops": summary["n_crops"],
                    "choice": choice,
                    "paper": paper,
                    "ours": summary["median"],
                }
            )
    return rows


def _number(value, digits=4, percent=False) -> str:
    if value is None or not np.isfinite(value):
        return "-"
    return f"{100 * value:.1f}%" if percent else f"{value:.{digits}f}"


def markdown_table(results) -> str:
    """The main table: per reported configuration, the paper's and our medians."""
    header = (
        "| Exp | Fusion | Crops | Paper: CNN, crops | Paper LCC | Paper SROCC "
        "| LCC | SROCC | KROCC | RMSE | MAE | nMAE | 1 std | 2 std | 3 std |"
    )
    lines = [header, "|" + "---|" * 15]
    for row in results.rows:
        paper, ours = row["paper"] or {}, row["ours"]
        crops = str(row["n_crops"])
        if row["choice"]:
            crops += f" ({row['choice']})"
        cells = [
            row["experiment"],
            row["label"],
            crops,
            f"{paper['label']}, {paper['n_crops']}" if paper else "-",
            _number(paper.get("lcc")),
            _number(paper.get("srocc")),
            *(_number(ours.get(key)) for key in ("plcc", "srocc", "krocc")),
            *(_number(ours.get(key), 2) for key in ("rmse", "mae")),
            _number(ours.get("nmae"), 3),
            *(_number(ours.get(f"within_{k}_std"), percent=True) for k in (1, 2, 3)),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _crop_table(results) -> list[str]:
    counts = results.settings["crop_counts"]
    lines = [
        "| Fusion | " + " | ".join(f"k={k}" for k in counts) + " | chosen k |",
        "|" + "---|" * (len(counts) + 2),
    ]
    for name, study in results.crop_study.items():
        cells = []
        for count, median, p_value in zip(
            counts, study["median_srocc"], study["p_values"], strict=True
        ):
            text = f"{_number(median)} (p={_number(p_value, 3)})"
            cells.append(f"**{text}**" if count == study["best"] else text)
        chosen = study["chosen"]
        lines.append(
            f"| {FUSION_LABELS[name]} | " + " | ".join(cells) + f" | {chosen} |"
        )
    return lines


#: What each fine-tuning objective trains, for the notes.
_OBJECTIVES = {
    "classes": "crops classified into five crisp MOS classes (bad, poor, fair, "
    "good, excellent), each crop weighted by (count of the most frequent class) "
    "/ (count of its class), as the paper",
    "regression": "a 1-output head fitted to the standardised score (smooth-L1 "
    "loss), skdeepbiq's own objective",
}


def _fine_tuning_notes(configs: dict) -> list[str]:
    """One note per fine-tuning recipe of Exp III: what it trained, its parameters."""
    recipes = {}
    for summary in configs.values():
        fine_tune = summary.get("fine_tune")
        if fine_tune is not None:
            recipes[json.dumps(fine_tune, sort_keys=True)] = fine_tune
    notes = []
    for fine_tune in recipes.values():
        objective = fine_tune["objective"]
        ordered = {"objective": objective, **fine_tune}  # the objective first
        params = ", ".join(f"{key}={value!r}" for key, value in ordered.items())
        notes.append(
            f"Exp III, {recipe_label(fine_tune)}: the backbone tuned on the training "
            f"images of each split only; {_OBJECTIVES.get(objective, objective)}. "
            f"`FineTuning({params})`."
        )
    return notes


def _notes(results) -> list[str]:
    settings, dataset = results.settings, results.dataset
    notes = [
        f"Backbone: ours `{settings['backbone']}` (weights {settings['weights']}), "
        f"penultimate features of {settings['crop_size']}-px crops. The paper: "
        "CaffeNet fc7 (4,096-d) on 227-px crops, ImageNet-CNN in Exp I's row and "
        "ImageNet+Places-CNN in Exp II's. The figures differ by design; the "
        "comparison is of trends, not of digits.",
        f"Regressor: LinearSVR (C={settings['C']:g}, epsilon=0) on standardised "
        "features and scores; for concatenation C / k for k crops (the same as "
        "scaling the concatenated vector to one crop's norm).",
        f"Protocol: {settings['protocol']}.",
    ]
    if results.crop_study:
        counts = settings["crop_counts"]
        notes.append(
            f"Exp II crops: {', '.join(map(str, counts))} random crops per image, "
            f"the first k of the same {max(counts)} (the paper went up to 50; capped "
            f"at {max(counts)} to keep CPU time down). The number reported is the "
            "smallest whose SROCC over the splits is not significantly below the "
            "best median's (two-sample Student t-test, "
            f"alpha={settings['alpha']}), as the paper chose it by t-tests."
        )
    if "clive-dev" in dataset["name"].lower():
        notes.append(
            "clive-dev holds 812 of the 1,162 CLIVE test images (70%); figures are "
            "on that subset, the paper's on the full database."
        )
    if not dataset["higher_is_better"]:
        notes.append("Scores are DMOS (lower is better); correlations are with DMOS.")
    notes += _fine_tuning_notes(results.configs.get("III", {}))
    notes.append(
        "nMAE is MAE divided by the range of the test scores "
        "(`skdeepbiq.metrics.nmae`); the paper does not define its nMAE. "
        "k std: share of test images whose error is at most k times the standard "
        "deviation of that image's ratings."
    )
    return notes


def _markdown(results) -> str:
    dataset, settings = results.dataset, results.settings
    lines = [
        f"# DeepBIQ reproduction on {dataset['name']}",
        "",
        f"{dataset['n_images']} images"
        + (f" from `{dataset['source']}`" if dataset["source"] else "")
        + f". Experiments: {', '.join(settings['experiments'])}. "
        f"Medians over {settings['n_splits']} splits.",
        "",
        markdown_table(results),
        "",
    ]
    if paper_family(dataset["name"]) == "CLIVE":
        errors = PAPER_CLIVE_ERRORS
        within = " / ".join(f"{share}%" for share in errors["within_std"])
        lines += [
            f"Paper, DeepBIQ (Exp III) on CLIVE: RMSE {errors['rmse']}, "
            f"MAE {errors['mae']}, within 1 / 2 / 3 std: {within}.",
            "",
        ]
    if results.crop_study:
        lines += [
            "## SROCC against the number of crops (Exp II)",
            "",
            "Median SROCC over the splits; p: two-sample t-test against the "
            "best (bold).",
            "",
            *_crop_table(results),
            "",
        ]
    lines += ["## Notes", "", *(f"- {note}" for note in _notes(results)), ""]
    lines += ["## Timing", "", "| step | seconds |", "|---|---|"]
    lines += [f"| {step} | {seconds:.1f} |" for step, seconds in results.timing.items()]
    lines += [
        "",
        f"Splits fitted in this run: {results.n_splits_computed}; read back from "
        f"an earlier run: {results.n_splits_reused}.",
        "",
    ]
    return "\n".join(lines)


def write_report(results, output: Path) -> list[str]:
    """Write report.md and report.json into ``output``; return their paths."""
    (output / "report.md").write_text(_markdown(results))
    content = {
        key: results[key]
        for key in (
            "dataset",
            "settings",
            "experiments",
            "rows",
            "configs",
            "crop_study",
            "timing",
            "n_splits_computed",
            "n_splits_reused",
        )
    }
    content["notes"] = _notes(results)
    content["paper"] = {
        "clive": {f"{e}/{c}": list(v) for (e, c), v in PAPER_CLIVE.items()},
        "clive_deepbiq_errors": PAPER_CLIVE_ERRORS,
        "synthetic_deepbiq": PAPER_SYNTHETIC,
    }
    (output / "report.json").write_text(json.dumps(jsonable(content), indent=1))
    return [str(output / "report.md"), str(output / "report.json")]
