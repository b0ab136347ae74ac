"""Fine-tuning the backbone on quality scores (the paper's Exp III).

:class:`FineTuning` is the recipe and :func:`check_fine_tuning` validates a
``fine_tune`` parameter into one, at the start of ``fit``. :func:`fine_tune`
sets up the recipe's head, targets and optimiser and runs the loop of
:mod:`skdeepbiq._finetuning.loop`: the frozen trunk runs once per training
image (see :mod:`skdeepbiq._engine.trunk`); every epoch re-draws random crops as
windows of its stride-16 maps and trains the tail with a new head: five
crisp MOS classes weighted against their imbalance (DeepBIQ), or the
standardised score itself (regression).
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils import Bunch
from sklearn.utils._param_validation import Interval, InvalidParameterError, StrOptions
from torch import nn
from tqdm.auto import tqdm

from .._engine.network import parameters_fingerprint
from .._engine.runtime import Runtime
from .._engine.streaming import Engine, collect_trunk_maps
from .._engine.trunk import mirrored_trunk_maps
from .loop import (
    Objective,
    RankAwareLoss,
    Training,
    TrainingMaps,
    learning_rate_scheduler,
    parameter_groups,
    train_epochs,
)
from .validation import EarlyStopping, hold_out


class FineTuning(BaseEstimator):
    """How to fine-tune the backbone before extracting features.

    Pass it (or True for these defaults) as ``fine_tune`` of
    :class:`CNNCropFeaturizer` or :class:`DeepBIQRegressor`. Fitting then
    trains the network on the images and scores given to ``fit`` only (never
    on test folds), and extracts features with the tuned network. The seed,
    device, mixed precision and progress bar are the featurizer's
    ``random_state``, ``device``, ``precision`` and ``verbose``.

    The trunk (every layer up to the last stride-16 stage: ``features[:14]``
    of MobileNetV2, ``layer1``-``layer3`` of ResNets) stays frozen and runs
    once per image; the layers after it train on crops re-drawn at random
    every epoch, cut as windows of the trunk's maps. Batch-norm statistics
    stay frozen.

    Parameters
    ----------
    objective : {"regression", "classes"}, default="regression"
        ``"classes"`` (DeepBIQ): the head is a new 5-way layer and crops are
        classified into crisp score classes bad / poor / fair / good /
        excellent, each crop weighted by (count of the most frequent class) /
        (count of its class), as in the paper; the loss of a batch is the
        weighted mean (divided by the sum of its crops' weights), so the
        weights shift the balance between classes, not the step size.
        ``"regression"``: the head is
        a new 1-output layer fitted to the standardised score with the
        smooth-L1 loss. Regression is the default because it measured better
        on clive-dev (``benchmarks/finetune.py``; the user guide's accuracy
        page compares the recipes).
    class_edges : array-like of 4 floats, default=None
        Inner edges of the five classes; a score equal to an edge belongs to
        the lower class, as the paper's ``(20, 40]``. None derives them from
        ``score_range``: its 20%, 40%, 60% and 80% points, which are the
        paper's 20 / 40 / 60 / 80 on a 0-100 scale, and e.g. 1.8 / 2.6 / 3.4
        / 4.2 on a 1-5 scale.
    score_range : tuple of 2 floats, default=(0.0, 100.0)
        Lowest and highest possible score, for the class edges.
    epochs : int, default=6
        Passes over the training images.
    crops_per_image : int, default=8
        Random crops drawn from each image in every epoch.
    batch_size : int, default=32
        Crops per optimisation step.
    optimizer : {"sgd", "adamw"}, default="sgd"
        SGD with Nesterov momentum 0.9, or AdamW.
    learning_rate : float, default=None
        Peak learning rate; None means 1e-3 for SGD and 1e-4 for AdamW.
    weight_decay : float, default=1e-4
        L2 penalty (decoupled for AdamW).
    schedule : {"cosine", "constant"}, default="cosine"
        Learning rate over the steps: one cosine decay to zero, or constant.
    trainable : "tail", "deep" or int, default="deep"
        Which blocks train with the new head: those after a trunk cut at
        the first stride-16 layer (``"deep"``: MobileNetV2's ``features.8``
        on, EfficientNet-Lite's ``features.5`` on, ResNets' ``layer3[1:]``
        on); those after the last stride-16 layer (``"tail"``, faster:
        MobileNetV2's ``features.14`` on, EfficientNet-Lite's ``features.6``
        on); or the last ``n`` blocks of the tail. ``"deep"`` measured
        higher on clive-dev with both backbones tried, but MobileNetV2 tuned
        deep scores noisy photos far more leniently (see the accuracy page).
    flips : bool, default=False
        Flip each training crop left to right with probability 1/2. A
        flipped crop is cut from the trunk maps of the mirrored image,
        computed once per image and fit (so the trunk runs twice per
        image), never by flipping a window of the original's maps.
    lr_decay : float in (0, 1], default=1.0
        Layer-wise learning rates: the new head learns at
        ``learning_rate``, the ``k``-th trainable block from the end (the
        last is ``k = 1``) at ``learning_rate * lr_decay ** k``; the
        schedule scales every rate alike. 1.0 trains all at one rate.
    validation_fraction : float in (0, 1), default=None
        Early stopping: this part of ``fit``'s images (drawn with the
        featurizer's seed) is held out of training; after every epoch the
        Spearman correlation of their scores with the tuned head's crop
        scores (expected class for ``"classes"``), averaged per image over
        fixed crops, is measured, and the best epoch's weights are kept.
        None trains on every image for ``epochs`` epochs.
    n_iter_no_change : int, default=2
        With ``validation_fraction``, stop after this many epochs without
        a better validation Spearman.
    rank_weight : float >= 0, default=0.0
        With ``objective="regression"``, add this weight times a pairwise
        rank loss to the smooth-L1 loss: the fidelity loss of UNIQUE and
        LIQE over the batch's pairs of crops from different photos, which
        compares the predicted and the target probability that one crop is
        better than the other (Thurstone's model on standardised scores).
        SROCC is a rank measure; 0 trains on the score alone. Must be 0
        with ``objective="classes"``.

    See Also
    --------
    CNNCropFeaturizer : Its ``fine_tune`` parameter takes this object.
    """

    _parameter_constraints: dict = {
        "objective": [StrOptions({"classes", "regression"})],
        "class_edges": ["array-like", None],
        "score_range": [tuple],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "crops_per_image": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "optimizer": [StrOptions({"sgd", "adamw"})],
        "learning_rate": [Interval(Real, 0, None, closed="neither"), None],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "schedule": [StrOptions({"cosine", "constant"})],
        "trainable": [
            StrOptions({"tail", "deep"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "flips": ["boolean"],
        "lr_decay": [Interval(Real, 0, 1, closed="right")],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "rank_weight": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        objective="regression",
        *,
        class_edges=None,
        score_range=(0.0, 100.0),
        epochs=6,
        crops_per_image=8,
        batch_size=32,
        optimizer="sgd",
        learning_rate=None,
        weight_decay=1e-4,
        schedule="cosine",
        trainable="deep",
        flips=False,
        lr_decay=1.0,
        validation_fraction=None,
        n_iter_no_change=2,
        rank_weight=0.0,
    ):
        self.objective = objective
        self.class_edges = class_edges
        self.score_range = score_range
        self.epochs = epochs
        self.crops_per_image = crops_per_image
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.schedule = schedule
        self.trainable = trainable
        self.flips = flips
        self.lr_decay = lr_decay
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.rank_weight = rank_weight

    def edges(self) -> np.ndarray:
        """The four inner class edges (see ``class_edges``)."""
        if self.class_edges is not None:
            return _increasing(self.class_edges, "class_edges", 4)
        low, high = _increasing(self.score_range, "score_range", 2)
        return low + (high - low) * np.array([0.2, 0.4, 0.6, 0.8])


def _increasing(value, name: str, count: int) -> np.ndarray:
    """``value`` as ``count`` increasing finite numbers, or a ValueError naming it."""
    try:
        numbers = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        numbers = np.full(count, np.nan)
    if (
        numbers.shape != (count,)
        or not np.isfinite(numbers).all()
        or np.any(np.diff(numbers) <= 0)
    ):
        raise ValueError(
            f"{name} must be {count} increasing finite numbers, got {value!r}"
        )
    return numbers


def check_fine_tuning(value) -> FineTuning | None:
    """The validated recipe of a ``fine_tune`` parameter.

    Estimators call it at the start of ``fit``, before any network work, so
    that a bad recipe fails at once.

    Parameters
    ----------
    value : None, bool or FineTuning
        The ``fine_tune`` parameter of :class:`CNNCropFeaturizer` or
        :class:`DeepBIQRegressor`.

    Returns
    -------
    recipe : FineTuning or None
        None for None or False (no fine-tuning), ``FineTuning()`` for True,
        ``value`` itself for a valid :class:`FineTuning`.

    Raises
    ------
    InvalidParameterError
        When ``value`` is none of these, or one of the recipe's parameters
        is invalid (the message names ``fine_tune`` and the parameter),
        including ``class_edges`` that are not 4 increasing finite numbers,
        a ``score_range`` that is not 2 of them and a ``rank_weight`` with
        ``objective="classes"``.
    """
    if value is None or isinstance(value, bool | np.bool_):
        return FineTuning() if value else None
    if not isinstance(value, FineTuning):
        raise InvalidParameterError(
            f"fine_tune must be None, a bool or a FineTuning, got {value!r}"
        )
    try:
        value._validate_params()
        _increasing(value.score_range, "score_range", 2)
        value.edges()
        if value.objective == "classes" and value.rank_weight:
            raise ValueError(
                "rank_weight applies to objective='regression'; "
                f"got rank_weight={value.rank_weight!r} with objective='classes'"
            )
    except ValueError as error:
        raise InvalidParameterError(f"fine_tune={value!r}: {error}") from error
    return value


def describe_fine_tuning(fine_tune) -> dict | None:
    """The parameters of the recipe that runs for ``fine_tune``, as plain values.

    None when ``fine_tune`` does not tune; True is ``FineTuning()``. A bad
    recipe raises, as the featurizer's ``fit`` would. Tuples and arrays
    become lists and NumPy scalars Python ones, as JSON holds them (model
    files and the paper's reports keep recipes so).
    """
    recipe = check_fine_tuning(fine_tune)
    if recipe is None:
        return None
    return {name: _plain(value) for name, value in recipe.get_params().items()}


def _plain(value):
    """One recipe parameter as JSON holds it."""
    if isinstance(value, tuple | list | np.ndarray):
        return [_plain(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def score_classes(y: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Class 0-4 of each score; a score equal to an edge falls in the lower class."""
    return np.searchsorted(edges, y, side="left")


def class_weights(classes: np.ndarray, n_classes: int = 5) -> np.ndarray:
    """freq(most frequent class) / freq(class), 0 for absent classes."""
    counts = np.bincount(classes, minlength=n_classes).astype(np.float64)
    weights = np.zeros(n_classes)
    present = counts > 0
    weights[present] = counts.max() / counts[present]
    return weights


def _objective(
    config: FineTuning,
    y: np.ndarray,
    rows: np.ndarray,
    n_features: int,
    seed: int,
    device: torch.device,
) -> Objective:
    """The recipe's new head (seeded), the target of each image and the loss.

    Class weights and the standardisation come from the images at ``rows``,
    those that train.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        n_out = 5 if config.objective == "classes" else 1
        head = nn.Linear(n_features, n_out).to(device)
    if config.objective == "classes":
        classes = score_classes(y, config.edges())
        targets = torch.as_tensor(classes, device=device)
        weights = torch.as_tensor(
            class_weights(classes[rows]), dtype=torch.float32, device=device
        )
        loss_function = nn.CrossEntropyLoss(weight=weights, reduction="mean")
        return Objective(head, targets, loss_function)
    fitted = y[rows]
    standard = (y - fitted.mean()) / (fitted.std() or 1.0)
    targets = torch.as_tensor(standard, dtype=torch.float32, device=device)
    return Objective(head, targets, RankAwareLoss(config.rank_weight))


def _optimizer(config: FineTuning, groups: list[dict]) -> torch.optim.Optimizer:
    """The recipe's optimiser over parameter ``groups`` (each with its rate)."""
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            groups, momentum=0.9, nesterov=True, weight_decay=config.weight_decay
        )
    return torch.optim.AdamW(groups, weight_decay=config.weight_decay)


def peak_learning_rate(config: FineTuning) -> float:
    """``learning_rate``, or its default: 1e-3 for SGD, 1e-4 for AdamW."""
    if config.learning_rate is not None:
        return config.learning_rate
    return 1e-3 if config.optimizer == "sgd" else 1e-4


def fine_tune(
    tail: nn.Module,
    maps: list[torch.Tensor],
    sizes: list[tuple[int, int]],
    y: np.ndarray,
    config: FineTuning,
    *,
    n_features: int,
    crop_size: int,
    seed: int,
    runtime: Runtime,
    verbose: int = 0,
    mirrored: list[torch.Tensor] | None = None,
) -> dict:
    """Train ``tail`` in place on random windows of ``maps``; returns the history.

    Parameters
    ----------
    tail : torch.nn.Module
        Window maps -> penultimate features, on ``runtime.device``; its
        parameters are those of the featurizer's network, so they are tuned
        in place.
    maps : list of torch.Tensor
        Trunk maps ``(C, h, w)`` of each training image, on ``runtime.device``.
    sizes : list of (int, int)
        Size in pixels of the image each map was computed from; windows stay
        inside it.
    y : ndarray of shape (n_images,)
        Scores of the training images.
    config : FineTuning
        The recipe (validated again by :func:`check_fine_tuning`).
    n_features : int
        Width of the penultimate features, the new head's input.
    crop_size : int
        Crop side in pixels, a multiple of the trunk's stride.
    seed : int
        Seed of the head's initial weights, of the crops drawn and of the
        held-out images.
    runtime : Runtime
        Device and training autocast dtype (``runtime.train_dtype``).
    verbose : int, default=0
        Whether to show a progress bar.
    mirrored : list of torch.Tensor, default=None
        Trunk maps of each image flipped left to right; needed when
        ``config.flips``.

    Returns
    -------
    history : dict
        ``loss`` per epoch trained, ``objective``, ``n_images`` and
        ``steps`` (taken); with ``validation_fraction``, also
        ``validation_loss`` and ``validation_srocc`` per epoch,
        ``best_epoch`` (1-based, whose weights are kept) and
        ``n_validation_images``.
    """
    config = check_fine_tuning(config)
    if not maps:
        raise ValueError("fine-tuning needs at least one readable training image")
    if config.flips and mirrored is None:
        raise ValueError("flips=True needs the trunk maps of the mirrored images")
    data = TrainingMaps(maps, sizes, mirrored if config.flips else None)
    rows, held_out = hold_out(len(maps), config.validation_fraction, seed)
    objective = _objective(config, y, rows, n_features, seed, runtime.device)
    groups = parameter_groups(
        tail, objective.head, config.trainable, peak_learning_rate(config),
        config.lr_decay,
    )  # fmt: skip
    optimizer = _optimizer(config, groups)
    n_steps = math.ceil(len(rows) * config.crops_per_image / config.batch_size)
    n_steps *= config.epochs
    scheduler = learning_rate_scheduler(optimizer, config.schedule, n_steps)
    training = Training(tail, objective, optimizer, scheduler, runtime)
    stopping = None
    if len(held_out):
        stopping = EarlyStopping(
            data, held_out, y, crop_size, config.crops_per_image,
            config.batch_size, config.n_iter_no_change,
            np.random.default_rng(np.random.SeedSequence([seed, 0x7A11D])),
        )  # fmt: skip
    history = {"objective": config.objective, "n_images": len(rows)}
    tail.eval()  # batch-norm statistics stay frozen; dropout off
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5EED]))
    with tqdm(
        total=n_steps, disable=not verbose, desc="fine-tuning", unit="step"
    ) as progress:
        history.update(
            train_epochs(
                training, data, rows, config, crop_size, rng, progress, stopping
            )
        )
    tail.requires_grad_(False)
    return history


def tune(
    engine: Engine,
    device_network: torch.nn.Module,
    network: torch.nn.Module,
    images: list,
    y: np.ndarray,
    recipe,
    *,
    failures: list | None,
    n_features: int,
    seed: int,
    crop_size: int,
    verbose: int,
) -> Bunch:
    """Fine-tune ``device_network`` through ``engine``'s tail, a view of it.

    The frozen trunk runs once per readable image; unreadable ones are left
    out (or raise, when ``failures`` is None). The tuned weights are copied
    back into the CPU ``network``. Returns a Bunch with the training
    ``history`` and ``fingerprint``, a hash of the tuned parameters.
    """
    maps, sizes, kept = collect_trunk_maps(engine, images, failures)
    mirrored = mirrored_trunk_maps(engine, images, kept) if recipe.flips else None
    history = fine_tune(
        engine.tail, maps, sizes, y[kept], recipe,
        n_features=n_features, crop_size=crop_size,
        seed=seed, runtime=engine.runtime, verbose=verbose, mirrored=mirrored,
    )  # fmt: skip
    network.load_state_dict(
        {key: value.cpu() for key, value in device_network.state_dict().items()}
    )
    network.requires_grad_(False)
    return Bunch(history=history, fingerprint=parameters_fingerprint(network))
