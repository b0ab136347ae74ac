"""Early stopping of fine-tuning on a held-out part of ``fit``'s images.

As scikit-learn's ``MLPRegressor(early_stopping=True)``: a seeded random
part of the training images (``validation_fraction``) is held out of the
training steps; after every epoch the tail and head score fixed crops of
those images, drawn once, and the epoch whose crop scores, averaged per
image, rank the held-out scores best (Spearman) is kept. Training stops
after ``n_iter_no_change`` epochs without a better one. Nothing outside
the images given to ``fit`` is ever seen.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import stats
from sklearn.model_selection import train_test_split

from .._engine.trunk import STRIDE
from .loop import TrainingMaps, Windows, cut_windows, draw_windows


def hold_out(n_images: int, fraction, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the images that train and of those held out, each sorted.

    ``fraction`` None holds out nothing; otherwise ``train_test_split``
    seeded with ``seed`` holds out ``ceil(fraction * n_images)`` of them,
    and raises a ValueError when no image would be left to train on.
    """
    indices = np.arange(n_images)
    if fraction is None:
        return indices, indices[:0]
    try:
        train, held_out = train_test_split(
            indices, test_size=fraction, random_state=seed
        )
    except ValueError as error:
        raise ValueError(
            f"validation_fraction={fraction} of {n_images} training images leaves "
            f"none to train on or none to validate: {error}"
        ) from error
    return np.sort(train), np.sort(held_out)


def rank_correlation(y: np.ndarray, scores: np.ndarray) -> float:
    """Spearman's correlation of ``scores`` with ``y``; nan when either is constant."""
    if len(y) < 2 or np.ptp(y) == 0 or np.ptp(scores) == 0:
        return float("nan")
    return float(stats.spearmanr(y, scores).statistic)


class EarlyStopping:
    """Validation figures after each epoch, and the best epoch's weights.

    Parameters
    ----------
    data : TrainingMaps
        The maps of every image of ``fit``.
    rows : ndarray of int
        Indices of the held-out images in ``data``.
    y : ndarray of shape (n_images,)
        Scores of every image of ``data``.
    crop_size, per_image, batch_size : int
        Crop side in pixels, crops per held-out image and crops per pass.
    patience : int
        Epochs without a better validation Spearman before stopping.
    rng : numpy.random.Generator
        Draws the fixed validation crops (never flipped).
    """

    def __init__(self, data, rows, y, crop_size, per_image, batch_size, patience, rng):
        drawn = draw_windows([data.sizes[i] for i in rows], per_image, crop_size, rng)
        self.windows = Windows(rows[drawn.owners], drawn.offsets, drawn.flipped)
        self.data = TrainingMaps(data.maps, data.sizes)
        self.rows, self.y = rows, y
        self.window = crop_size // STRIDE
        self.batch_size, self.patience = batch_size, patience
        self.losses, self.sroccs = [], []
        self.best_epoch, self.best_weights = 0, None

    def evaluate(self, training) -> tuple[float, float]:
        """Validation loss (mean over the crops) and Spearman of image scores."""
        outputs = []
        n_crops = len(self.windows.owners)
        with torch.no_grad():
            for start in range(0, n_crops, self.batch_size):
                stop = min(start + self.batch_size, n_crops)
                windows = self.windows.take(np.arange(start, stop))
                batch = cut_windows(self.data, windows, self.window)
                with training.runtime.autocast():
                    outputs.append(training.objective.head(training.tail(batch)))
            output = torch.cat(outputs).float()
            loss = training.objective.loss(output, self.windows.owners).item()
            crop_scores = training.objective.crop_scores(output).cpu().numpy()
        owners = np.searchsorted(self.rows, self.windows.owners)
        image_scores = np.bincount(owners, crop_scores, minlength=len(self.rows))
        image_scores /= np.bincount(owners, minlength=len(self.rows))
        return loss, rank_correlation(self.y[self.rows], image_scores)

    def update(self, training) -> bool:
        """Measure this epoch, keep its weights when best; True to stop."""
        loss, srocc = self.evaluate(training)
        self.losses.append(loss)
        self.sroccs.append(srocc)
        best = [s for s in self.sroccs[:-1] if not np.isnan(s)]
        if not np.isnan(srocc) and (not best or srocc > max(best)):
            self.best_epoch = len(self.sroccs)
            self.best_weights = [
                parameter.detach().clone() for parameter in _parameters(training)
            ]
        return len(self.sroccs) - self.best_epoch >= self.patience

    def restore(self, training) -> None:
        """Put the best epoch's weights back (the last epoch's when none was)."""
        if self.best_weights is None:
            self.best_epoch = len(self.sroccs)
            return
        with torch.no_grad():
            for parameter, best in zip(
                _parameters(training), self.best_weights, strict=True
            ):
                parameter.copy_(best)

    def history(self) -> dict:
        """Per-epoch validation loss and Spearman, the best epoch, the rows."""
        return {
            "validation_loss": self.losses,
            "validation_srocc": self.sroccs,
            "best_epoch": self.best_epoch,
            "n_validation_images": len(self.rows),
        }


def _parameters(training) -> list[torch.Tensor]:
    return [p for group in training.optimizer.param_groups for p in group["params"]]
