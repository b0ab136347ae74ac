"""The training loop of fine-tuning: what trains, the schedule, steps and epochs.

:func:`skdeepbiq._finetuning.recipe.fine_tune` sets up the recipe's head, targets and
optimiser, then runs this loop: every epoch draws random crop windows of the
trunk maps (:func:`epoch_batches`), cuts them (:func:`cut_windows`; a flipped
crop is a window of the mirrored image's maps) and takes one optimisation
step per batch (:func:`train_step`), the learning rate of every parameter
group (:func:`parameter_groups`) following one of torch's own schedulers
(:func:`learning_rate_scheduler`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.optim.lr_scheduler import CosineAnnealingLR, LambdaLR, LRScheduler

from .._engine.runtime import Runtime
from .._engine.trunk import STRIDE


@dataclass(frozen=True)
class Objective:
    """What the tail learns: a new head, each image's target and the loss.

    Attributes
    ----------
    head : torch.nn.Linear
        Penultimate features -> 5 class logits, or 1 score.
    targets : torch.Tensor of shape (n_images,)
        Class (int64) or standardised score (float32) of each image.
    loss_function : torch.nn.Module
        Mean loss over the crops of a batch; with class weights, their
        weighted mean (the sum of weighted losses over the sum of the
        crops' weights, torch's ``reduction="mean"``), so that the size of
        a step does not grow with the weights.
    """

    head: nn.Linear
    targets: torch.Tensor
    loss_function: nn.Module

    def loss(self, output: torch.Tensor, owners: np.ndarray) -> torch.Tensor:
        """Mean loss over a batch of head ``output`` for crops of ``owners``."""
        if self.head.out_features == 1:  # one score per crop
            output = output[:, 0]
        targets = self.targets[torch.as_tensor(owners, device=self.targets.device)]
        return self.loss_function(output.float(), targets)

    def crop_scores(self, output: torch.Tensor) -> torch.Tensor:
        """A quality score per crop: the score itself or the expected class."""
        if self.head.out_features == 1:
            return output[:, 0].float()
        classes = torch.arange(output.shape[1], device=output.device)
        return (output.float().softmax(dim=1) * classes).sum(dim=1)


class RankAwareLoss(nn.Module):
    """Smooth-L1 on the standardised score, plus a weighted pairwise rank loss.

    The rank term is the fidelity loss of UNIQUE and LIQE under Thurstone's
    model: for two crops of different photos with predicted scores ``s_i``,
    ``s_j`` and standardised targets ``t_i``, ``t_j``, the predicted
    probability that the first is better is ``p = Phi((s_i - s_j) / sqrt(2))``
    and the target one ``q = Phi((t_i - t_j) / sqrt(2))`` (``Phi`` the
    standard normal CDF); the pair's loss is
    ``1 - sqrt(p q) - sqrt((1 - p) (1 - q))``, zero when ``p = q``. The term
    is its mean over the batch's pairs of crops whose targets differ (crops
    of one photo share theirs).

    Parameters
    ----------
    rank_weight : float
        Weight of the rank term; 0 is the smooth-L1 loss alone.
    """

    def __init__(self, rank_weight: float):
        super().__init__()
        self.rank_weight = rank_weight

    def forward(self, scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        loss = nn.functional.smooth_l1_loss(scores, targets, reduction="mean")
        if self.rank_weight == 0:
            return loss
        target_gaps = targets[:, None] - targets[None, :]
        pairs = torch.triu(target_gaps != 0, diagonal=1)
        if not pairs.any():
            return loss
        score_gaps = scores[:, None] - scores[None, :]
        # Phi(x / sqrt(2)) = (1 + erf(x / 2)) / 2
        p = (1 + torch.erf(score_gaps[pairs] / 2)) / 2
        q = (1 + torch.erf(target_gaps[pairs] / 2)) / 2
        tiny = 1e-8  # keeps the square roots' gradients finite at 0
        fidelity = 1 - torch.sqrt(p * q + tiny) - torch.sqrt((1 - p) * (1 - q) + tiny)
        return loss + self.rank_weight * fidelity.mean()


@dataclass(frozen=True)
class Training:
    """What one optimisation step needs: the modules, optimiser and runtime."""

    tail: nn.Module
    objective: Objective
    optimizer: torch.optim.Optimizer
    scheduler: LRScheduler
    runtime: Runtime


def tail_blocks(tail: nn.Module, trainable) -> list[nn.Module]:
    """The trainable blocks of ``tail[0]``, first to last.

    ``trainable`` is ``"tail"`` or ``"deep"`` (every block of ``tail[0]``;
    the split of the network made the tail deep or not) or the number of its
    last blocks.
    """
    first = tail[0]
    blocks = list(first.children()) if isinstance(first, nn.Sequential) else [first]
    return blocks if trainable in ("tail", "deep") else blocks[-trainable:]


def parameter_groups(
    tail: nn.Module, head: nn.Module, trainable, learning_rate: float, decay: float
) -> list[dict]:
    """Let only the trainable blocks learn; torch parameter groups, each its rate.

    The new ``head`` and the modules after ``tail[0]`` learn at
    ``learning_rate``; block ``k`` from the end of the trainable blocks
    (the last is ``k = 1``) at ``learning_rate * decay ** k``.
    """
    tail.requires_grad_(False)
    last = [p for module in list(tail)[1:] for p in module.parameters()]
    groups = [{"params": last + list(head.parameters()), "lr": learning_rate}]
    for k, block in enumerate(reversed(tail_blocks(tail, trainable)), start=1):
        parameters = list(block.parameters())
        if parameters:
            groups.append({"params": parameters, "lr": learning_rate * decay**k})
    for group in groups:
        for parameter in group["params"]:
            parameter.requires_grad_(True)
    return groups


def learning_rate_scheduler(
    optimizer: torch.optim.Optimizer, schedule: str, total_steps: int
) -> LRScheduler:
    """torch's scheduler of ``schedule``, to be stepped after every step.

    ``"cosine"`` decays the optimiser's learning rate from its peak to zero
    over ``total_steps`` (the rate of step ``s`` is ``peak * (1 + cos(pi *
    s / total_steps)) / 2``); ``"constant"`` keeps the peak.
    """
    if schedule == "cosine":
        return CosineAnnealingLR(optimizer, T_max=max(total_steps, 1), eta_min=0.0)
    return LambdaLR(optimizer, lambda step: 1.0)


@dataclass(frozen=True)
class TrainingMaps:
    """Trunk maps of the training images, and of their mirror images.

    Attributes
    ----------
    maps : list of torch.Tensor
        Trunk maps ``(C, h, w)`` of each image, on the device.
    sizes : list of (int, int)
        Size in pixels of the image each map was computed from.
    mirrored : list of torch.Tensor or None
        Trunk maps of each image flipped left to right, for flipped crops.
    """

    maps: list
    sizes: list
    mirrored: list | None = None

    def subset(self, indices) -> TrainingMaps:
        """The maps of the images at ``indices``."""
        mirrored = (
            None if self.mirrored is None else [self.mirrored[i] for i in indices]
        )
        return TrainingMaps(
            [self.maps[i] for i in indices], [self.sizes[i] for i in indices], mirrored
        )


@dataclass(frozen=True)
class Windows:
    """Crops as windows of trunk maps: image, (top, left) cell and flip of each."""

    owners: np.ndarray
    offsets: np.ndarray
    flipped: np.ndarray

    def take(self, rows: np.ndarray) -> Windows:
        """The crops at ``rows``, in that order."""
        return Windows(self.owners[rows], self.offsets[rows], self.flipped[rows])


def draw_windows(
    sizes: list[tuple[int, int]],
    per_image: int,
    crop_size: int,
    rng: np.random.Generator,
    flips: bool = False,
) -> Windows:
    """Random crop positions, in map cells, ``per_image`` for every image.

    Positions are those of crops of ``crop_size`` pixels inside the image,
    on the stride grid, as :func:`skdeepbiq._engine.crops.snap_boxes` gives them.
    With ``flips``, each crop is flipped left to right with probability
    1/2 (drawn after the positions, so that they do not change).
    """
    owners = np.repeat(np.arange(len(sizes)), per_image)
    offsets = np.empty((len(owners), 2), dtype=np.int64)
    for index, (height, width) in enumerate(sizes):
        rows = slice(index * per_image, (index + 1) * per_image)
        offsets[rows, 0] = rng.integers(
            0, (height - crop_size) // STRIDE + 1, per_image
        )
        offsets[rows, 1] = rng.integers(0, (width - crop_size) // STRIDE + 1, per_image)
    flipped = rng.random(len(owners)) < 0.5 if flips else np.zeros(len(owners), bool)
    return Windows(owners, offsets, flipped)


def epoch_batches(
    sizes: list[tuple[int, int]],
    per_image: int,
    batch_size: int,
    crop_size: int,
    rng: np.random.Generator,
    flips: bool = False,
) -> list[Windows]:
    """One epoch's crops, shuffled, in batches of ``batch_size``."""
    windows = draw_windows(sizes, per_image, crop_size, rng, flips)
    order = rng.permutation(len(windows.owners))
    starts = range(0, len(order), batch_size)
    return [windows.take(order[start : start + batch_size]) for start in starts]


def cut_windows(data: TrainingMaps, windows: Windows, window: int) -> torch.Tensor:
    """The ``(n, C, window, window)`` windows of ``data``'s maps.

    A flipped crop is the window at the same offsets in the mirrored
    image's maps: the mirror of the crop whose left edge is at ``W - left
    - crop_size`` pixels in an image ``W`` pixels wide.
    """
    cut = []
    for owner, (top, left), flip in zip(
        windows.owners, windows.offsets, windows.flipped, strict=True
    ):
        source = data.mirrored[owner] if flip else data.maps[owner]
        cut.append(source[:, top : top + window, left : left + window])
    return torch.stack(cut)


def train_step(training: Training, batch: torch.Tensor, owners: np.ndarray) -> float:
    """One optimisation step on ``batch``; returns its loss times its crops."""
    with training.runtime.autocast(training=True):
        output = training.objective.head(training.tail(batch))
    loss = training.objective.loss(output, owners)
    training.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    training.optimizer.step()
    training.scheduler.step()
    return loss.item() * len(owners)


def train_epoch(
    training: Training,
    data: TrainingMaps,
    batches: list[Windows],
    window: int,
    progress,
) -> float:
    """One pass over ``batches``; returns the mean loss per crop.

    ``progress`` (a tqdm bar) advances by one per step.
    """
    total_loss = 0.0
    for windows in batches:
        batch = cut_windows(data, windows, window)
        total_loss += train_step(training, batch, windows.owners)
        progress.update(1)
    return total_loss / sum(len(windows.owners) for windows in batches)


def train_epochs(
    training: Training,
    data: TrainingMaps,
    rows: np.ndarray,
    config,
    crop_size: int,
    rng: np.random.Generator,
    progress,
    stopping=None,
) -> dict:
    """The epochs of a recipe ``config`` on the images at ``rows``; their history.

    Every epoch draws new crops with ``rng``. ``stopping`` (an
    :class:`~skdeepbiq._finetuning.validation.EarlyStopping` or None) measures
    each epoch, may stop early, and puts the best epoch's weights back.
    Returns ``loss`` per epoch trained and ``steps`` taken, and
    ``stopping``'s history.
    """
    sizes = [data.sizes[row] for row in rows]
    losses, steps = [], 0
    for _ in range(config.epochs):
        batches = [
            Windows(rows[windows.owners], windows.offsets, windows.flipped)
            for windows in epoch_batches(
                sizes,
                config.crops_per_image,
                config.batch_size,
                crop_size,
                rng,
                config.flips,
            )  # fmt: skip
        ]
        steps += len(batches)
        losses.append(
            train_epoch(training, data, batches, crop_size // STRIDE, progress)
        )
        progress.set_postfix(loss=f"{losses[-1]:.4f}")
        if stopping is not None and stopping.update(training):
            break
    history = {"loss": losses, "steps": steps}
    if stopping is not None:
        stopping.restore(training)
        history.update(stopping.history())
    return history
