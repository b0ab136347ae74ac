"""Render every measured figure of the README and the user guide from ``benchmarks/results/``.

Each figure comes from a JSON line that a benchmark wrote; this script
turns those lines into tables: ``docs/user_guide/*.txt`` fragments that the
pages ``.. include::``, and the README's regions between ``<!-- rendered:
NAME -->`` and ``<!-- end: NAME -->``, so that no figure is typed by hand.
``--check`` renders them in memory and exits 1, naming each fragment or
region, when a committed one differs (a test runs it).

=========================  ================================================
fragment                   rendered from
=========================  ================================================
README: accuracy,          ``clive_accuracy.jsonl``, ``fresh_splits.jsonl``,
accuracy_summary.txt       ``finetune.jsonl`` (the models, on the fresh and
                           the choice splits) and ``literature.jsonl``
                           (published figures, each with its source)
README: speed              ``busy_cpu.jsonl``, ``large_photos.jsonl``
accuracy_features.txt      ``accuracy_table.jsonl``: MobileNetV2's views
accuracy_backbones.txt     ``accuracy_table.jsonl``: EfficientNet-Lite rows
accuracy_untuned.txt       ``clive_accuracy.jsonl``, ``untuned_combinations.jsonl``:
                           the untuned default, the former one, and the Lites
                           alone and together, on both sets of splits
accuracy_finetuning.txt    ``finetune.jsonl``: every tuned configuration
accuracy_ensembles.txt     ``ensemble.jsonl``: the most accurate means
intervals_table.txt        ``intervals.jsonl``: coverage and width of the
                           interval methods, the raters' disagreement
your_photos_large.txt      ``large_photos.jsonl``: the latest run of each
                           command (``score``, ``score --maps``) at the
                           learned viewing scale
your_photos_scale.txt      ``scale_consistency.jsonl``: the latest run at 2x
                           and 4x before the viewing scale existed and with
                           it, and the latest run of photos made smaller
your_photos_busy.txt       ``busy_cpu.jsonl``: the latest run of each
                           condition
=========================  ================================================

Run from the repository root::

    python benchmarks/render_docs.py          # write the fragments
    python benchmarks/render_docs.py --check  # exit 1 if one differs
"""

import argparse
import json
import re
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PAGES = ROOT / "docs" / "user_guide"
BEFORE = "native (before the parameter existed)"


def records(name: str) -> list[dict]:
    """The JSON lines of ``benchmarks/results/<name>``, oldest first."""
    with open(RESULTS / name, encoding="utf-8") as stream:
        return [json.loads(line) for line in stream if line.strip()]


def latest(lines: list[dict], what: str, **wanted) -> dict:
    """The last line whose ``config`` has the ``wanted`` values."""
    for line in reversed(lines):
        config = line.get("config", line)
        if all(config.get(key) == value for key, value in wanted.items()):
            return line
    raise LookupError(f"no result of {what} with {wanted} in benchmarks/results")


def table(header: list[str], rows: list[list[str]]) -> str:
    """A reST simple table."""
    widths = [
        max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)
    ]
    rule = "  ".join("=" * width for width in widths)

    def line(cells):
        return "  ".join(
            cell.ljust(width) for cell, width in zip(cells, widths, strict=True)
        ).rstrip()

    return "\n".join([rule, line(header), rule, *map(line, rows), rule])


def source(line: dict, name: str) -> str:
    """Where a table's figures come from: file, commit and date."""
    commit = (line.get("commit") or line.get("git_commit") or "?")[:7]
    return f"``benchmarks/results/{name}``, commit {commit}, {line['date'][:10]}"


def machine(line: dict) -> str:
    """The machine of a run, in words."""
    info = line.get("machine", {})
    cpus = info.get("cpu_count")
    device = str(info.get("device", "cpu"))
    imported = re.fullmatch(r"cpu \((\d+) cores\)", device)  # import_logs.py's
    if imported:
        cpus = int(imported[1])
    return f"{cpus}-core CPU" if device.startswith("cpu") and cpus else device


def render_large() -> str:
    lines = records("large_photos.jsonl")
    parts = []
    for command in ("score", "score --maps"):
        line = latest(
            lines, "large_photos.py", command=command, viewing_scale="learned"
        )
        rows = line["rows"]
        reference = next(row for row in rows if row["megapixels"] == 0.25)
        body = []
        for row in rows:
            scores = ", ".join(f"{score:.1f}" for score in row["scores"])
            body.append(
                [
                    f"{row['megapixels']:g}",
                    row["size"],
                    f"{row['seconds']:.1f}",
                    f"{row['seconds'] / reference['seconds']:.2f}",
                    f"{row['peak_rss_gb']:.2f}",
                    scores,
                ]
            )
        header = ["megapixels", "pixels", "time (s)", "x 500x500", "peak GB", "score"]
        parts.append(
            f"``skdeepbiq {command}`` on one JPEG, medians of "
            f"{line['config']['repeats']} run(s) on a {machine(line)} "
            f"({source(line, 'large_photos.jsonl')}):\n\n" + table(header, body)
        )
    return "\n\n".join(parts) + "\n"


def render_scale() -> str:
    lines = records("scale_consistency.jsonl")
    header = [
        "photos",
        "viewing scale",
        "median absolute difference",
        "rank correlation",
    ]
    body, notes = [], []
    for scale, label in (
        (BEFORE, "native (before it existed)"),
        ("learned", "learned (500)"),
    ):
        line = latest(
            lines, "scale_consistency.py", viewing_scale=scale, factors=[2.0, 4.0]
        )
        notes.append(source(line, "scale_consistency.jsonl"))
        for factor in ("2x", "4x"):
            version = line["versions"][factor]
            body.append(
                [
                    f"enlarged {factor} ({version['first_size']})",
                    label,
                    f"{version['median_abs_diff']:.1f}",
                    f"{version['spearman_vs_1x']:.3f}",
                ]
            )
    smaller = latest(lines, "scale_consistency.py", factors=[0.5])
    notes.append(source(smaller, "scale_consistency.jsonl"))
    label = smaller["config"]["viewing_scale"]
    for name, what in (
        ("0.5x", "shrunk to 0.5x (250x250)"),
        ("0.5x->1x", "shrunk to 0.5x, enlarged back to 500x500"),
    ):
        version = smaller["versions"][name]
        body.append(
            [
                what,
                "learned (500)" if label == "learned" else label,
                f"{version['median_abs_diff']:.1f}",
                f"{version['spearman_vs_1x']:.3f}",
            ]
        )
    count = smaller["config"]["photos"]
    noise = line["versions"]["file"]["median_abs_diff"]  # the learned run's
    return (
        f"The shipped model on the first {count} clive-dev photos, each "
        "against its own 500x500 score (MOS points, 0-100; rank correlation "
        "of the two score lists); from "
        + "; ".join(dict.fromkeys(notes))
        + ":\n\n"
        + table(header, body)
        + "\n\nEvery version is a JPEG of quality 95; re-encoding alone (the "
        "original file against its 500x500 JPEG) moves a score by a median of "
        f"{noise:.1f} points.\n"
    )


def render_busy() -> str:
    lines = records("busy_cpu.jsonl")
    header = ["condition", "OMP_WAIT_POLICY", "busy processes", "time (s)"]
    body, notes = [], []
    for condition in ("default", "active", "default+busy", "active+busy"):
        line = latest(lines, "busy_cpu.py", condition=condition)
        notes.append(source(line, "busy_cpu.jsonl"))
        policy = line["omp_wait_policy"] or "unset (the command sets PASSIVE)"
        body.append(
            [
                condition,
                policy,
                str(line["busy_processes"]),
                f"{line['median_wall_s']:.1f}",
            ]
        )
    return (
        f"``{line['command']}`` ({line['n_images']} photos), medians of "
        f"{line['repeats']} runs on a {line['machine']['cpu_count']}-core CPU; "
        "from " + "; ".join(dict.fromkeys(notes)) + ":\n\n" + table(header, body) + "\n"
    )


# Accuracy ------------------------------------------------------------------

METRICS = ("srocc", "plcc", "krocc", "rmse")
FRESH, CHOICE = 1, 0

#: The summary's rows: (name in the table, results file, what to match in a
#: line's configuration). The shipped recipe's choice-split figures come
#: from the study's logs (``import_logs.py``).
SUMMARY = [
    (
        "``load_pretrained()``: ``DeepBIQRegressor(fine_tune=True)``",
        {
            FRESH: ("fresh_splits.jsonl", {"label": "DeepBIQRegressor(fine_tune=True)"}),
            CHOICE: (
                "finetune.jsonl",
                {"label": "EfficientNet-Lite2 deep, 25 trunk windows, C=1e-5 "
                 "(fine_tune=True)"},
            ),
        },
    ),
    ("``DeepBIQRegressor()``", {seed: ("clive_accuracy.jsonl", {"model": "default"})
                                for seed in (FRESH, CHOICE)}),
    # measured before the default moved to EfficientNet-Lite2 (its lines name
    # no "features"): the row names the model it measured
    ("MobileNetV2 stage means (the former default), ``C`` by nested "
     "cross-validation",
     {seed: ("clive_accuracy.jsonl", {"model": "nested-C", "features": None})
      for seed in (FRESH, CHOICE)}),
    ("the paper's method, MobileNetV2 for CaffeNet",
     {seed: ("clive_accuracy.jsonl", {"model": "paper"}) for seed in (FRESH, CHOICE)}),
]  # fmt: skip


def merged(name: str, random_state: int, **wanted) -> list[dict]:
    """Per-split figures of one configuration and seed, gathered over lines.

    A benchmark may write a configuration's splits over several lines (a
    tuned fit takes a quarter of an hour); a later line's split replaces an
    earlier one's. Empty when no line matches.
    """
    path = RESULTS / name
    if not path.exists():
        return []
    return by_split(
        line
        for line in records(name)
        if line.get("random_state") == random_state
        and all(
            line.get("configuration", {}).get(key) == value
            for key, value in wanted.items()
        )
    )


def by_split(lines) -> list[dict]:
    """The per-split rows of ``lines`` in split order; a later line's split wins."""
    splits = {row["split"]: row for line in lines for row in line["per_split"]}
    return [splits[number] for number in sorted(splits)]


def median_of(rows: list[dict], key: str) -> float | None:
    """The median of ``key`` over the rows that have it (None if none)."""
    values = [row[key] for row in rows if row.get(key) is not None]
    return statistics.median(values) if values else None


def pair(rows: list[dict]) -> str:
    """``SROCC / PLCC`` medians, with the number of splits when not ten."""
    if not rows:
        return "not measured"
    text = f"{median_of(rows, 'srocc'):.3f} / {median_of(rows, 'plcc'):.3f}"
    return text if len(rows) == 10 else f"{text} ({len(rows)} of 10 splits)"


def summary_rows() -> list[list[str]]:
    body = []
    for label, sources in SUMMARY:
        cells = [label]
        for seed in (FRESH, CHOICE):
            name, wanted = sources[seed]
            cells.append(pair(merged(name, seed, **wanted)))
        body.append(cells)
    return body


SUMMARY_HEADER = ["model", "fresh splits: SROCC / PLCC", "choice splits: SROCC / PLCC"]
PEERS_HEADER = ["published method", "SROCC", "PLCC", "protocol"]


def peer_rows() -> list[list[str]]:
    return [
        [
            line["method"],
            f"{line['srocc']:.3f}",
            f"{line['plcc']:.3f}",
            line["protocol"],
        ]
        for line in records("literature.jsonl")
    ]


def markdown(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table, with reST's double backquotes made single."""

    def cells(values):
        return "| " + " | ".join(value.replace("``", "`") for value in values) + " |"

    return "\n".join(
        [cells(header), "|" + "---|" * len(header), *(cells(row) for row in rows)]
    )


PROTOCOL = (
    "clive-dev's 812 photos, ten random 80/20 splits, medians; the *fresh* "
    "splits (``ShuffleSplit(10, test_size=0.2, random_state=1)``) played no part "
    "in any choice, the *choice* splits (``random_state=0``) chose every default"
)


def render_readme_accuracy() -> str:
    return (
        f"On {PROTOCOL.replace('``', '`')} (`python benchmarks/clive_accuracy.py`, "
        "`python benchmarks/finetune.py`):\n\n"
        + markdown(SUMMARY_HEADER, summary_rows()).replace("``", "`")
        + "\n\nPublished figures on the full CLIVE database (1,162 photos), for "
        "scale; their protocols differ from clive-dev's:\n\n"
        + markdown(PEERS_HEADER, peer_rows())
        + "\n"
    )


def render_summary() -> str:
    return (
        f"On {PROTOCOL}; from ``benchmarks/results/clive_accuracy.jsonl``, "
        "``fresh_splits.jsonl`` and ``finetune.jsonl``:\n\n"
        + table(SUMMARY_HEADER, summary_rows())
        + "\n\nPublished figures on the full CLIVE database (1,162 photos), "
        "for scale; their protocols differ from clive-dev's (from "
        "``benchmarks/results/literature.jsonl``, which names each source):\n\n"
        + table(PEERS_HEADER, peer_rows())
        + "\n"
    )


def accuracy_table_rows(lite: bool) -> list[list[str]]:
    """The ``accuracy_table.py`` rows of MobileNetV2 (or the EfficientNet-Lites)."""
    rows = {}
    for line in records("accuracy_table.jsonl"):
        if "view" in line and line.get("random_state", 0) == 0:
            rows[(line["view"], line["regressor"])] = line  # a later run wins
    body = []
    for (view, regressor), line in rows.items():
        if view.startswith("lite") != lite:
            continue
        speed = line.get("images_per_s")
        body.append(
            [view, regressor]
            + [f"{line[key]:.3f}" for key in ("srocc", "plcc", "krocc")]
            + [
                f"{line['rmse']:.2f}",
                "" if speed != speed or speed is None else f"{speed:.2f}",
            ]
        )
    return body


FEATURES_HEADER = [
    "features",
    "regressor",
    "SROCC",
    "PLCC",
    "KROCC",
    "RMSE",
    "photos/s",
]
LEGACY = (
    "(``benchmarks/results/accuracy_table.jsonl``, written by "
    "``accuracy_table.py`` before ``protocol.py``: no commit recorded; "
    "choice splits; photos/s of the featurizer on the 2-core CPU, blank where "
    "not timed)"
)


def render_features() -> str:
    return (
        f"MobileNetV2, untuned {LEGACY}:\n\n"
        + table(FEATURES_HEADER, accuracy_table_rows(lite=False))
        + "\n"
    )


def render_backbones() -> str:
    return (
        f"EfficientNet-Lite0, -Lite1 and -Lite2, untuned {LEGACY}:\n\n"
        + table(FEATURES_HEADER, accuracy_table_rows(lite=True))
        + "\n"
    )


#: Short names of ``accuracy_table.py``'s views in the untuned-default table.
VIEW_NAMES = {
    "lite1-stages-mean-std-trunk": "EfficientNet-Lite1",
    "lite2-stages-mean-std-trunk": "EfficientNet-Lite2",
}


def combination_name(combination: str) -> str:
    """``mean(a+b)`` as "mean of the scores: A + B", ``concat(a+b)`` as
    "features side by side: A + B", a view alone as "A" (short names)."""
    match = re.fullmatch(r"(mean|concat)\((.*)\)", combination)
    views = (match.group(2) if match else combination).split("+")
    named = " + ".join(VIEW_NAMES.get(view, view) for view in views)
    if not match:
        return named
    return {"mean": "mean of the scores: ", "concat": "features side by side: "}[
        match.group(1)
    ] + named


def render_untuned() -> str:
    header = ["untuned model", "fresh: SROCC / PLCC", "choice: SROCC / PLCC"]

    def row(label, name, **wanted):
        return [label] + [
            pair(merged(name, seed, **wanted)) for seed in (FRESH, CHOICE)
        ]

    body = [
        row("``DeepBIQRegressor()``", "clive_accuracy.jsonl", model="default"),
        row("MobileNetV2 stage means, ``C=3e-4`` (the former default)",
            "clive_accuracy.jsonl", model="mobilenet"),
    ]  # fmt: skip
    combinations = dict.fromkeys(
        line["configuration"]["combination"]
        for line in records("untuned_combinations.jsonl")
    )
    body += [
        row(combination_name(combination), "untuned_combinations.jsonl",
            combination=combination)
        for combination in combinations
    ]  # fmt: skip
    return (
        "Untuned models on both sets of splits (``clive_accuracy.py``: "
        "``DeepBIQRegressor()`` and the former default; ``untuned_combinations.py``: "
        "EfficientNet-Lite1 and -Lite2, each stage's mean and standard deviation "
        "over 25 trunk windows, alone and together, ``C=1e-4``; "
        "``benchmarks/results/clive_accuracy.jsonl`` and "
        "``untuned_combinations.jsonl``):\n\n" + table(header, body) + "\n"
    )


def render_finetuning() -> str:
    header = ["configuration", "splits", "SROCC", "PLCC", "KROCC", "RMSE", "fit (s)",
              "device"]  # fmt: skip
    lines = {}  # label -> its lines; finetune.py --results writes one per split
    for line in records("finetune.jsonl"):
        if line.get("random_state", CHOICE) == CHOICE:
            lines.setdefault(line["configuration"]["label"], []).append(line)
    body = []
    for label, labelled in lines.items():
        rows = by_split(labelled)
        cells = [label, str(len(rows))]
        for key in METRICS:
            value = median_of(rows, key)
            digits = 2 if key == "rmse" else 3
            cells.append("" if value is None else f"{value:.{digits}f}")
        fit = median_of(rows, "fit_seconds")
        cells.append("" if fit is None else f"{fit:.0f}")
        cells.append(machine(labelled[-1]))
        body.append(cells)
    return (
        "Each split's network tuned on its training photos only, choice splits, "
        "medians over the splits measured (``benchmarks/results/finetune.jsonl``, "
        "read from the study's logs by ``import_logs.py``; each line names its "
        "logs); fit: the median time of one tuned fit on about 650 photos:\n\n"
        + table(header, body)
        + "\n"
    )


def render_ensembles() -> str:
    models = {}  # a model or mean on other splits than before is another row
    for line in records("ensemble.jsonl"):
        if line.get("random_state", 0) == 0:  # the choice splits
            models[line["model"], tuple(line["splits"])] = line
    best = sorted(models.values(), key=lambda line: -line["srocc"])[:12]
    undated = sum("commit" not in line for line in models.values())
    body = [
        [line["model"].replace(" + ", " + "), str(len(line["splits"]))]
        + [f"{line[key]:.3f}" for key in ("srocc", "plcc", "krocc")]
        + [f"{line['rmse']:.2f}"]
        for line in best
    ]
    return (
        "The twelve most accurate of the "
        f"{len(models)} models and means measured by ``benchmarks/ensemble.py``, "
        "each on the splits it was measured on "
        f"(``benchmarks/results/ensemble.jsonl``, {undated} of them from runs that "
        "recorded no commit; choice splits; "
        "``tuned:`` members are the tuned split models of the fine-tuning "
        "study):\n\n"
        + table(
            ["model or mean of models", "splits", "SROCC", "PLCC", "KROCC", "RMSE"],
            body,
        )
        + "\n"
    )


# Intervals -----------------------------------------------------------------

METHOD_NAMES = {
    "absolute": "``absolute``",
    "crop_spread": "``crop_spread``",
    "score_bins": "``score_bins``",
}


def interval_lines() -> dict:
    """The latest ``intervals.py`` line of each (model, seed)."""
    found = {}
    for line in records("intervals.jsonl"):
        found[(line["configuration"]["model"], line["random_state"])] = line
    return found


def render_intervals() -> str:
    lines = interval_lines()
    default = {seed: lines.get(("default", seed)) for seed in (FRESH, CHOICE)}
    if not all(default.values()):
        return "The interval benchmark has not been run yet.\n"
    methods = [
        m
        for m in METHOD_NAMES
        if f"{m}_0.9_coverage" in default[FRESH]["interval_medians"]
    ]
    body = []
    for method in methods:
        for level in default[FRESH]["configuration"]["levels"]:
            key = f"{method}_{level:g}"
            cells = [METHOD_NAMES[method], f"{level:.0%}"]
            for seed in (FRESH, CHOICE):
                medians = default[seed]["interval_medians"]
                cells += [
                    f"{medians[f'{key}_coverage']:.3f}",
                    f"{medians[f'{key}_width']:.1f}",
                ]
            body.append(cells)
    calibration = table(
        ["method", "confidence", "fresh: coverage", "fresh: width",
         "choice: coverage", "choice: width"],
        body,
    )  # fmt: skip
    thirds = []
    for method in methods:
        medians = default[FRESH]["interval_medians"]
        thirds.append(
            [METHOD_NAMES[method]]
            + [f"{medians[f'{method}_0.9_coverage_mos{t}']:.3f}" for t in range(3)]
            + [f"{medians[f'{method}_0.9_coverage_spread{t}']:.3f}" for t in range(3)]
        )
    by_third = table(
        ["method", "low MOS", "middle MOS", "high MOS", "low spread",
         "middle spread", "high spread"],
        thirds,
    )  # fmt: skip
    fresh = default[FRESH]["interval_medians"]
    choice = default[CHOICE]["interval_medians"]
    text = (
        "``DeepBIQRegressor()`` on clive-dev, calibrated on out-of-fold "
        "predictions of each split's training photos (``calibrate(cv=5)``) and "
        "scored on its test photos; medians over the ten fresh and the ten "
        "choice splits of empirical coverage and mean width (MOS points) "
        "(``benchmarks/results/intervals.jsonl``):\n\n"
        + calibration
        + "\n\nCoverage of the 90% intervals in each third of the true MOS "
        "and of the crop spread (thirds of all of clive-dev's photos), fresh "
        "splits:\n\n"
        + by_third
        + "\n\nThe raters' disagreement (``mos_std``), predicted by a second "
        "``DeepBIQRegressor()`` on the same features: rank correlation "
        f"{fresh['mos_std_srocc']:.2f} with the true ``mos_std`` on the fresh splits "
        f"({choice['mos_std_srocc']:.2f} on the choice splits); the crop spread's "
        f"rank correlation with ``mos_std`` is {fresh['spread_mos_std_srocc']:.2f}, "
        f"and with the absolute error {fresh['spread_error_srocc']:.2f}.\n"
    )
    recipe = lines.get(("shipped recipe", CHOICE))
    if recipe is not None:
        medians = recipe["interval_medians"]
        body = []
        for method in ("absolute", "score_bins"):
            for level in (0.8, 0.9, 0.95):
                key = f"{method}_{level:g}"
                body.append(
                    [METHOD_NAMES[method], f"{level:.0%}",
                     f"{medians[f'{key}_coverage']:.3f}", f"{medians[f'{key}_width']:.1f}"]
                    + ([f"{medians[f'{key}_coverage_mos{t}']:.2f}" for t in range(3)]
                       if level == 0.9 else ["", "", ""])
                )  # fmt: skip
        text += (
            "\nThe shipped recipe (``DeepBIQRegressor(fine_tune=True)``), from "
            "its out-of-fold predictions on the choice splits (each split's "
            f"network tuned on its training photos only; ``{recipe['configuration']['log']}``): "
            "each split's test photos scored with intervals calibrated on the "
            "other splits' predictions of the other photos:\n\n"
            + table(
                [
                    "method",
                    "confidence",
                    "coverage",
                    "width",
                    "low MOS",
                    "middle MOS",
                    "high MOS",
                ],
                body,
            )  # fmt: skip
            + "\n"
        )
    return text


def render_readme_speed() -> str:
    busy = latest(records("busy_cpu.jsonl"), "busy_cpu.py", condition="default")
    large = latest(
        records("large_photos.jsonl"), "large_photos.py", command="score",
        viewing_scale="learned",
    )  # fmt: skip
    rows = {row["megapixels"]: row for row in large["rows"]}
    small, big = rows[0.25], rows[24]
    return (
        f"Speed, {busy['machine']['cpu_count']}-core CPU: `{busy['command']}` "
        f"({busy['n_images']} photos, start-up included) {busy['median_wall_s']:.1f} s; "
        f"one 24-megapixel JPEG {big['seconds']:.1f} s and {big['peak_rss_gb']:.2f} GB "
        f"({small['seconds']:.1f} s for a 500x500 photo); "
        'the "Your photos" page has the tables.\n'
    )


FRAGMENTS = {
    "accuracy_summary.txt": render_summary,
    "accuracy_features.txt": render_features,
    "accuracy_backbones.txt": render_backbones,
    "accuracy_untuned.txt": render_untuned,
    "accuracy_finetuning.txt": render_finetuning,
    "accuracy_ensembles.txt": render_ensembles,
    "intervals_table.txt": render_intervals,
    "your_photos_large.txt": render_large,
    "your_photos_scale.txt": render_scale,
    "your_photos_busy.txt": render_busy,
}


SHIPPED = ROOT / "skdeepbiq" / "data" / "clive-efficientnet_lite2.npz"


def shipped_metadata() -> dict:
    """The shipped model file's metadata (a JSON string among its arrays)."""
    import numpy as np

    with np.load(SHIPPED, allow_pickle=False) as model:
        return json.loads(str(model["metadata"]))


def render_readme_samples() -> str:
    """What ``skdeepbiq score examples/images`` prints: the shipped model's file."""
    scores = shipped_metadata()["sample_scores"]
    rows = [f"examples/images/{name},{score:.2f}" for name, score in scores.items()]
    return "```\npath,score\n" + "\n".join(rows) + "\n```\n"


def render_model_card() -> str:
    """The shipped model's accuracy, fit time and size, for its README."""
    rows = [row for row in summary_rows() if "nested" not in row[0]]
    fit = shipped_metadata()["fit_seconds"]
    return (
        markdown(SUMMARY_HEADER, rows)
        + f"\n\nFitting it (fine-tuning included, nothing cached) on the 812 "
        f"photos took {fit:,.0f} s on a 2-core CPU (`fit_seconds` in its metadata); "
        f"the file is {SHIPPED.stat().st_size / 1e6:.1f} MB.\n"
    )


#: The regions of Markdown files rendered in place, by file.
REGIONS = {
    ROOT / "README.md": {
        "samples": render_readme_samples,
        "accuracy": render_readme_accuracy,
        "speed": render_readme_speed,
    },
    ROOT / "skdeepbiq" / "data" / "README.md": {"model_card": render_model_card},
}
HEADER = (
    ".. Rendered by benchmarks/render_docs.py from benchmarks/results/: "
    "do not edit.\n\n"
)


def with_regions(readme: str, regions: dict) -> str:
    """``readme`` with each rendered region replaced by what the results give."""
    for name, render in regions.items():
        pattern = re.compile(
            rf"(<!-- rendered: {name} -->\n).*?(<!-- end: {name} -->)", re.DOTALL
        )
        if pattern.search(readme) is None:
            raise SystemExit(f"no region <!-- rendered: {name} --> to render into")
        match = pattern.search(readme)
        readme = (
            readme[: match.start()]
            + match[1]
            + render()
            + match[2]
            + readme[match.end() :]
        )
    return readme


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if a committed fragment differs"
    )
    parser.add_argument(
        "--pages", default=str(PAGES), help="folder of the fragments (the user guide)"
    )
    parser.add_argument(
        "--markdown",
        default=None,
        help="a folder holding copies of the Markdown files to render into "
        "(README.md, README-data.md), in place of the committed ones",
    )
    args = parser.parse_args()
    pages = Path(args.pages)
    outputs = {pages / name: HEADER + render() for name, render in FRAGMENTS.items()}
    for path, regions in REGIONS.items():
        if args.markdown:
            name = "README.md" if path.parent == ROOT else "README-data.md"
            path = Path(args.markdown) / name
        outputs[path] = with_regions(path.read_text(encoding="utf-8"), regions)
    stale = []
    for path, text in outputs.items():
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path))
        elif not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}", file=sys.stderr)
    if stale:
        print(
            "these differ from what benchmarks/results/ renders: "
            + ", ".join(stale)
            + "; run python benchmarks/render_docs.py",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
