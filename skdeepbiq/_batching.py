"""How crops are grouped into forward passes, and the defaults that size them.

On the CPU a pass holds the crops of one image only, so that an image's
features never depend on the other images it is featurized with; on CUDA,
consecutive images share passes to keep the GPU busy.
"""

from __future__ import annotations

import math
import os

import torch


def resolve_batch_size(batch_size, device: torch.device) -> int:
    """``batch_size``, with ``"auto"`` resolved for ``device``."""
    if batch_size == "auto":
        return 256 if device.type == "cuda" else 8
    return batch_size


def reader_threads(n_jobs, device: torch.device) -> int:
    """Number of image-reading threads for ``n_jobs`` on ``device``.

    0 means reading in the calling thread, between forward passes.
    """
    if n_jobs is None:
        return 0 if device.type == "cpu" else 4
    if n_jobs < 0:
        return max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    return max(1, n_jobs)


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
        crops (the last may be smaller), which keeps a GPU busy. If False,
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
