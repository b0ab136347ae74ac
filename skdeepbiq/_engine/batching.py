"""Forward passes: how crops are grouped into batches, and how a batch runs.

On the CPU a pass holds the crops of one image only, so that an image's
features never depend on the other images it is featurized with; on CUDA,
consecutive images whose crops have the same size share passes to keep the
GPU busy (whole images of different sizes never do). A pass that runs out
of CUDA memory is run in halves.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch

from ..exceptions import SkDeepBIQWarning
from .runtime import Runtime


def forward_passes(items, batch_size: int, *, mix_images: bool):
    """Group the crops of a stream of images into forward passes.

    Parameters
    ----------
    items : iterable of (index, crops)
        Each image's crops, a tensor of shape (n_crops, ...).
    batch_size : int
        Most crops per pass.
    mix_images : bool
        If True, consecutive images share passes of exactly ``batch_size``
        crops (the last may be smaller), which keeps a GPU busy; a pass
        ends early where the crops' size changes (``crops="whole"``, images
        of different sizes). If False,
        a pass holds the crops of one image only, split into near-equal
        chunks: the arithmetic an image gets then depends only on its own
        crops, so its features are bit-identical whatever else is
        featurized with it (CPU kernels round differently with the batch's
        size and content).

    Yields
    ------
    crops : tensor
        The crops of one pass.
    owners : list of (index, count, last)
        Whose crops these are, in order: ``count`` crops of image
        ``index``, and whether they are its last.
    """
    batch, owners, n_batch = [], [], 0
    for index, crops in items:
        if not mix_images:
            chunks = torch.tensor_split(crops, math.ceil(len(crops) / batch_size))
            for number, chunk in enumerate(chunks):
                yield chunk, [(index, len(chunk), number == len(chunks) - 1)]
            continue
        if batch and crops.shape[1:] != batch[0].shape[1:]:
            yield (torch.cat(batch) if len(batch) > 1 else batch[0]), owners
            batch, owners, n_batch = [], [], 0
        batch.append(crops)
        owners.append((index, len(crops), True))
        n_batch += len(crops)
        while n_batch >= batch_size:
            crops_all = torch.cat(batch) if len(batch) > 1 else batch[0]
            head, tail = crops_all[:batch_size], crops_all[batch_size:]
            if len(tail):  # the last image continues in the next pass
                index, count, _ = owners[-1]
                head_owners = owners[:-1] + [(index, count - len(tail), False)]
                batch, owners = [tail], [(index, len(tail), True)]
            else:
                head_owners, batch, owners = owners, [], []
            n_batch = len(tail)
            yield head, head_owners
    if n_batch:
        yield (torch.cat(batch) if len(batch) > 1 else batch[0]), owners


def forward(network, crops: torch.Tensor, mean, std, runtime: Runtime) -> np.ndarray:
    """Run ``network`` on one batch of crops; float32 features on the CPU.

    uint8 crops are images, normalised here with ``mean`` and ``std``
    ((1, 3, 1, 1) tensors on the device); float crops are windows of trunk
    maps, already on the device.
    """
    if crops.is_floating_point():
        with runtime.autocast():
            return network(crops).float().cpu().numpy()
    batch = crops.to(runtime.device, non_blocking=True)
    # The same arithmetic as always (not transforms v2's to_dtype, which
    # multiplies by 1/255): features stay bit-identical.
    batch = (
        batch.contiguous(memory_format=torch.channels_last)
        .float()
        .div_(255.0)
        .sub_(mean)
        .div_(std)
    )
    with runtime.autocast():
        features = network(batch)
    return features.float().cpu().numpy()


def forward_splitting_on_oom(
    network, crops: torch.Tensor, mean, std, runtime: Runtime
) -> np.ndarray:
    """:func:`forward`, halving the batch while CUDA runs out of memory.

    A too-large ``batch_size`` then costs speed, with one warning naming
    it, instead of the whole computation; a single crop that does not fit
    raises :class:`MemoryError`.
    """
    try:
        return forward(network, crops, mean, std, runtime)
    except torch.OutOfMemoryError as error:
        device = runtime.device
        if len(crops) == 1:
            raise MemoryError(
                f"{device} ran out of memory on a single crop; use a smaller "
                "crop_size or backbone, or the CPU"
            ) from error
        if device.type == "cuda":
            torch.cuda.empty_cache()
        warnings.warn(
            SkDeepBIQWarning(
                f"{device} ran out of memory on a batch of {len(crops)} crops; "
                "running it in halves. Lower batch_size to avoid this."
            ),
            stacklevel=2,
        )
        half = len(crops) // 2
        return np.concatenate(
            [
                forward_splitting_on_oom(network, part, mean, std, runtime)
                for part in (crops[:half], crops[half:])
            ]
        )
