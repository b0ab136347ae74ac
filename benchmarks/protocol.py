"""The CLIVE protocol that every accuracy benchmark shares, and its results files.

Not part of the package. One place for what the benchmarks would otherwise
each restate:

- the data: :func:`load_clive_dev` (``../shared/data/clive-dev``);
- the splits: :func:`clive_dev_splits`, the package's own
  :func:`skdeepbiq.model_selection.clive_splits` (ten random 80/20 splits).
  ``random_state=0`` gives the *choice* splits, on which every default was
  chosen; ``random_state=1`` the *fresh* splits, which no choice looked at
  and which confirm a choice before it becomes a default;
- the figures: :data:`METRICS` (SROCC, PLCC, KROCC, RMSE from
  :mod:`skdeepbiq.metrics`) per split, and their medians by
  :func:`skdeepbiq.model_selection.median_scores`;
- the results: :func:`record` appends one JSON line per run of an accuracy
  benchmark (the configuration, per-split figures, medians, machine,
  device, date, git commit) to a file of ``benchmarks/results/``, and
  :func:`append_result` one line of any other benchmark with the same
  provenance; ``render_docs.py`` renders the figures of the README and the
  docs from those files.
"""

from pathlib import Path

CLIVE_DEV = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "clive-dev"
RESULTS = Path(__file__).resolve().parent / "results"

#: What each seed of the splits is for.
SPLIT_SEEDS = {0: "choice", 1: "fresh"}


def load_clive_dev(root=None):
    """The clive-dev manifest as a Bunch, or exit with a message when absent."""
    from skdeepbiq.datasets import load_manifest

    manifest = Path(root or CLIVE_DEV) / "mos.csv"
    if not manifest.exists():
        raise SystemExit(f"{manifest} not found: pass --data FOLDER")
    return load_manifest(manifest)


def provenance(device="cpu") -> dict:
    """Date, git commit and machine of a run, for its JSON line.

    ``package_changed``: whether ``skdeepbiq/`` differs from the commit (then
    the commit alone does not say which code gave the figures).
    """
    import datetime
    import os
    import platform
    import subprocess

    import torch

    root = Path(__file__).resolve().parents[1]

    def git(*arguments):
        return subprocess.run(
            ["git", *arguments], cwd=root, capture_output=True, text=True
        )

    commit = git("rev-parse", "HEAD").stdout.strip() or None
    changed = bool(git("status", "--porcelain", "--", "skdeepbiq").stdout.strip())
    if str(device).startswith("cuda") or (
        device == "auto" and torch.cuda.is_available()
    ):
        device_name = torch.cuda.get_device_name()
    else:
        device_name = f"cpu ({platform.processor() or platform.machine()})"
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "package_changed": changed,
        "machine": {
            "node": platform.node(),
            "cpu_count": os.cpu_count(),
            "torch": torch.__version__,
            "device": device_name,
        },
    }


def append_jsonl(path, record) -> None:
    """Append ``record`` as one JSON line to ``path`` (folders created)."""
    import json

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as stream:
        stream.write(json.dumps(record) + "\n")


def append_result(name, line, device="cpu") -> dict:
    """Append ``line`` and its provenance to ``benchmarks/results/<name>``.

    Parameters
    ----------
    name : str or path-like
        File name under ``benchmarks/results/`` (``.jsonl``); an absolute
        path is used as it is.
    line : dict
        The results of the run.
    device : str, default="cpu"
        The device that computed them, as :func:`provenance` takes it
        (``"auto"`` names the GPU where CUDA is available).

    Returns
    -------
    line : dict
        The line written: ``line`` with :func:`provenance`'s entries.
    """
    line = {**line, **provenance(device)}
    append_jsonl(RESULTS / name, line)
    return line


def add_random_state_option(parser, *, several=False) -> None:
    """``--random-state``: the splits' seed, 0 the choice splits, 1 the fresh ones.

    With ``several``, one or more seeds (default: both).
    """
    parser.add_argument(
        "--random-state",
        type=int,
        nargs="+" if several else None,
        default=[0, 1] if several else 0,
        help="the splits' seed: 0 the choice splits, 1 the fresh ones",
    )


def clive_dev_splits(n_images, random_state=0, n_splits=10):
    """The protocol's (train, test) index pairs over ``n_images`` photos.

    ``skdeepbiq.model_selection.clive_splits(n_splits, random_state=...)``,
    materialised: ``random_state=0`` the choice splits, ``1`` the fresh ones.
    """
    import numpy as np

    from skdeepbiq.model_selection import clive_splits

    cv = clive_splits(n_splits=n_splits, random_state=random_state)
    return list(cv.split(np.zeros(n_images)))


def tuned_predictions(logs, random_state=None, label=None) -> dict:
    """split -> the tuned test predictions that ``finetune.py`` wrote in ``logs``.

    ``logs`` are ``finetune.py``'s printed logs (their final JSON line lists
    ``splits``, each with ``fine_tuned_predictions``) or its ``--results``
    files (one line per split, ``per_split`` with ``predictions``); a results
    line made on other splits than ``random_state``'s, or with ``label``
    given, of another configuration (its ``--label``), is skipped. Every JSON
    line is read; a later line's split replaces an earlier one's. Exits when
    the logs hold no predictions.
    """
    import json

    import numpy as np

    predictions = {}
    for log in logs:
        with open(log, encoding="utf-8") as stream:
            lines = [json.loads(line) for line in stream if line.startswith("{")]
        for line in lines:
            if "per_split" in line:
                if random_state is not None and line["random_state"] != random_state:
                    continue
                if label is not None and line["configuration"].get("label") != label:
                    continue
                rows, key = line["per_split"], "predictions"
            else:
                rows, key = line.get("splits", []), "fine_tuned_predictions"
            for row in rows:
                if key in row:
                    predictions[row["split"]] = np.array(row[key])
    if not predictions:
        labelled = "" if label is None else f" labelled {label!r}"
        raise SystemExit(
            f"no tuned predictions{labelled} in {', '.join(map(str, logs))}"
        )
    return predictions


def _metrics():
    from skdeepbiq.metrics import krocc, plcc, rmse, srocc

    return {"srocc": srocc, "plcc": plcc, "krocc": krocc, "rmse": rmse}


def figures(y_true, y_pred) -> dict:
    """SROCC, PLCC, KROCC and RMSE of one split's predictions."""
    return {name: float(metric(y_true, y_pred)) for name, metric in _metrics().items()}


def medians(per_split) -> dict:
    """The median of each figure over the splits (``median_scores``)."""
    from skdeepbiq.model_selection import median_scores

    return median_scores(
        [{key: split[key] for key in _metrics() if key in split} for split in per_split]
    )


def column_medians(per_split) -> dict:
    """The median of every entry of the splits' rows but ``split`` (None left out)."""
    import numpy as np

    return {
        key: float(np.median([row[key] for row in per_split if row[key] is not None]))
        for key in per_split[0]
        if key != "split"
    }


def record(results_file, *, benchmark, configuration, random_state, per_split,
           device="cpu", **extra) -> dict:  # fmt: skip
    """Append one run's JSON line to ``benchmarks/results/<results_file>``.

    Parameters
    ----------
    results_file : str
        File name under ``benchmarks/results/`` (``.jsonl``).
    benchmark : str
        The script, e.g. ``"clive_accuracy"``.
    configuration : dict
        What was measured, as the renderer looks it up (``{"model":
        "default"}``, ``{"model": "tuned", "recipe": {...}}``, ...).
    random_state : int
        The splits' seed (0 choice, 1 fresh).
    per_split : list of dict
        Each split's figures (:func:`figures`), with ``"split"`` and any
        other per-split entry (fit time, predictions).
    device : str, default="cpu"
        The device that computed them.
    **extra
        More entries for the line (timings, notes).

    Returns
    -------
    line : dict
        The line written.
    """
    line = {
        "benchmark": benchmark,
        "configuration": configuration,
        "random_state": random_state,
        "splits_kind": SPLIT_SEEDS.get(random_state, "other"),
        "n_splits": len(per_split),
        "medians": medians(per_split),
        "per_split": per_split,
        **extra,
        **provenance(device),
    }
    append_jsonl(RESULTS / results_file, line)
    return line
