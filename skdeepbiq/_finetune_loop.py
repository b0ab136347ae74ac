"""The training loop of fine-tuning: what trains, the schedule, steps and epochs.

:func:`skdeepbiq._finetune.fine_tune` sets up the recipe's head, targets and
optimiser, then runs this loop: every epoch draws random crop windows of the
trunk maps (:func:`epoch_batches`), cuts them (:func:`cut_windows`) and takes
one optimisation step per batch (:func:`train_step`), the learning rate
following one of torch's own schedulers (:func:`learning_rate_scheduler`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.optim.lr_scheduler import CosineAnnealingLR, LambdaLR, LRScheduler

from ._runtime import Runtime
from ._trunk import STRIDE


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
        Loss summed over the crops of a batch.
    """

    head: nn.Linear
    targets: torch.Tensor
    loss_function: nn.Module

    def loss(self, output: torch.Tensor, owners: np.ndarray) -> torch.Tensor:
        """Mean loss over a batch of head ``output`` for crops of ``owners``."""
        if self.head.out_features == 1:  # one score per crop
            output = output[:, 0]
        targets = self.targets[torch.as_tensor(owners, device=self.targets.device)]
        return self.loss_function(output.float(), targets) / len(owners)


@dataclass(frozen=True)
class Training:
    """What one optimisation step needs: the modules, optimiser and runtime."""

    tail: nn.Module
    objective: Objective
    optimizer: torch.optim.Optimizer
    scheduler: LRScheduler
    runtime: Runtime


def unfreeze(tail: nn.Module, trainable) -> list[nn.Parameter]:
    """Let only the trainable tail blocks learn; returns their parameters.

    ``trainable`` is ``"tail"`` (every block of ``tail[0]``) or the number
    of its last blocks; the modules after ``tail[0]`` always train.
    """
    tail.requires_grad_(False)
    first = tail[0]
    blocks = list(first.children()) if isinstance(first, nn.Sequential) else [first]
    if trainable != "tail":
        blocks = blocks[-trainable:]
    chosen = [p for block in blocks for p in block.parameters()]
    chosen += [p for module in list(tail)[1:] for p in module.parameters()]
    for parameter in chosen:
        parameter.requires_grad_(True)
    return chosen


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


def draw_windows(
    sizes: list[tuple[int, int]],
    per_image: int,
    crop_size: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Random crop positions, in map cells, ``per_image`` for every image.

    Positions are those of crops of ``crop_size`` pixels inside the image,
    on the stride grid, as :func:`skdeepbiq._crops.snap_boxes` gives them.
    Returns the image index (owner) and (top, left) offset of every crop.
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


def epoch_batches(
    sizes: list[tuple[int, int]],
    per_image: int,
    batch_size: int,
    crop_size: int,
    rng: np.random.Generator,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """One epoch's crops, shuffled: (owners, offsets) of each batch."""
    owners, offsets = draw_windows(sizes, per_image, crop_size, rng)
    order = rng.permutation(len(owners))
    starts = range(0, len(order), batch_size)
    chosen = [order[start : start + batch_size] for start in starts]
    return [(owners[batch], offsets[batch]) for batch in chosen]


def cut_windows(
    maps: list[torch.Tensor], owners: np.ndarray, offsets: np.ndarray, window: int
) -> torch.Tensor:
    """The ``(n, C, window, window)`` windows of ``maps`` at ``offsets``."""
    return torch.stack(
        [
            maps[owner][:, top : top + window, left : left + window]
            for owner, (top, left) in zip(owners, offsets, strict=True)
        ]
    )


def train_step(training: Training, batch: torch.Tensor, owners: np.ndarray) -> float:
    """One optimisation step on ``batch``; returns its summed loss."""
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
    maps: list[torch.Tensor],
    batches: list[tuple[np.ndarray, np.ndarray]],
    window: int,
    progress,
) -> float:
    """One pass over ``batches``; returns the mean loss per crop.

    ``progress`` (a tqdm bar) advances by one per step.
    """
    total_loss = 0.0
    for owners, offsets in batches:
        batch = cut_windows(maps, owners, offsets, window)
        total_loss += train_step(training, batch, owners)
        progress.update(1)
    return total_loss / sum(len(owners) for owners, _ in batches)
