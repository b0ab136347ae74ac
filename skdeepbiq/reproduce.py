"""``reproduce``: the experiments of Bianco et al. (2018) on a local dataset.

Exp I (one central crop), Exp II (random crops: feature pooling,
concatenation, prediction pooling, and the number of crops chosen by
two-sample t-tests over the splits) and Exp III (fine-tuned backbone, when
this version of the featurizer can fine-tune) under the paper's protocol:
10 random 80/20 splits of the images, or, for databases with reference
images, random 60/20/20 splits by reference with the SVR's ``C`` picked on
the validation part. The CNN runs once per image and crop setting (features
are cached on disk); the splits reuse those features through
``DeepBIQRegressor(featurizer="precomputed")``. Each finished split is
written to ``output_dir/splits/`` at once, so an interrupted run resumes
where it stopped. The report (``report.md``, ``report.json``, PNG plots) is
written by :mod:`skdeepbiq._report`.
"""

from __future__ import annotations

import os
import time
from numbers import Integral
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ._arguments import batch_size as batch_size_argument
from ._experiments import (
    C_FACTORS,
    FINE_TUNED,
    FUSIONS,
    SplitRunner,
    SplitStore,
    choose_crop_count,
    paper_splits,
    split_scores,
    study_crop_counts,
    summarize,
)

__all__ = [
    "choose_crop_count",
    "configure_parser",
    "load_dataset",
    "reproduce",
    "run_from_args",
    "split_scores",
]

EXPERIMENTS = ("I", "II", "III")
DEFAULT_CROP_COUNTS = (1, 5, 10, 15, 20, 25)
DATASET_TYPES = (
    "auto",
    "manifest",
    "clive",
    "live",
    "csiq",
    "tid2008",
    "tid2013",
    "kadid10k",
    "koniq10k",
)


# Datasets ------------------------------------------------------------------


def load_dataset(source, dataset_type="auto"):
    """Load a dataset from a manifest CSV or a database root, guessing its type.

    Parameters
    ----------
    source : str or path-like
        A CSV manifest (``image, mos[, mos_std][, group]``), a folder holding
        ``mos.csv`` (such as clive-dev), or the root of a database in its
        official layout.
    dataset_type : {"auto", "manifest", "clive", "live", "csiq", "tid2008", \
"tid2013", "kadid10k", "koniq10k"}, default="auto"
        ``"auto"`` recognises each layout by its files (a TID root by a
        folder name containing 2008 or 2013).

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        As returned by the loaders of :mod:`skdeepbiq.datasets`.
    """
    from . import datasets

    path = Path(os.path.abspath(os.path.expanduser(os.fspath(source))))
    if dataset_type not in DATASET_TYPES:
        raise ValueError(
            f"dataset_type must be one of {list(DATASET_TYPES)}, got {dataset_type!r}"
        )
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    if dataset_type == "auto":
        dataset_type = _guess_type(path)
    if dataset_type == "manifest":
        return datasets.load_manifest(path / "mos.csv" if path.is_dir() else path)
    loader = getattr(datasets, f"load_{dataset_type}")
    return loader(path)


def _guess_type(path: Path) -> str:
    if path.is_file():
        return "manifest"
    markers = [
        ("mos.csv", "manifest"),
        ("Data/AllMOS_release.mat", "clive"),
        ("refnames_all.mat", "live"),
        ("dst_imgs", "csiq"),
        ("koniq10k_scores_and_distributions.csv", "koniq10k"),
        ("dmos.csv", "kadid10k"),
    ]
    for marker, kind in markers:
        if (path / marker).exists():
            return kind
    if (path / "mos_with_names.txt").exists():
        for year in ("2013", "2008"):
            if year in path.name:
                return f"tid{year}"
        raise ValueError(
            f"{path}: a TID layout, but not named after TID2008 or TID2013; "
            "pass dataset_type='tid2008' or 'tid2013'"
        )
    raise FileNotFoundError(
        f"{path}: not a dataset this command knows; expected a CSV manifest "
        "(image, mos[, mos_std][, group]), a folder holding mos.csv, or a "
        "database root in its official layout (CLIVE: Data/AllMOS_release.mat; "
        "LIVE: refnames_all.mat; CSIQ: dst_imgs/; TID: mos_with_names.txt; "
        "KADID-10k: dmos.csv; KonIQ-10k: koniq10k_scores_and_distributions.csv)"
    )


# The experiments ------------------------------------------------------------


def _check_experiments(experiments) -> tuple[str, ...]:
    if isinstance(experiments, str):
        experiments = [experiments]
    chosen = [str(name).upper() for name in experiments]
    unknown = [name for name in chosen if name not in EXPERIMENTS]
    if unknown or not chosen:
        raise ValueError(
            f"experiments must be among {list(EXPERIMENTS)}, got {list(experiments)}"
        )
    return tuple(name for name in EXPERIMENTS if name in chosen)


def _check_crop_counts(crop_counts) -> tuple[int, ...]:
    counts = list(crop_counts)
    if not counts or not all(
        isinstance(count, Integral) and not isinstance(count, bool) and count >= 1
        for count in counts
    ):
        raise ValueError(f"crop_counts must be integers >= 1, got {crop_counts!r}")
    return tuple(sorted({int(count) for count in counts}))


def _fine_tuning_available() -> bool:
    from ._featurizer import CNNCropFeaturizer

    return "fine_tune" in CNNCropFeaturizer().get_params()


def _default_fine_tuning(y) -> dict:
    """Exp III's featurizer parameters: the paper's five classes of the scale.

    Scores within 0-100 that span more than half of it get the paper's
    classes of the 0-100 scale; other scales are cut into five equal classes
    of their observed range.
    """
    low, high = float(np.min(y)), float(np.max(y))
    if 0 <= low and high <= 100 and high - low > 50:
        return {"fine_tune": True}
    from ._finetune import FineTuning

    return {"fine_tune": FineTuning(score_range=(low, high))}


def reproduce(
    dataset,
    output_dir,
    experiments=EXPERIMENTS,
    n_splits=10,
    *,
    crop_counts=DEFAULT_CROP_COUNTS,
    cache=None,
    backbone="mobilenet_v2",
    weights="IMAGENET1K_V1",
    crop_size=224,
    random_state=0,
    device="auto",
    batch_size="auto",
    n_jobs=None,
    dataset_type="auto",
    alpha=0.05,
    C=None,
    fine_tune_params=None,
    plots=True,
    verbose=1,
):
    """Run the paper's experiments on a dataset and write a report.

    Exp I: the central crop of the image resized to 256 (one feature vector
    per image). Exp II: random crops at the original scale, fused by
    feature pooling (mean), feature concatenation and prediction pooling
    (mean), each for every number of crops in ``crop_counts`` (the first
    ``k`` of the same ``max(crop_counts)`` crops); the number reported is
    chosen by two-sample t-tests over the splits
    (:func:`choose_crop_count`). Exp III: the paper's two fine-tuned
    configurations (20 and 25 crops, at most ``max(crop_counts)``), the
    backbone fine-tuned on the training images of each split; run only when :class:`~skdeepbiq.CNNCropFeaturizer` has a
    ``fine_tune`` parameter, otherwise skipped with a note in the report.

    Protocol: datasets without reference images (``groups`` is None) get
    ``n_splits`` random 80/20 splits of the images
    (:func:`~skdeepbiq.model_selection.clive_splits`); datasets with
    reference images get random 60/20/20 splits by reference
    (:class:`~skdeepbiq.model_selection.ReferenceSplit`), the SVR's ``C``
    chosen among ``C * (0.1, 1, 10)`` by SROCC on the validation part, then
    refit on train and validation. Reported figures are medians over the
    splits.

    The CNN runs once per image and crop setting; features are cached in
    ``cache``. Each finished (experiment, configuration, split) is written
    to ``output_dir/splits/`` as it finishes; rerunning with the same
    settings reads them back instead of refitting, so an interrupted run
    resumes where it stopped.

    Parameters
    ----------
    dataset : str, path-like or Bunch
        A CSV manifest, a folder holding ``mos.csv``, a database root in its
        official layout (see :func:`load_dataset`), or a Bunch from
        :mod:`skdeepbiq.datasets` with image ``paths``.
    output_dir : str or path-like
        Where the report, the plots and ``splits/`` go (created if needed).
    experiments : sequence of {"I", "II", "III"}, default=("I", "II", "III")
        Which experiments to run.
    n_splits : int, default=10
        Number of random splits (the paper: 10 on CLIVE, 100 on the
        databases with reference images).
    crop_counts : sequence of int, default=(1, 5, 10, 15, 20, 25)
        Numbers of random crops studied in Exp II. The featurizer cuts
        ``max(crop_counts)`` crops per image. The paper went up to 50; on a
        CPU 25 keeps the run short.
    cache : str, path-like or None, default=None
        Feature cache folder (the featurizer's ``memory``); None uses
        ``output_dir/cache``.
    backbone, weights, crop_size, device, batch_size, n_jobs
        Passed to :class:`~skdeepbiq.CNNCropFeaturizer`.
    random_state : int, default=0
        Seeds the splits and the crop positions.
    dataset_type : str, default="auto"
        See :func:`load_dataset`.
    alpha : float, default=0.05
        Significance level of the t-tests choosing the number of crops.
    C : float, default=None
        ``C`` of the LinearSVR on standardised features; None uses the
        package default (``1e-3``). Concatenated features get ``C / k`` for
        ``k`` crops, which is the same as scaling the concatenated vector to
        the norm of one crop's.
    fine_tune_params : dict, default=None
        Featurizer parameters of Exp III, e.g. ``{"fine_tune":
        FineTuning(epochs=2)}``. None means ``{"fine_tune": True}`` (the
        paper's five classes of the 0-100 scale), or five equal classes of
        the scores' range for scores on another scale.
    plots : bool, default=True
        Write the PNG plots (needs matplotlib: ``pip install
        skdeepbiq[plot]``).
    verbose : int, default=1
        Progress bars when positive.

    Returns
    -------
    results : :class:`~sklearn.utils.Bunch`
        ``rows`` (the report's table: paper and ours side by side),
        ``configs`` (per experiment and configuration: scores of each split
        and medians), ``crop_study`` (Exp II: median SROCC by number of
        crops, t-test p-values, the chosen number), ``experiments`` (status
        of each), ``dataset``, ``settings``, ``timing``, ``files`` (the
        written paths), ``n_splits_computed`` and ``n_splits_reused`` (this
        call), and ``records`` (every split's predictions, not in the JSON).

    Examples
    --------
    >>> from skdeepbiq.reproduce import reproduce
    >>> results = reproduce("clive-dev", "report", cache="cache")  # doctest: +SKIP
    >>> results.rows[0]["ours"]["srocc"]  # doctest: +SKIP
    """
    from . import _report
    from ._featurizer import CNNCropFeaturizer
    from ._regressor import DEFAULT_C

    started = time.perf_counter()
    timing = {}
    experiments = _check_experiments(experiments)
    crop_counts = _check_crop_counts(crop_counts)
    if plots:
        _report.check_matplotlib()
    output = Path(os.path.abspath(os.path.expanduser(os.fspath(output_dir))))
    output.mkdir(parents=True, exist_ok=True)

    data = dataset if isinstance(dataset, dict) else load_dataset(dataset, dataset_type)
    if data.get("paths") is None:
        raise ValueError("the dataset must give image paths (Bunch.paths)")
    splits, protocol = paper_splits(data, n_splits, random_state)
    timing["load_dataset"] = time.perf_counter() - started
    base_c = DEFAULT_C if C is None else float(C)
    store = SplitStore(output / "splits")
    runner = SplitRunner(data, splits, store, base_c, verbose)
    common = {
        "backbone": backbone,
        "weights": weights,
        "crop_size": crop_size,
        "random_state": random_state,
        "device": device,
        "batch_size": batch_size,
        "n_jobs": n_jobs,
        "memory": os.fspath(cache) if cache is not None else str(output / "cache"),
        "verbose": verbose,
    }
    feature_config = {
        key: str(value) if key == "weights" else value
        for key, value in common.items()
        if key in ("backbone", "weights", "crop_size", "random_state")
    }
    paths = list(data.paths)

    def features_of(**params) -> np.ndarray:
        featurizer = CNNCropFeaturizer(**common, **params).fit(paths)
        rows = featurizer.transform(paths)
        return rows.reshape(len(paths), featurizer.n_crops_, -1)

    records, status = {}, {}
    if "I" in experiments:
        tic = time.perf_counter()
        center = features_of(crops="center")
        timing["features_I"] = time.perf_counter() - tic
        tic = time.perf_counter()
        records["I"] = runner.run(
            "I",
            {"center": ("prediction", "mean", 1)},
            center,
            {**feature_config, "crops": "center"},
        )
        timing["splits_I"] = time.perf_counter() - tic
        status["I"] = "done"
    if "II" in experiments:
        tic = time.perf_counter()
        n_max = max(crop_counts)
        random_crops = features_of(crops="random", n_crops=n_max)
        timing["features_II"] = time.perf_counter() - tic
        tic = time.perf_counter()
        configs = {
            f"{name}-k{count}": (fusion, pooling, count)
            for name, (fusion, pooling) in FUSIONS.items()
            for count in crop_counts
        }
        records["II"] = runner.run(
            "II",
            configs,
            random_crops,
            {**feature_config, "crops": "random", "n_crops": n_max},
        )
        timing["splits_II"] = time.perf_counter() - tic
        status["II"] = "done"
    if "III" in experiments:
        if not _fine_tuning_available():
            status["III"] = (
                "skipped: this version of skdeepbiq cannot fine-tune the backbone "
                "(CNNCropFeaturizer has no fine_tune parameter)"
            )
        else:
            tic = time.perf_counter()
            tuning = (
                _default_fine_tuning(data.y)
                if fine_tune_params is None
                else dict(fine_tune_params)
            )
            fine_tuned_configs = {  # the paper's crops, within max(crop_counts)
                name: (fusion, pooling, min(count, max(crop_counts)))
                for name, (fusion, pooling, count) in FINE_TUNED.items()
            }
            n_max = max(count for _, _, count in fine_tuned_configs.values())

            def fine_tuned(index, train):
                featurizer = CNNCropFeaturizer(
                    **common, crops="random", n_crops=n_max, **tuning
                ).fit([paths[i] for i in train], data.y[train])
                rows = featurizer.transform(paths)
                return rows.reshape(len(paths), featurizer.n_crops_, -1)

            records["III"] = runner.run(
                "III",
                fine_tuned_configs,
                fine_tuned,
                {**feature_config, "crops": "random", "n_crops": n_max, **tuning},
            )
            timing["III"] = time.perf_counter() - tic
            status["III"] = "done"

    configs = {
        experiment: summarize(experiment_records)
        for experiment, experiment_records in records.items()
    }
    crop_study = (
        study_crop_counts(configs["II"], crop_counts, alpha) if "II" in configs else {}
    )
    results = Bunch(
        dataset={
            "name": data.get("name", "dataset"),
            "source": os.fspath(dataset) if not isinstance(dataset, dict) else None,
            "n_images": len(paths),
            "higher_is_better": bool(data.get("higher_is_better", True)),
            "has_mos_std": data.mos_std is not None,
            "has_groups": data.groups is not None,
        },
        settings={
            "experiments": list(experiments),
            "n_splits": n_splits,
            "crop_counts": list(crop_counts),
            "backbone": backbone,
            "weights": str(weights),
            "crop_size": crop_size,
            "random_state": random_state,
            "C": base_c,
            "C_factors": list(C_FACTORS) if data.groups is not None else None,
            "alpha": alpha,
            "protocol": protocol,
            "fine_tune_params": None
            if fine_tune_params is None
            else {key: repr(value) for key, value in fine_tune_params.items()},
        },
        experiments=status,
        configs=configs,
        crop_study=crop_study,
        records=records,
        timing=timing,
        n_splits_computed=store.computed,
        n_splits_reused=store.reused,
    )
    results.rows = _report.table_rows(results)
    timing["total"] = time.perf_counter() - started
    results.files = _report.write_report(
        results, output, y=data.y, mos_std=data.mos_std, plots=plots
    )
    return results
