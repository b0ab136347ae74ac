"""The plots of ``reproduce``'s report: predictions, errors, SROCC against crops.

Plots use matplotlib's object interface (no pyplot, no global backend
change) and need the ``plot`` extra; :func:`check_matplotlib` says so
before any work starts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .report import FUSION_LABELS, PAPER_CLIVE_ERRORS, paper_family

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


def write_plots(results, output: Path, y, mos_std) -> list[str]:
    """Write the plots of ``results`` into ``output``; return their paths.

    Predictions against scores on the median split of each reported row;
    the cumulative error in units of the ratings' standard deviation (when
    ``mos_std`` is given); Exp II's SROCC against the number of crops.
    """
    y = np.asarray(y)
    reported = [
        (row, results.records[row["experiment"]][row["config"]]) for row in results.rows
    ]
    figures = {}
    if reported:
        figures[PLOT_FILES[0]] = _scatter(reported, y)
    if reported and mos_std is not None:
        clive = paper_family(results.dataset["name"]) == "CLIVE"
        figures[PLOT_FILES[1]] = _cumulative_error(reported, y, mos_std, clive)
    if results.crop_study:
        figures[PLOT_FILES[2]] = _srocc_against_crops(results)
    for name, figure in figures.items():
        figure.savefig(output / name, dpi=120)
    return [str(output / name) for name in figures]


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


def _scatter(reported: list, y: np.ndarray):
    """Predictions against scores, one panel per row, on its median split."""
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
    return figure


def _cumulative_error(reported: list, y: np.ndarray, mos_std, clive: bool):
    """Share of test images within k standard deviations of their ratings."""
    from matplotlib.figure import Figure

    mos_std = np.asarray(mos_std, dtype=float)
    figure = Figure(figsize=(6, 4.2), layout="constrained")
    axis = figure.subplots()
    for row, records in reported:
        test = np.concatenate([record["test"] for record in records])
        predictions = np.concatenate([record["predictions"] for record in records])
        errors = np.abs(predictions - y[test])
        with np.errstate(divide="ignore", invalid="ignore"):
            units = np.sort(np.where(errors == 0, 0.0, errors / mos_std[test]))
        shares = 100 * np.arange(1, len(units) + 1) / len(units)
        label = f"Exp {row['experiment']}: {row['label']}"
        axis.step(units, shares, where="post", label=label)
    if clive:
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
    return figure


def _srocc_against_crops(results):
    """Exp II: median SROCC (quartile band) by number of crops, per fusion."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 4.2), layout="constrained")
    axis = figure.subplots()
    for name, study in results.crop_study.items():
        counts = study["crop_counts"]
        configs = results.configs["II"]
        by_split = np.array(
            [[s["srocc"] for s in configs[f"{name}-k{k}"]["splits"]] for k in counts]
        )
        low, high = np.percentile(by_split, [25, 75], axis=1)
        (line,) = axis.plot(
            counts, study["median_srocc"], marker="o", label=FUSION_LABELS[name]
        )
        axis.fill_between(counts, low, high, color=line.get_color(), alpha=0.15)
        if study["chosen"] is not None:
            index = counts.index(study["chosen"])
            chosen_srocc = study["median_srocc"][index]
            color = line.get_color()
            axis.plot(study["chosen"], chosen_srocc, "*", color=color, markersize=14)
    axis.set_xticks(results.settings["crop_counts"])
    axis.set_xlabel("number of random crops")
    axis.set_ylabel("median SROCC (band: quartiles over splits)")
    axis.set_title(
        "SROCC against crops; star: chosen by two-sample t-test "
        f"(alpha={results.settings['alpha']})",
        fontsize=9,
    )
    axis.legend(fontsize=8)
    return figure
