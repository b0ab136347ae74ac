"""The paper's experiments: Exp I, Exp II and its number of crops, Exp III.

Each experiment computes its CNN features once per image and crop setting
(cached in the featurizer's ``memory``) and hands them to
:class:`~skdeepbiq._paper.splits.SplitRunner`, which fits and scores each
configuration on each split. Exp III fine-tunes the backbone on each split's
training images with the paper's recipe, ``FineTuning(objective="classes")``,
and, when asked, with skdeepbiq's own regression objective as well.
"""

from __future__ import annotations

import functools
import os
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from numbers import Integral

import numpy as np
from scipy import stats
from sklearn.utils import Bunch

from .._finetuning.recipe import describe_fine_tuning
from .splits import SplitRunner, summarize

EXPERIMENTS = ("I", "II", "III")
DEFAULT_CROP_COUNTS = (1, 5, 10, 15, 20, 25)
#: C of the LinearSVR on the paper's penultimate features, chosen on clive-dev.
PAPER_C = 1e-4
#: Exp II fusions: name -> (DeepBIQRegressor fusion, pooling).
FUSIONS = {
    "feature-mean": ("feature", "mean"),
    "concatenation": ("concatenation", "mean"),
    "prediction-mean": ("prediction", "mean"),
}
#: Exp III configurations of the paper: name -> (fusion, pooling, crops).
FINE_TUNED = {
    "feature-mean": ("feature", "mean", 20),
    "prediction-mean": ("prediction", "mean", 25),
}
#: Name prefix of Exp III's configurations tuned with the regression objective.
REGRESSION_PREFIX = "regression-"
#: Exp III tuned once on every image, test images included (the paper's).
LEAKY_PREFIX = "leaky-"
LEAKAGE = "tuned once on every image, test images included"


def check_experiments(experiments) -> tuple[str, ...]:
    """The chosen experiments among :data:`EXPERIMENTS`, in the paper's order."""
    if isinstance(experiments, str):
        experiments = [experiments]
    chosen = [str(name).upper() for name in experiments]
    unknown = [name for name in chosen if name not in EXPERIMENTS]
    if unknown or not chosen:
        raise ValueError(
            f"experiments must be among {list(EXPERIMENTS)}, got {list(experiments)}"
        )
    return tuple(name for name in EXPERIMENTS if name in chosen)


def check_crop_counts(crop_counts) -> tuple[int, ...]:
    """The numbers of crops of Exp II, sorted and without repeats."""
    counts = list(crop_counts)
    if not counts or not all(
        isinstance(count, Integral) and not isinstance(count, bool) and count >= 1
        for count in counts
    ):
        raise ValueError(f"crop_counts must be integers >= 1, got {crop_counts!r}")
    return tuple(sorted({int(count) for count in counts}))


@dataclass
class Study:
    """What the experiments share: the dataset, the split runner, the featurizer.

    ``featurizer_params`` are the :class:`~skdeepbiq.CNNCropFeaturizer`
    parameters common to every experiment; ``timing`` collects the seconds
    of each step.
    """

    data: Bunch
    runner: SplitRunner
    featurizer_params: dict
    timing: dict = field(default_factory=dict)

    def feature_config(self, **params) -> dict:
        """The settings that decide the features, for the splits' fingerprints."""
        common = self.featurizer_params
        return {
            "backbone": common["backbone"],
            "weights": str(common["weights"]),
            "crop_size": common["crop_size"],
            "random_state": common["random_state"],
            **params,
        }

    def features(self, train=None, **params) -> np.ndarray:
        """Crop features of every image, of shape (n_images, n_crops, n_features).

        The featurizer is fitted on all images, or on the images ``train``
        indexes and their scores (fine-tuning sees those only).
        """
        from .._featurizer import CNNCropFeaturizer

        paths = list(self.data.paths)
        featurizer = CNNCropFeaturizer(**self.featurizer_params, **params)
        if train is None:
            featurizer.fit(paths)
        else:
            featurizer.fit([paths[i] for i in train], self.data.y[train])
        rows = featurizer.transform(paths)
        return rows.reshape(len(paths), featurizer.n_crops_, -1)

    @contextmanager
    def timed(self, step: str):
        """Record the seconds the ``with`` block takes as ``timing[step]``."""
        started = time.perf_counter()
        yield
        self.timing[step] = time.perf_counter() - started


# The experiments ---------------------------------------------------------------


def run_exp_i(study: Study) -> dict:
    """Exp I: the central crop of the image resized to 256, one per image."""
    with study.timed("features_I"):
        center = study.features(crops="center")
    with study.timed("splits_I"):
        return study.runner.run(
            "I",
            {"center": ("prediction", "mean", 1)},
            center,
            study.feature_config(crops="center"),
        )


def run_exp_ii(study: Study, crop_counts: tuple[int, ...]) -> dict:
    """Exp II: random crops, each fusion of :data:`FUSIONS` at each count.

    The first ``k`` of the same ``max(crop_counts)`` crops per image.
    """
    n_max = max(crop_counts)
    with study.timed("features_II"):
        random_crops = study.features(crops="random", n_crops=n_max)
    configs = {
        f"{name}-k{count}": (fusion, pooling, count)
        for name, (fusion, pooling) in FUSIONS.items()
        for count in crop_counts
    }
    with study.timed("splits_II"):
        return study.runner.run(
            "II",
            configs,
            random_crops,
            study.feature_config(crops="random", n_crops=n_max),
        )


def run_exp_iii(
    study: Study, crop_counts: tuple[int, ...], recipes: dict, leaky: bool = False
) -> dict:
    """Exp III: the configurations of :data:`FINE_TUNED`, tuned on each split.

    ``recipes`` maps a prefix of the configuration names to the featurizer
    parameters of one fine-tuning recipe (see :func:`exp_iii_recipes`).
    The network is tuned on each split's training images only; each
    record's ``fine_tune`` holds the recipe's parameters. With ``leaky``,
    each recipe also runs as the paper describes it, tuned once on every
    image, test images included, in configurations named
    :data:`LEAKY_PREFIX` ``+ name`` whose records say ``leakage``.
    """
    configs = {  # the paper's numbers of crops, within max(crop_counts)
        name: (fusion, pooling, min(count, max(crop_counts)))
        for name, (fusion, pooling, count) in FINE_TUNED.items()
    }
    n_max = max(count for _, _, count in configs.values())
    records = {}
    with study.timed("III"):
        for prefix, params in recipes.items():
            recipe = {"fine_tune": describe_fine_tuning(params.get("fine_tune"))}
            others = {  # other featurizer parameters, for the fingerprints
                key: repr(value) for key, value in params.items() if key != "fine_tune"
            }
            features = functools.partial(
                study.features, crops="random", n_crops=n_max, **params
            )
            variants = [("", lambda index, train, f=features: f(train), recipe)]
            if leaky:  # tuned at the first split that needs it, then reused
                once = functools.cache(
                    lambda f=features: f(np.arange(len(study.data.y)))
                )
                leakage = recipe | {"leakage": LEAKAGE}
                variants.append(
                    (LEAKY_PREFIX, lambda index, train, f=once: f(), leakage)
                )
            for variant, tuned, details in variants:
                records |= study.runner.run(
                    "III",
                    {
                        variant + prefix + name: config
                        for name, config in configs.items()
                    },
                    tuned,
                    study.feature_config(
                        crops="random", n_crops=n_max, **others, **details
                    ),
                    details=details,
                )
    return records


# Exp III's fine-tuning recipes ---------------------------------------------------


def paper_fine_tuning(y) -> dict:
    """The paper's recipe: ``FineTuning(objective="classes")`` on the score scale.

    Five crisp classes of the scale (bad, poor, fair, good, excellent),
    crops weighted against the classes' imbalance. Scores within 0-100 that
    span more than half of it get the paper's classes of the 0-100 scale;
    other scales are cut into five equal classes of their observed range.
    """
    from .._finetuning.recipe import FineTuning

    low, high = float(np.min(y)), float(np.max(y))
    paper_scale = 0 <= low and high <= 100 and high - low > 50
    score_range = (0.0, 100.0) if paper_scale else (low, high)
    return {"fine_tune": FineTuning(objective="classes", score_range=score_range)}


def exp_iii_recipes(y, fine_tune_params=None, regression=False) -> dict:
    """Exp III's featurizer parameters, by prefix of the configuration names.

    ``""``: ``fine_tune_params``, or the paper's recipe
    (:func:`paper_fine_tuning`) when None. :data:`REGRESSION_PREFIX`, when
    ``regression``: skdeepbiq's own, ``FineTuning()``'s defaults (the
    regression objective). Each ``fine_tune`` is validated here, before any
    network work.
    """
    from .._finetuning.recipe import FineTuning

    recipes = {
        "": paper_fine_tuning(y) if fine_tune_params is None else dict(fine_tune_params)
    }
    if regression:
        recipes[REGRESSION_PREFIX] = {"fine_tune": FineTuning()}
    for params in recipes.values():
        describe_fine_tuning(params.get("fine_tune"))
    return recipes


# The number of crops of Exp II ----------------------------------------------------


def choose_crop_count(srocc_by_count: dict, alpha=0.05) -> dict:
    """The fewest crops whose SROCC is not significantly below the best.

    For each number of crops, a two-sample t-test (Student's, as the paper
    used "two-sample t-tests") compares its SROCC over the splits with that
    of the number of crops with the best median SROCC; the chosen number is
    the smallest one with ``p >= alpha`` (an undefined p, from splits that
    all score the same, counts as no difference). With a single split
    there is no test: the best is chosen.

    Parameters
    ----------
    srocc_by_count : dict of int to array-like
        SROCC of each split, by number of crops.
    alpha : float, default=0.05
        Significance level.

    Returns
    -------
    choice : dict
        ``crop_counts``, ``median_srocc``, ``p_values`` (against the best),
        ``best`` and ``chosen``.
    """
    counts = sorted(srocc_by_count)
    values = [np.asarray(srocc_by_count[count], dtype=float) for count in counts]
    medians = [float(np.median(value)) for value in values]
    best = counts[int(np.nanargmax(medians))] if np.isfinite(medians).any() else None
    p_values = []
    for count, value in zip(counts, values, strict=True):
        if best is None or count == best:
            p_values.append(1.0 if count == best else float("nan"))
            continue
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # near-equal samples
            result = stats.ttest_ind(value, srocc_by_count[best])
        p_values.append(float(result.pvalue))
    chosen = best
    n_splits = min(len(value) for value in values)
    for count, p_value in zip(counts, p_values, strict=True):
        if best is not None and n_splits > 1 and not p_value < alpha:
            chosen = count
            break
    return {
        "crop_counts": counts,
        "median_srocc": medians,
        "p_values": p_values,
        "best": best,
        "chosen": chosen,
    }


def study_crop_counts(summaries: dict, crop_counts, alpha: float) -> dict:
    """Per Exp II fusion: SROCC by number of crops and the t-test choice."""
    study = {}
    for name in FUSIONS:
        srocc = {
            count: [split["srocc"] for split in summaries[f"{name}-k{count}"]["splits"]]
            for count in crop_counts
        }
        study[name] = choose_crop_count(srocc, alpha)
    return study


# The results ------------------------------------------------------------------------


def collect_results(study: Study, records: dict, settings: dict, source) -> Bunch:
    """The results of the experiments' ``records``: summaries, crop study, dataset.

    ``source`` is what ``reproduce`` was given as its dataset; ``settings``
    its settings, with ``crop_counts`` and ``alpha``.
    """
    data = study.data
    configs = {name: summarize(found) for name, found in records.items()}
    crop_study = {}
    if "II" in configs:
        crop_study = study_crop_counts(
            configs["II"], settings["crop_counts"], settings["alpha"]
        )
    return Bunch(
        dataset={
            "name": data.get("name", "dataset"),
            "source": None if isinstance(source, dict) else os.fspath(source),
            "n_images": len(data.paths),
            "higher_is_better": bool(data.get("higher_is_better", True)),
            "has_mos_std": data.mos_std is not None,
            "has_groups": data.groups is not None,
        },
        settings=settings,
        experiments=dict.fromkeys(records, "done"),
        configs=configs,
        crop_study=crop_study,
        records=records,
        timing=study.timing,
        n_splits_computed=study.runner.store.computed,
        n_splits_reused=study.runner.store.reused,
    )
