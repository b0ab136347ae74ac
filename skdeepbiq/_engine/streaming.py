"""The engine: images in, per-image crop features (and where the crops are) out.

It reads and crops images (in the calling thread between forward passes, or
ahead of them in worker threads), groups the crops into forward passes
(:mod:`skdeepbiq._engine.batching`), and yields one :class:`ImageRows` per image as
soon as all its crops have gone through: the features, the crop boxes in the
image's own pixels and its size, so that every caller (features, crop
scores, quality maps) decodes an image once. With a shared trunk
(:mod:`skdeepbiq._engine.trunk`), the trunk runs once over each image and its
crops are windows of the trunk's maps.

:class:`CNNCropFeaturizer` builds an :class:`Engine` per call from its
fitted network, its :class:`~skdeepbiq._engine.crops.CropSpec` and the call's
:class:`~skdeepbiq._engine.runtime.Runtime`.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
import torch
from sklearn.utils import Bunch
from tqdm.auto import tqdm

from ..exceptions import ImageFailure, ImageReadError
from . import batching as _batching
from .cache import FeatureCache, image_key
from .cutting import Prepared, crop_boxes_of, nan_where_missing, prepare
from .images import check_readable, image_description
from .trunk import cut_windows, run_trunk

#: Enlargement beyond which an image is reported (``SmallImageWarning``).
MAX_ENLARGEMENT = 2.0


class ImageRows(NamedTuple):
    """The crop features of one image and where its crops are.

    ``features`` has shape (n_crops, n_features_per_crop); ``boxes`` (n_crops,
    4) in the image's own pixels; ``shape`` is the image's ``(height,
    width)``.
    """

    index: int
    features: np.ndarray
    boxes: np.ndarray
    shape: tuple[int, int]


def cache_key(image) -> str | None:
    """Cache key of an image, or None when its file cannot be stat'ed."""
    try:
        return image_key(image)
    except OSError:
        return None


def read_ahead(
    indices, read: Callable[[int], object], n_threads: int, lookahead: int
) -> Iterator[tuple[int, Callable[[], object]]]:
    """``(index, call returning read(index))`` in order.

    With threads, images are read ahead by ``n_threads`` workers, at most
    ``lookahead`` ahead; with none, each is read when its call is made.
    """
    if n_threads == 0:
        for index in indices:
            yield index, functools.partial(read, index)
        return
    with ThreadPoolExecutor(n_threads) as pool:
        pending = deque()
        queue = iter(indices)
        for index in queue:
            pending.append((index, pool.submit(read, index)))
            if len(pending) >= lookahead:
                break
        while pending:
            index, future = pending.popleft()
            next_index = next(queue, None)
            if next_index is not None:
                pending.append((next_index, pool.submit(read, next_index)))
            yield index, future.result


class Engine:
    """A fitted network on one :class:`Runtime`, cutting crops by a :class:`CropSpec`.

    Parameters
    ----------
    network : torch.nn.Module
        Crops -> features, on ``runtime.device``; with ``trunk``, the tail
        (windows of trunk maps -> features).
    mean, std : tuple of float
        Per-channel normalisation of the weights.
    spec : CropSpec
        Where each image's crops are.
    runtime : Runtime
        Device, precision, batch size and reading threads of this call.
    trunk : torch.nn.Module, default=None
        Image -> stride-16 maps, for shared-trunk computation.
    trunk_cache : FeatureCache, default=None
        Where trunk maps are kept between calls.
    taps : TrunkTaps, default=None
        With a trunk, the tapped layers (multi-level features): those of
        the trunk pooled over each crop's window of their maps, those of the
        tail on the crop's window.

    Attributes
    ----------
    tail : torch.nn.Module
        With a trunk, ``network`` itself: windows -> penultimate features
        (what fine-tuning trains).
    """

    def __init__(
        self, network, mean, std, spec, runtime, trunk=None, trunk_cache=None,
        taps=None,
    ):  # fmt: skip
        self.network = network if taps is None else taps.tail(network)
        self.tail = network
        self.spec = spec
        self.runtime = runtime
        self.trunk = trunk
        self.trunk_cache = trunk_cache
        self.taps = taps
        device = runtime.device
        self.mean = torch.tensor(mean, device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(std, device=device).view(1, 3, 1, 1)

    def prepared(self, images: list, indices, failures: list | None = None):
        """``(index, Prepared)`` of ``images[indices]``, in order.

        Images that fail to decode raise, or, when ``failures`` is a list,
        are appended to it and skipped.
        """
        read = functools.partial(self._prepare, images)
        n_threads = self.runtime.reader_threads
        n_crops = max(1, self.spec.n_crops)
        lookahead = max(2, self.runtime.batch_size // n_crops + 1) + 2 * n_threads
        for index, result in read_ahead(indices, read, n_threads, lookahead):
            try:
                item = result()
            except ImageReadError as error:
                if failures is None:
                    raise
                failures.extend(error.failures)
                continue
            if self.trunk is None and self.runtime.pin_memory:
                item = item._replace(payload=item.payload.pin_memory())
            yield index, item

    def _prepare(self, images: list, index: int) -> Prepared:
        return prepare(images[index], index, self.spec, self.trunk is not None)

    def trunk_maps(self, image, working_image: torch.Tensor) -> torch.Tensor:
        """Trunk maps ``(C, h, w)`` of one image, from the cache when there."""
        key = cache_key(image) if self.trunk_cache is not None else None
        if key is not None:
            stored = self.trunk_cache.load(key)
            if stored is not None and stored.ndim == 3:
                return torch.from_numpy(stored).to(self.runtime.device)
        with torch.inference_mode():
            maps = run_trunk(
                self.trunk, working_image, self.mean, self.std, self.runtime
            ).float()
        if key is not None:
            self.trunk_cache.save(key, maps.cpu().numpy())
        return maps

    def trunk_windows(self, image, working_image: torch.Tensor, snapped):
        """Windows of the trunk maps under ``snapped``, and the early taps' rows.

        The rows (``(n_crops, d)`` array, or None without taps in the trunk)
        pool each crop's window of the trunk taps' maps; those maps are not
        cached, so with such taps the trunk always runs.
        """
        if self.taps is None or not self.taps.early:
            return cut_windows(self.trunk_maps(image, working_image), snapped), None
        with torch.inference_mode():
            maps, tapped = self.taps.run_trunk(
                lambda: run_trunk(
                    self.trunk, working_image, self.mean, self.std, self.runtime
                )
            )
            size = tuple(working_image.shape[1:])
            rows = self.taps.window_features(tapped, size, snapped)
        return cut_windows(maps.float(), snapped), rows.float().cpu().numpy()

    def _crops(self, images: list, prepared, meta: dict):
        """``(index, crops)`` for the passes; boxes, shapes (and early rows) in ``meta``."""
        for index, item in prepared:
            crops, early = item.payload, None
            if self.trunk is not None:
                crops, early = self.trunk_windows(images[index], *crops)
            meta[index] = item, early
            yield index, crops

    def stream(self, images: list, indices, failures: list | None = None):
        """Yield :class:`ImageRows` of ``images[indices]``, in that order.

        Crops of consecutive images share passes of ``batch_size`` on CUDA;
        on the CPU a pass holds one image's crops. An image's rows are
        yielded as soon as all its crops went through. Images that cannot
        be decoded raise, or are added to ``failures`` when it is a list.
        """
        if not indices:
            return
        meta, parts = {}, {}
        prepared = self.prepared(images, indices, failures)
        passes = _batching.forward_passes(
            self._crops(images, prepared, meta),
            self.runtime.batch_size,
            mix_images=self.runtime.mix_images,
        )
        for crops, owners in passes:
            with torch.inference_mode():
                features = _batching.forward_splitting_on_oom(
                    self.network, crops, self.mean, self.std, self.runtime
                )
            start = 0
            for index, count, last in owners:
                parts.setdefault(index, []).append(features[start : start + count])
                start += count
                if last:
                    item, early = meta.pop(index)
                    rows = np.concatenate(parts.pop(index))
                    if early is not None:
                        rows = np.concatenate([early, rows], axis=1)
                    yield ImageRows(index, rows, item.boxes, item.shape)


def collect_trunk_maps(engine: Engine, images: list, failures: list | None):
    """Trunk maps of each readable image, for fine-tuning.

    Returns ``(maps, working sizes, kept indices)``; the maps are float32
    tensors on the device, outside inference mode so that autograd can use
    them.
    """
    maps, sizes, kept = [], [], []
    for index, item in engine.prepared(images, range(len(images)), failures):
        working_image, _ = item.payload
        maps.append(engine.trunk_maps(images[index], working_image).float().clone())
        sizes.append(tuple(working_image.shape[1:]))
        kept.append(index)
    return maps, sizes, kept


def cached_rows(cache: FeatureCache | None, images: list, n_features: int):
    """Cache keys of ``images`` and the rows already cached (index -> row)."""
    if cache is None:
        return None, {}
    keys = [cache_key(image) for image in images]
    found = {}
    for index, key in enumerate(keys):
        if key is not None:
            row = cache.load(key, n_features)
            if row is not None:
                found[index] = row
    return keys, found


def readable(images: list, todo: list[int], on_error: str):
    """The images of ``todo`` that pass :func:`check_readable`, and the others.

    With ``on_error="raise"`` any failure raises :class:`ImageReadError`
    before the network starts.
    """
    failures = check_readable(images, todo)
    if failures and on_error == "raise":
        raise ImageReadError.from_failures(
            failures, context=" (checked before running the network)"
        )
    failed = {failure.index for failure in failures}
    return [index for index in todo if index not in failed], failures


def extract_rows(
    engine: Engine,
    images: list,
    *,
    n_features: int,
    cache: FeatureCache | None,
    on_error: str,
    progress: dict,
    return_boxes: bool = False,
) -> Bunch:
    """Crop features of ``images``: cached rows, the others streamed.

    With a dense grid (``engine.spec.dense_stride``) each image's features
    are an array (n_crops_i, n_features_per_crop) in a list, and nothing is
    cached; else rows of ``n_features`` in an array, NaN for failures.
    Returns a Bunch with ``features``, ``failures`` (sorted), ``enlarged``
    (an :class:`~skdeepbiq.exceptions.ImageFailure` for each decoded image
    enlarged more than :data:`MAX_ENLARGEMENT` times to reach its crops,
    sorted) and, with ``return_boxes``, ``boxes`` and ``shapes`` (cached
    images are decoded for them, not run; unreadable ones get NaN boxes, or
    None in a dense grid), else None for both.
    """
    dense = engine.spec.dense_stride is not None
    keys, found = cached_rows(None if dense else cache, images, n_features)
    todo, failures = readable(
        images, [i for i in range(len(images)) if i not in found], on_error
    )
    if dense:
        features = [None] * len(images)
    else:
        features = np.empty((len(images), n_features), dtype=np.float32)
        for index, row in found.items():
            features[index] = row
    boxes, shapes = [None] * len(images), [None] * len(images)
    skipped = None if on_error == "raise" else failures
    initial = len(images) - len(todo)
    enlarged = []
    with tqdm(total=len(images), initial=initial, **progress) as bar:
        for rows in engine.stream(images, todo, skipped):
            index = rows.index
            factor = engine.spec.enlargement(rows.shape)
            if factor > MAX_ENLARGEMENT:
                height, width = rows.shape
                reason = (
                    f"{width}x{height} pixels, enlarged {factor:.1f}x for its "
                    f"{engine.spec.crop_size}-pixel crops"
                )
                description = image_description(images[index])
                enlarged.append(ImageFailure(index, description, reason))
            features[index] = rows.features if dense else rows.features.reshape(-1)
            boxes[index], shapes[index] = rows.boxes, rows.shape
            if keys is not None and keys[index] is not None:
                cache.save(keys[index], features[index])
            bar.update(1)
    failures.sort(key=lambda failure: failure.index)
    if not dense:
        features[[failure.index for failure in failures]] = np.nan
    enlarged.sort(key=lambda image: image.index)
    if return_boxes:
        cached = sorted(found)
        located = crop_boxes_of([images[index] for index in cached], engine.spec, [])
        for index, place in zip(cached, located, strict=True):
            boxes[index], shapes[index] = (None, None) if place is None else place
        if not dense:  # unreadable images, cached or not, get NaN boxes
            boxes = nan_where_missing(boxes, engine.spec.n_crops)
    else:
        boxes = shapes = None
    return Bunch(
        features=features,
        boxes=boxes,
        shapes=shapes,
        failures=failures,
        enlarged=enlarged,
    )
