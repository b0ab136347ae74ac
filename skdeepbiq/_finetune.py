"""Fine-tuning the backbone on quality scores (the paper's Exp III).

The frozen trunk runs once per training image (see :mod:`skdeepbiq._trunk`);
every epoch re-draws random crops as windows of its stride-16 maps and
trains the tail with a new head: five crisp MOS classes weighted against
their imbalance (DeepBIQ), or the standardised score itself (regression).
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn
from tqdm.auto import tqdm

from ._trunk import STRIDE


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
        (count of its class), as in the paper. ``"regression"``: the head is
        a new 1-output layer fitted to the standardised score with the
        smooth-L1 loss. Regression is the default because it measured better
        on clive-dev (``benchmarks/finetune.py``, first 80/20 split, 4
        epochs: SROCC 0.788 against 0.774 for classes; over 3 splits with 6
        epochs, median SROCC 0.793 against 0.759 without fine-tuning).
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
    trainable : "tail" or int, default="tail"
        Which layers train: every layer after the frozen trunk, or only the
        last ``n`` of those blocks (the new head always trains).

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
        "trainable": [StrOptions({"tail"}), Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        objective="regression",
        class_edges=None,
        score_range=(0.0, 100.0),
        epochs=6,
        crops_per_image=8,
        batch_size=32,
        optimizer="sgd",
        learning_rate=None,
        weight_decay=1e-4,
        schedule="cosine",
        trainable="tail",
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

    def edges(self) -> np.ndarray:
        """The four inner class edges (see ``class_edges``)."""
        if self.class_edges is not None:
            edges = np.asarray(self.class_edges, dtype=np.float64)
            if edges.shape != (4,) or np.any(np.diff(edges) <= 0):
                raise ValueError(
                    f"class_edges must be 4 increasing numbers, got {self.class_edges}"
                )
            return edges
        low, high = self.score_range
        if not high > low:
            raise ValueError(f"score_range must be (low, high), got {self.score_range}")
        return low + (high - low) * np.array([0.2, 0.4, 0.6, 0.8])


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


def _trainable_parameters(tail: nn.Module, trainable) -> list[nn.Parameter]:
    """Parameters of the tail blocks that train (``"tail"``: all of them)."""
    blocks = (
        [m for m in tail[0].children()]
        if isinstance(tail[0], nn.Sequential)
        else [tail[0]]
    )
    if trainable != "tail":
        blocks = blocks[-trainable:]
    chosen = [p for block in blocks for p in block.parameters()]
    chosen += [p for module in list(tail)[1:] for p in module.parameters()]
    return chosen


def _learning_rate(config: FineTuning) -> float:
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
    runtime,
    verbose: int = 0,
) -> dict:
    """Train ``tail`` in place on random windows of ``maps``; returns the history.

    Parameters
    ----------
    tail : torch.nn.Module
        Window maps -> penultimate features, on ``device``; its parameters
        are those of the featurizer's network, so they are tuned in place.
    maps : list of torch.Tensor
        Trunk maps ``(C, h, w)`` of each training image, on ``device``.
    sizes : list of (int, int)
        Size in pixels of the image each map was computed from; windows stay
        inside it.
    y : ndarray of shape (n_images,)
        Scores of the training images.
    config : FineTuning
        The recipe.
    n_features, crop_size, seed, device, amp_dtype, verbose
        Width of the features, crop side in pixels, random seed, device,
        autocast dtype (None for float32) and progress bar switch.

    Returns
    -------
    history : dict
        ``loss`` per epoch, ``objective``, ``n_images`` and ``steps``.
    """
    config._validate_params()
    device, amp_dtype = runtime.device, runtime.train_dtype
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5EED]))
    window = crop_size // STRIDE
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        n_out = 5 if config.objective == "classes" else 1
        head = nn.Linear(n_features, n_out).to(device)
    if config.objective == "classes":
        classes = score_classes(y, config.edges())
        targets = torch.as_tensor(classes, device=device)
        weights = torch.as_tensor(
            class_weights(classes), dtype=torch.float32, device=device
        )
        loss_function = nn.CrossEntropyLoss(weight=weights, reduction="sum")
    else:
        standard = (y - y.mean()) / (y.std() or 1.0)
        targets = torch.as_tensor(standard, dtype=torch.float32, device=device)
        loss_function = nn.SmoothL1Loss(reduction="sum")

    for parameter in tail.parameters():
        parameter.requires_grad_(False)
    parameters = _trainable_parameters(tail, config.trainable) + list(head.parameters())
    for parameter in parameters:
        parameter.requires_grad_(True)
    learning_rate = _learning_rate(config)
    if config.optimizer == "sgd":
        optimizer = torch.optim.SGD(
            parameters, lr=learning_rate, momentum=0.9, nesterov=True,
            weight_decay=config.weight_decay,
        )  # fmt: skip
    else:
        optimizer = torch.optim.AdamW(
            parameters, lr=learning_rate, weight_decay=config.weight_decay
        )
    n_items = len(maps) * config.crops_per_image
    steps_per_epoch = math.ceil(n_items / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    history = {"objective": config.objective, "n_images": len(maps), "loss": []}
    tail.eval()  # batch-norm statistics stay frozen; dropout off
    step = 0
    with tqdm(
        total=total_steps, disable=not verbose, desc="fine-tuning", unit="step"
    ) as bar:
        for _ in range(config.epochs):
            owners, offsets = _draw_windows(
                sizes, config.crops_per_image, crop_size, rng
            )
            order = rng.permutation(n_items)
            epoch_loss = 0.0
            for start in range(0, n_items, config.batch_size):
                chosen = order[start : start + config.batch_size]
                batch = torch.stack(
                    [
                        maps[owners[i]][:, top : top + window, left : left + window]
                        for i in chosen
                        for top, left in [offsets[i]]
                    ]
                )
                if config.schedule == "cosine":
                    factor = 0.5 * (1 + math.cos(math.pi * step / total_steps))
                    for group in optimizer.param_groups:
                        group["lr"] = learning_rate * factor
                with torch.autocast(
                    device.type, dtype=amp_dtype, enabled=amp_dtype is not None
                ):
                    output = head(tail(batch))
                batch_targets = targets[torch.as_tensor(owners[chosen], device=device)]
                if config.objective == "regression":
                    output = output[:, 0]
                loss = loss_function(output.float(), batch_targets) / len(chosen)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                epoch_loss += loss.item() * len(chosen)
                step += 1
                bar.update(1)
            history["loss"].append(epoch_loss / n_items)
            bar.set_postfix(loss=f"{history['loss'][-1]:.4f}")
    for parameter in tail.parameters():
        parameter.requires_grad_(False)
    history["steps"] = step
    return history


def _draw_windows(
    sizes: list[tuple[int, int]],
    per_image: int,
    crop_size: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Random crop positions, in map cells, ``per_image`` for every image.

    Positions are those of crops of ``crop_size`` pixels inside the image,
    on the stride grid, as :func:`skdeepbiq._trunk.snap_boxes` gives them.
    """
    owners = np.repeat(np.arange(len(sizes)), per_image)
    offsets = np.empty((len(owners), 2), dtype=np.int64)
    for index, (height, width) in enumerate(sizes):
        rows = slice(index * per_image, (index + 1) * per_image)
        offsets[rows, 0] = rng.integers(
            0, (height - crop_size) // STRIDE + 1, per_image
        )
        offsets[rows, 1] = rng.integers(0, (width - crop_size) // STRIDE + 1, per_image)
    return owners, offsets


def check_fine_tuning(value) -> FineTuning | None:
    """The validated recipe of a ``fine_tune`` parameter, or None for no tuning."""
    if value is None or value is False:
        return None
    recipe = FineTuning() if value is True else value
    recipe._validate_params()
    return recipe
