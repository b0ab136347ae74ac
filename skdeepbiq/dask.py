"""Scale out on Dask: featurize and score large collections on a cluster.

Needs the ``dask`` extra (``pip install "skdeepbiq[dask]"``); nothing here is
imported by ``import skdeepbiq``.

- :func:`featurize` runs a :class:`~skdeepbiq.CNNCropFeaturizer` over a list
  of paths on the workers of a ``dask.distributed`` cluster: each worker
  receives the fitted featurizer once and builds its network once, then
  featurizes partitions of the paths. The rows come back in order, or are
  written as ``.npy`` shards and returned as a lazy ``dask.array``.
- :func:`predict` scores a Dask bag, series or dataframe of paths with a
  fitted model (e.g. :func:`skdeepbiq.load_pretrained`), lazily.
- Grid searches and cross-validation need nothing from this module:
  featurize once with a shared ``memory`` folder, then fit under
  ``joblib.parallel_backend("dask")``; every task reads the features from
  the cache instead of running the network (see the user guide, "Running
  on a cluster").
"""

from __future__ import annotations

import os
import uuid
import warnings

import numpy as np
import torch
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

from ._engine.cache import atomic_write
from ._engine.images import check_images
from ._engine.runtime import resolve_device
from .exceptions import (
    ImageFailure,
    ImageReadError,
    SkDeepBIQWarning,
    UnreadableImageWarning,
)

__all__ = ["featurize", "predict", "worker_environment"]

_NEEDS_DASK = (
    'skdeepbiq.dask needs Dask: pip install "skdeepbiq[dask]" '
    '(or pip install "dask[distributed]")'
)


def worker_environment() -> dict:
    """Dask configuration for worker processes that run PyTorch on the CPU.

    Dask's nannies start workers with ``MALLOC_TRIM_THRESHOLD_=65536``,
    which makes glibc map and unmap every large block: PyTorch's activations
    are then page-faulted in at every forward pass, and MobileNetV2 ran at
    about half speed on a CPU (the user guide's cluster page has the
    figures). This returns
    ``distributed.nanny.pre-spawn-environ`` without that variable (keeping
    one BLAS/OpenMP thread per worker); use it when the workers start.

    Returns
    -------
    config : dict
        For ``dask.config.set``.

    Examples
    --------
    >>> import dask
    >>> from distributed import Client, LocalCluster
    >>> from skdeepbiq.dask import worker_environment
    >>> "MALLOC_TRIM_THRESHOLD_" in str(worker_environment())
    False
    >>> with dask.config.set(worker_environment()):  # doctest: +SKIP
    ...     cluster = LocalCluster(n_workers=2, threads_per_worker=1)
    >>> client = Client(cluster)  # doctest: +SKIP
    """
    import dask

    key = "distributed.nanny.pre-spawn-environ"
    environment = dict(dask.config.get(key, default={}))
    environment.pop("MALLOC_TRIM_THRESHOLD_", None)
    return {key: environment}


def _slow_malloc() -> bool:
    """Whether this process's glibc returns memory after every large free."""
    return "MALLOC_TRIM_THRESHOLD_" in os.environ


def _distributed():
    try:
        import distributed
    except ImportError as error:
        raise ImportError(_NEEDS_DASK) from error
    return distributed


def _client(client):
    """``client``, or the current Dask client; an error naming ``client``."""
    if client is not None:
        return client
    try:
        return _distributed().get_client()
    except ValueError as error:
        raise ValueError(
            "no Dask client: pass client=, or create one first, e.g. "
            "distributed.Client(distributed.LocalCluster()) or "
            "distributed.Client('scheduler-address:8786')"
        ) from error


def _shift(failures, offset: int) -> list[ImageFailure]:
    return [failure._replace(index=failure.index + offset) for failure in failures]


def _featurize_partition(featurizer, paths, offset, shard, torch_threads):
    """Worker side of :func:`featurize`: rows of ``paths`` and their failures.

    ``featurizer`` is the worker's one copy, shared by all its tasks, so its
    network is built once per worker. Failure indices are shifted by
    ``offset`` to be positions in the whole list. With ``shard``, the rows
    are written there atomically and only their shape is returned. The last
    element says whether the worker runs PyTorch on the CPU with Dask's
    slow ``MALLOC_TRIM_THRESHOLD_`` (see :func:`worker_environment`).
    """
    if torch_threads is not None and torch.get_num_threads() != torch_threads:
        torch.set_num_threads(torch_threads)
    try:
        result = featurizer.extract(paths)
        rows, failures = result.features, result.failures
    except ImageReadError as error:
        shifted = _shift(error.failures, offset)
        raise ImageReadError.from_failures(shifted) from None
    failures = _shift(failures, offset)
    slow = _slow_malloc() and resolve_device(featurizer.device).type == "cpu"
    if shard is None:
        return rows, failures, slow
    atomic_write(shard, lambda file: np.save(file, rows, allow_pickle=False))
    return rows.shape, failures, slow


def featurize(
    featurizer,
    paths,
    *,
    client=None,
    partition_size=64,
    output=None,
    torch_threads=None,
    progress=False,
):
    """Features of ``paths`` computed on the workers of a Dask cluster.

    On CPU workers, row ``i`` is bit-identical to
    ``featurizer.transform(paths)[i]`` in a single process that runs
    PyTorch with the same number of threads, whatever the number of workers
    and the partition size: an image's features depend only on its own
    crops (see :class:`~skdeepbiq.CNNCropFeaturizer`). The thread count
    matters because PyTorch's CPU kernels choose their arithmetic by it.

    Parameters
    ----------
    featurizer : CNNCropFeaturizer
        Fitted or not. An unfitted one is cloned and fitted here (the
        argument is left untouched); fine-tuning featurizers must be fitted
        with their scores first. It is sent to each worker once, and each
        worker builds its network once. Its ``device`` is resolved on the
        worker: ``"auto"`` takes the worker's GPU when it has one. With
        ``memory`` set to a folder every worker can reach, the per-image
        cache is shared: an image is computed once across workers and runs.
    paths : sequence of str or path-like
        Image files, readable by every worker under these names.
    client : distributed.Client, default=None
        The cluster's client; None means the current one
        (``distributed.get_client()``).
    partition_size : int, default=64
        Images per task.
    output : str or path-like, default=None
        None gathers the rows into one array in this process. A folder
        writes each partition's rows as ``part-<k>.npy`` there (atomically)
        and returns a lazy ``dask.array`` over the shards, for collections
        whose features do not fit in memory.
    torch_threads : int, default=None
        PyTorch threads on each worker (``torch.set_num_threads``). None
        leaves the workers' setting: Dask starts worker processes with
        ``OMP_NUM_THREADS=1``, i.e. one thread each, so run about as many
        single-threaded workers as cores, or fewer workers with more
        threads each.
    progress : bool, default=False
        Show Dask's progress bar (``distributed.progress``; a widget in a
        notebook) while the tasks run. The tasks are also visible on the
        Dask dashboard as ``skdeepbiq-featurize-*``.

    Returns
    -------
    features : ndarray or dask.array.Array of shape (n_images, n_features)
        float32, in the order of ``paths``. With ``on_error="nan"``, rows of
        unreadable images are NaN and one
        :class:`~skdeepbiq.exceptions.UnreadableImageWarning` lists them.

    Raises
    ------
    ImageReadError
        With ``on_error="raise"``, for an image that cannot be read; the
        message names it by its position in ``paths``.
    """
    distributed = _distributed()
    client = _client(client)
    _check_count("partition_size", partition_size)
    if torch_threads is not None:
        _check_count("torch_threads", torch_threads, " or None")
    paths = _file_paths(paths)
    if not hasattr(featurizer, "network_"):
        featurizer = clone(featurizer).fit(paths)
    starts = range(0, len(paths), partition_size)
    shards = _shard_paths(output, len(starts))
    [remote] = client.scatter([featurizer], broadcast=True, hash=False)
    run = uuid.uuid4().hex[:8]
    futures = [
        client.submit(
            _featurize_partition,
            remote,
            paths[start : start + partition_size],
            start,
            shard,
            torch_threads,
            key=f"skdeepbiq-featurize-{run}-{number}",
        )
        for number, (start, shard) in enumerate(zip(starts, shards, strict=True))
    ]
    if progress:
        distributed.progress(futures)
    rows = None
    if output is None:
        rows = np.empty((len(paths), featurizer.n_features_out_), np.float32)
    results, failures = _gather(distributed, futures, starts, rows)
    if failures:
        warnings.warn(
            UnreadableImageWarning.from_failures(
                failures, len(paths), "their feature rows are NaN"
            ),
            stacklevel=2,
        )
    return rows if output is None else _shard_array(shards, results)


def _check_count(name: str, value, alternatives: str = "") -> None:
    """Refuse ``value`` unless it is a positive integer, naming ``name``."""
    if isinstance(value, bool) or not (
        isinstance(value, int | np.integer) and value >= 1
    ):
        raise ValueError(
            f"{name} must be a positive integer{alternatives}, got {value!r}"
        )


def _file_paths(paths) -> list[str]:
    """``paths`` as strings; anything that is not a path is a TypeError."""
    paths = check_images(paths)
    for index, path in enumerate(paths):
        if not isinstance(path, str | os.PathLike):
            raise TypeError(
                f"paths[{index}] is a {type(path).__name__}, not a path: workers "
                "read images from files (featurize in-memory images locally)"
            )
    return [os.fspath(path) for path in paths]


def _shard_paths(output, n_shards: int) -> list:
    """File of each partition's shard in ``output``, or None for each."""
    if output is None:
        return [None] * n_shards
    os.makedirs(output, exist_ok=True)
    return [
        os.path.join(os.fspath(output), f"part-{number:05d}.npy")
        for number in range(n_shards)
    ]


def _gather(distributed, futures, starts, rows):
    """Results of the partitions as they finish, and the failures, sorted.

    Rows go into ``rows`` when it is an array; otherwise each partition's
    result (its shard's shape) is kept in order. Warns once when workers run
    PyTorch on the CPU with Dask's slow malloc setting.
    """
    position = {future.key: number for number, future in enumerate(futures)}
    failures, results, slow_workers = [], [None] * len(futures), False
    try:
        for future, (result, failed, slow) in distributed.as_completed(
            futures, with_results=True
        ):
            number = position[future.key]
            failures.extend(failed)
            slow_workers |= slow
            if rows is not None:
                rows[starts[number] : starts[number] + len(result)] = result
            else:
                results[number] = result
            future.release()
    finally:
        for future in futures:
            future.cancel()
    if slow_workers:
        warnings.warn(
            SkDeepBIQWarning(
                "Dask workers run PyTorch on the CPU with MALLOC_TRIM_THRESHOLD_ "
                "set, which about halves its speed; start them under "
                "dask.config.set(skdeepbiq.dask.worker_environment())"
            ),
            stacklevel=3,
        )
    failures.sort(key=lambda failure: failure.index)
    return results, failures


def _shard_array(shards, shapes):
    """A lazy ``dask.array`` of the ``.npy`` files ``shards``, stacked."""
    import dask
    import dask.array as da

    load = dask.delayed(np.load, pure=True)
    return da.concatenate(
        [
            da.from_delayed(load(shard, mmap_mode="r"), shape, dtype=np.float32)
            for shard, shape in zip(shards, shapes, strict=True)
        ]
    )


def _predict_partition(paths, model) -> list[float]:
    return model.predict(list(paths)).tolist()


def _predict_series(paths, model):
    import pandas as pd

    return pd.Series(model.predict(list(paths)), index=paths.index, name="score")


def predict(model, paths, *, column="path"):
    """Scores of a Dask collection of image paths, computed lazily.

    The model is put in the task graph once: each worker unpickles it once
    and scores all its partitions with it. Nothing runs until the result is
    computed, with whatever scheduler is active (a ``distributed.Client``,
    threads, processes).

    Parameters
    ----------
    model : fitted DeepBIQRegressor
        E.g. :func:`skdeepbiq.load_pretrained` or :func:`skdeepbiq.load_model`.
    paths : dask.bag.Bag, dask.dataframe.Series or dask.dataframe.DataFrame
        Image paths; for a dataframe, those in ``column``.
    column : str, default="path"
        The column of paths when ``paths`` is a dataframe.

    Returns
    -------
    scores : dask.bag.Bag or dask.dataframe.Series
        One float per path, in order: a bag for a bag, a series named
        ``"score"`` (with the same index) for a series or dataframe.
    """
    try:
        import dask
        import dask.bag as db
        import dask.dataframe as dd
    except ImportError as error:
        raise ImportError(_NEEDS_DASK) from error
    check_is_fitted(model)
    shared = dask.delayed(model, traverse=False)
    if isinstance(paths, db.Bag):
        return paths.map_partitions(_predict_partition, shared)
    if isinstance(paths, dd.DataFrame):
        if column not in paths.columns:
            raise ValueError(
                f"column={column!r} is not a column of the dataframe; its "
                f"columns are {list(paths.columns)}"
            )
        paths = paths[column]
    if isinstance(paths, dd.Series):
        return paths.map_partitions(_predict_series, shared, meta=("score", "f8"))
    raise TypeError(
        "paths must be a dask.bag.Bag, dask.dataframe.Series or "
        f"dask.dataframe.DataFrame, not {type(paths).__name__}; score a list "
        "with model.predict(paths)"
    )
