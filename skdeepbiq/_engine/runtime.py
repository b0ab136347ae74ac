"""Where and how the network runs: one frozen value resolved once per call.

A featurizer's ``device``, ``precision``, ``batch_size`` and ``n_jobs`` are
plain parameters; :func:`resolve_runtime` turns them, once per call, into a
:class:`Runtime` that the engine, the trunk and fine-tuning take as it is,
instead of each resolving (or being handed) a device and a dtype.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass

import torch

PRECISIONS = ("auto", "float32", "float16", "bfloat16")


def resolve_device(device: str) -> torch.device:
    """Turn a ``device`` parameter into a ``torch.device``.

    Raises ``ValueError`` naming the parameter when it is not a device, or
    names CUDA where there is none.
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as error:
        raise ValueError(f"device={device!r} is not a valid torch device") from error
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} but CUDA is not available here")
    return resolved


def autocast_dtype(
    precision: str, device: torch.device, training: bool = False
) -> torch.dtype | None:
    """dtype of mixed precision, or None for plain float32.

    ``"auto"`` is float16 autocast on CUDA (bfloat16 when training, which
    needs no loss scaling) and float32 elsewhere.
    """
    if precision == "auto":
        if device.type != "cuda":
            return None
        return torch.bfloat16 if training else torch.float16
    return {"float32": None, "float16": torch.float16, "bfloat16": torch.bfloat16}[
        precision
    ]


def resolve_batch_size(batch_size, device: torch.device) -> int:
    """``batch_size``, with ``"auto"`` resolved for ``device``.

    256 on CUDA; 8 on the CPU, where small batches stay in the processor's
    caches and run fastest (``benchmarks/throughput.py``).
    """
    if batch_size == "auto":
        return 256 if device.type == "cuda" else 8
    return int(batch_size)


def reader_threads(n_jobs, device: torch.device) -> int:
    """Number of image-reading threads for ``n_jobs`` on ``device``.

    0 means reading in the calling thread, between forward passes: on the
    CPU a reading thread would take a core from the network's own threads.
    """
    if n_jobs is None:
        return 0 if device.type == "cpu" else 4
    if n_jobs < 0:
        return max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    return max(1, n_jobs)


@dataclass(frozen=True)
class Runtime:
    """How one call runs the network.

    Attributes
    ----------
    device : torch.device
        Where the network runs.
    amp_dtype : torch.dtype or None
        Autocast dtype for inference; None is plain float32.
    train_dtype : torch.dtype or None
        Autocast dtype for fine-tuning; None is plain float32.
    batch_size : int
        Most crops per forward pass.
    reader_threads : int
        Image-reading threads; 0 reads between forward passes.
    """

    device: torch.device
    amp_dtype: torch.dtype | None
    train_dtype: torch.dtype | None
    batch_size: int
    reader_threads: int

    @property
    def mix_images(self) -> bool:
        """Whether consecutive images share forward passes (not on the CPU)."""
        return self.device.type != "cpu"

    @property
    def pin_memory(self) -> bool:
        """Whether crops are pinned before their copy to the device."""
        return self.device.type == "cuda"

    @contextmanager
    def autocast(self, training: bool = False):
        """The arithmetic of this runtime, for the block it encloses.

        Autocast to the mixed-precision dtype, or, for float32, autocast off
        and, on CUDA, TensorFloat-32 off too (see :func:`ieee_float32`).
        """
        dtype = self.train_dtype if training else self.amp_dtype
        with torch.autocast(self.device.type, dtype=dtype, enabled=dtype is not None):
            if dtype is None:
                with ieee_float32(self.device):
                    yield
            else:
                yield


@contextmanager
def ieee_float32(device: torch.device):
    """Full float32 convolutions and matrix products on CUDA, for the block.

    PyTorch lets cuDNN run float32 convolutions in TensorFloat-32 by
    default: a 10-bit mantissa where float32 has 23, so
    ``precision="float32"`` on an NVIDIA GPU was not float32. The global
    flags are restored on exit. Nothing changes on other devices.
    """
    if device.type != "cuda":
        yield
        return
    cudnn, matmul = torch.backends.cudnn, torch.backends.cuda.matmul
    saved = cudnn.allow_tf32, matmul.allow_tf32
    cudnn.allow_tf32 = matmul.allow_tf32 = False
    try:
        yield
    finally:
        cudnn.allow_tf32, matmul.allow_tf32 = saved


def resolve_runtime(
    device="auto", precision="auto", batch_size="auto", n_jobs=None
) -> Runtime:
    """The :class:`Runtime` of a featurizer's runtime parameters."""
    resolved = resolve_device(device)
    return Runtime(
        device=resolved,
        amp_dtype=autocast_dtype(precision, resolved),
        train_dtype=autocast_dtype(precision, resolved, training=True),
        batch_size=resolve_batch_size(batch_size, resolved),
        reader_threads=reader_threads(n_jobs, resolved),
    )
