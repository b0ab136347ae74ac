"""``reproduce``: the experiments of Bianco et al. (2018) on a local dataset.

:func:`reproduce` drives Exp I, II and III under the paper's protocols; the
experiments are in :mod:`skdeepbiq._paper.experiments`, the resumable runs over
the splits in :mod:`skdeepbiq._paper.splits`, the report (``report.md``,
``report.json``) in :mod:`skdeepbiq._paper.report` and its plots in
:mod:`skdeepbiq._paper.report_plots`.
"""

from __future__ import annotations

import os
import time

from ._paper import report as _report
from ._paper import report_plots as _report_plots
from ._paper.experiments import (
    DEFAULT_CROP_COUNTS,
    EXPERIMENTS,
    PAPER_C,
    Study,
    check_crop_counts,
    check_experiments,
    choose_crop_count,
    collect_results,
    exp_iii_recipes,
    run_exp_i,
    run_exp_ii,
    run_exp_iii,
)
from ._paper.splits import (
    C_FACTORS,
    SplitRunner,
    SplitStore,
    paper_splits,
    split_scores,
)
from .datasets import load_dataset
from .datasets._common import absolute_path

__all__ = [
    "choose_crop_count",
    "load_dataset",
    "reproduce",
    "split_scores",
]


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
    regression_fine_tuning=False,
    leaky_fine_tuning=False,
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
    configurations (feature pooling with 20 crops, prediction pooling with
    25, at most ``max(crop_counts)``), the backbone fine-tuned on the
    training images of each split with the paper's recipe,
    ``FineTuning(objective="classes")``: five crisp MOS classes, crops
    weighted against the classes' imbalance.

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
        official layout (see :func:`~skdeepbiq.datasets.load_dataset`), or a
        Bunch from :mod:`skdeepbiq.datasets` with image ``paths``.
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
        See :func:`~skdeepbiq.datasets.load_dataset`.
    alpha : float, default=0.05
        Significance level of the t-tests choosing the number of crops.
    C : float, default=None
        ``C`` of the LinearSVR on standardised features; None uses
        ``1e-4``, chosen on clive-dev for the paper's penultimate features
        (``benchmarks/accuracy_table.py``).
        Concatenated features get ``C / k`` for ``k`` crops, which is the
        same as scaling the concatenated vector to the norm of one crop's.
    fine_tune_params : dict, default=None
        Featurizer parameters of Exp III, replacing the paper's recipe,
        e.g. ``{"fine_tune": FineTuning(objective="classes", epochs=2)}``.
        None means ``FineTuning(objective="classes")`` with the paper's
        classes of the 0-100 scale, or five equal classes of the scores'
        range for scores on another scale.
    regression_fine_tuning : bool, default=False
        Also run Exp III with skdeepbiq's own recipe, ``FineTuning()``'s
        defaults (the standardised score as a regression target), in extra
        rows labelled "regression objective (skdeepbiq's)", without the
        paper's figures.
    leaky_fine_tuning : bool, default=False
        Also run Exp III as the paper describes it: the network tuned once
        on every image, test images included, then the SVR fitted on each
        split's training images (rows labelled "LEAKY", configurations
        named ``leaky-*``). It measures how much the paper's single
        fine-tuning could owe to having seen the test images; the honest
        figures are the rows tuned inside each split.
    plots : bool, default=True
        Write the PNG plots (needs matplotlib: ``pip install skdeepbiq[plot]``).
    verbose : int, default=1
        Progress bars when positive.

    Returns
    -------
    results : :class:`~sklearn.utils.Bunch`
        ``rows`` (the report's table: paper and ours side by side),
        ``configs`` (per experiment and configuration: scores of each split,
        medians, and for Exp III the recipe's parameters, ``fine_tune``),
        ``crop_study`` (Exp II: median SROCC by number of crops, t-test
        p-values, the chosen number), ``experiments`` (status of each),
        ``dataset``, ``settings``, ``timing``, ``files`` (the written
        paths), ``n_splits_computed`` and ``n_splits_reused`` (this call),
        and ``records`` (every split's predictions, not in the JSON).

    Examples
    --------
    >>> from skdeepbiq.reproduce import reproduce
    >>> results = reproduce("clive-dev", "report", cache="cache")  # doctest: +SKIP
    >>> results.rows[0]["ours"]["srocc"]  # doctest: +SKIP
    """
    started = time.perf_counter()
    experiments = check_experiments(experiments)
    crop_counts = check_crop_counts(crop_counts)
    if plots:
        _report_plots.check_matplotlib()
    data = dataset if isinstance(dataset, dict) else load_dataset(dataset, dataset_type)
    if data.get("paths") is None:
        raise ValueError("the dataset must give image paths (Bunch.paths)")
    splits, protocol = paper_splits(data, n_splits, random_state)
    recipes = {}  # Exp III's, validated before any work
    if "III" in experiments:
        recipes = exp_iii_recipes(data.y, fine_tune_params, regression_fine_tuning)
    output = absolute_path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    settings = {
        "experiments": list(experiments),
        "n_splits": n_splits,
        "crop_counts": list(crop_counts),
        "backbone": backbone,
        "weights": str(weights),
        "crop_size": crop_size,
        "random_state": random_state,
        "C": PAPER_C if C is None else float(C),
        "C_factors": list(C_FACTORS) if data.groups is not None else None,
        "alpha": alpha,
        "protocol": protocol,
        "fine_tune_params": None
        if fine_tune_params is None
        else {key: repr(value) for key, value in fine_tune_params.items()},
        "regression_fine_tuning": regression_fine_tuning,
        "leaky_fine_tuning": leaky_fine_tuning,
    }
    memory = os.fspath(cache) if cache is not None else str(output / "cache")
    # the paper's crops: at every image's own pixels
    featurizer_params = dict(
        backbone=backbone, weights=weights, crop_size=crop_size,
        random_state=random_state, device=device, batch_size=batch_size,
        n_jobs=n_jobs, memory=memory, verbose=verbose, viewing_scale="native",
    )  # fmt: skip
    store = SplitStore(output / "splits")
    runner = SplitRunner(data, splits, store, settings["C"], verbose)
    study = Study(data, runner, featurizer_params)
    study.timing["load_dataset"] = time.perf_counter() - started

    records = {}
    if "I" in experiments:
        records["I"] = run_exp_i(study)
    if "II" in experiments:
        records["II"] = run_exp_ii(study, crop_counts)
    if "III" in experiments:
        records["III"] = run_exp_iii(study, crop_counts, recipes, leaky_fine_tuning)
    results = collect_results(study, records, settings, source=dataset)
    results.rows = _report.table_rows(results)
    study.timing["total"] = time.perf_counter() - started
    plot_files = []
    if plots:
        plot_files = _report_plots.write_plots(results, output, data.y, data.mos_std)
    results.files = [*_report.write_report(results, output), *plot_files]
    return results
