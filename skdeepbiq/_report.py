"""The report of ``reproduce``: the paper's figures and ours, Markdown, JSON, plots.

The paper's figures are those of Bianco et al. (2018), as restated in the
project's notes on the paper; plots use matplotlib's object interface
(no pyplot, no global backend change) and need the ``plot`` extra.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ._experiments import jsonable

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
PLOT_FILES = ("scatter.png", "cumulative_error.png", "srocc_vs_crops.png")


def check_matplotlib() -> None:
    """Raise an ImportError that says how to install matplotlib, if missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as error:
        raise ImportError(
            "the plots of reproduce need matplotlib: pip install 'skdeepbiq[plot]' "
            "(or run without plots: plots=False, --no-plots)"
        ) from error


def _family(name: str) -> str | None:
    lower = name.lower()
    if "clive" in lower or "challenge" in lower:
        return "CLIVE"
    return next((key for key in PAPER_SYNTHETIC if key.lower() == lower), None)


def table_rows(results) -> list[dict]:
    """The reported configurations with the paper's figures next to ours."""
    family = _family(results.dataset["name"])
    rows = []
    for experiment, configs in results.configs.items():
        for config, summary in configs.items():
            base = config.rsplit("-k", 1)[0] if experiment == "II" else config
            choice = None
            if experiment == "II":  # the t-test's choice and the best median
                study = results.crop_study[base]
                choice = ", ".join(
                    label
                    for label, count in (
                        ("t-test", study["chosen"]),
                        ("best", study["best"]),
                    )
                    if count == summary["n_crops"]
                )
                if not choice:
                    continue
            paper = None
            if family == "CLIVE" and (experiment, base) in PAPER_CLIVE:
                label, crops, lcc, srocc = PAPER_CLIVE[experiment, base]
                paper = {"label": label, "n_crops": crops, "lcc": lcc, "srocc": srocc}
            elif family in PAPER_SYNTHETIC and (experiment, base) == (
                "III",
                "prediction-mean",
            ):
                lcc, srocc = PAPER_SYNTHETIC[family]
                paper = {"label": "DeepBIQ", "n_crops": 25, "lcc": lcc, "srocc": srocc}
            rows.append(
                {
                    "experiment": experiment,
                    "config": config,
                    "label": FUSION_LABELS[base],
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
    for experiment, status in results.experiments.items():
        if status != "done":
            notes.append(f"Exp {experiment} {status}.")
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
    if _family(dataset["name"]) == "CLIVE":
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


def write_report(results, output: Path, y, mos_std, plots=True) -> list[str]:
    """Write report.md, report.json and the plots; return their paths."""
    files = []
    if plots:
        files += _write_plots(results, output, np.asarray(y), mos_std)
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
    return [str(output / "report.md"), str(output / "report.json"), *files]


# Plots -----------------------------------------------------------------------


def _median_split(records: list[dict]) -> dict:
    srocc = np.array([record["scores"]["srocc"] for record in records], dtype=float)
    return records[int(np.nanargmin(np.abs(srocc - np.nanmedian(srocc))))]


def _grid(n_panels: int):
    from matplotlib.figure import Figure

    columns = min(n_panels, 3)
    rows = -(-n_panels // columns)
    figure = Figure(figsize=(4 * columns, 3.8 * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for extra in axes[n_panels:]:
        extra.set_visible(False)
    return figure, axes


def _write_plots(results, output: Path, y: np.ndarray, mos_std) -> list[str]:
    from matplotlib.figure import Figure

    files = []
    reported = [
        (row, results.records[row["experiment"]][row["config"]]) for row in results.rows
    ]
    if reported:
        figure, axes = _grid(len(reported))
        for axis, (row, records) in zip(axes, reported, strict=False):
            record = _median_split(records)
            truth = y[record["test"]]
            axis.scatter(truth, record["predictions"], s=8, alpha=0.6)
            low, high = float(np.min(truth)), float(np.max(truth))
            axis.plot([low, high], [low, high], color="grey", linewidth=1)
            axis.set_title(
                f"Exp {row['experiment']}: {row['label']}, {row['n_crops']} crop(s)\n"
                f"split {record['split']} (the median one): SROCC "
                f"{record['scores']['srocc']:.3f}",
                fontsize=9,
            )
            axis.set_xlabel("MOS")
            axis.set_ylabel("predicted")
        figure.savefig(output / PLOT_FILES[0], dpi=120)
        files.append(str(output / PLOT_FILES[0]))

    if reported and mos_std is not None:
        mos_std = np.asarray(mos_std, dtype=float)
        figure = Figure(figsize=(6, 4.2), layout="constrained")
        axis = figure.subplots()
        for row, records in reported:
            test = np.concatenate([record["test"] for record in records])
            errors = np.abs(
                np.concatenate([record["predictions"] for record in records]) - y[test]
            )
            with np.errstate(divide="ignore", invalid="ignore"):
                units = np.where(errors == 0, 0.0, errors / mos_std[test])
            units = np.sort(units)
            shares = 100 * np.arange(1, len(units) + 1) / len(units)
            axis.step(
                units,
                shares,
                where="post",
                label=f"Exp {row['experiment']}: {row['label']}",
            )
        if _family(results.dataset["name"]) == "CLIVE":
            axis.plot(
                [1, 2, 3],
                PAPER_CLIVE_ERRORS["within_std"],
                "k*",
                markersize=10,
                label="paper, DeepBIQ (Exp III)",
            )
        for k in (1, 2, 3):
            axis.axvline(k, color="grey", linewidth=0.5)
        axis.set_xlim(0, 4)
        axis.set_xlabel("|prediction - MOS| / std of the ratings")
        axis.set_ylabel("% of test images (all splits)")
        axis.set_title("Cumulative error in units of human disagreement")
        axis.legend(fontsize=7, loc="lower right")
        figure.savefig(output / PLOT_FILES[1], dpi=120)
        files.append(str(output / PLOT_FILES[1]))

    if results.crop_study:
        figure = Figure(figsize=(6, 4.2), layout="constrained")
        axis = figure.subplots()
        for name, study in results.crop_study.items():
            counts = study["crop_counts"]
            by_split = np.array(
                [
                    [
                        s["srocc"]
                        for s in results.configs["II"][f"{name}-k{k}"]["splits"]
                    ]
                    for k in counts
                ]
            )
            low, high = np.percentile(by_split, [25, 75], axis=1)
            (line,) = axis.plot(
                counts, study["median_srocc"], marker="o", label=FUSION_LABELS[name]
            )
            axis.fill_between(counts, low, high, color=line.get_color(), alpha=0.15)
            if study["chosen"] is not None:
                index = counts.index(study["chosen"])
                axis.plot(
                    study["chosen"],
                    study["median_srocc"][index],
                    "*",
                    color=line.get_color(),
                    markersize=14,
                )
        axis.set_xticks(results.settings["crop_counts"])
        axis.set_xlabel("number of random crops")
        axis.set_ylabel("median SROCC (band: quartiles over splits)")
        axis.set_title(
            "SROCC against crops; star: chosen by two-sample t-test "
            f"(alpha={results.settings['alpha']})",
            fontsize=9,
        )
        axis.legend(fontsize=8)
        figure.savefig(output / PLOT_FILES[2], dpi=120)
        files.append(str(output / PLOT_FILES[2]))
    return files
