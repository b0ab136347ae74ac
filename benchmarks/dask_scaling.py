"""Wall time of one featurization: a single process against Dask workers.

The same job (``CNNCropFeaturizer`` over the first ``--images`` photos of
clive-dev, or synthetic 500x500 JPEGs when it is absent) runs

1. in this process, ``featurizer.transform(paths)``, PyTorch using every
   core (``torch.get_num_threads()``);
2. with :func:`skdeepbiq.dask.featurize` on a ``LocalCluster`` of
   ``--workers`` worker processes, one task thread each; the cores are
   shared out, ``torch_threads = cores // workers``. Workers start with
   :func:`skdeepbiq.dask.worker_environment` (without it, Dask's
   ``MALLOC_TRIM_THRESHOLD_`` halves PyTorch's CPU speed).

Both use random weights (speed does not depend on their values). The cluster
is started before timing; ``featurize`` is timed twice: the first call also
sends the featurizer and builds each worker's network, the second is the
steady state of a long job. The script checks that both give the same rows (exactly, when the
per-process thread counts are equal), then prints a table and one JSON line,
which it also appends to ``benchmarks/results/<--results>`` (default
``dask_scaling.jsonl``) with ``close`` (whether the rows agree within 1e-4)
and the run's provenance (date, git commit, machine, device).

Run::

    python benchmarks/dask_scaling.py                 # 2 workers, 96 images
    python benchmarks/dask_scaling.py --workers 4 --images 400 --n-crops 25
"""

import argparse
import json
import os
import time

import dask
import numpy as np
import torch
from distributed import Client, LocalCluster
from protocol import append_result
from throughput import image_paths

from skdeepbiq import CNNCropFeaturizer
from skdeepbiq.dask import featurize, worker_environment


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="mobilenet_v2")
    parser.add_argument("--images", type=int, default=96)
    parser.add_argument("--n-crops", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--partition-size", type=int, default=8)
    parser.add_argument("--data", default=None, help="folder of images")
    parser.add_argument(
        "--results",
        default="dask_scaling.jsonl",
        metavar="NAME",
        help="append the summary to benchmarks/results/NAME (an absolute path as "
        "it is)",
    )
    args = parser.parse_args()

    paths, described = image_paths(args.images, args.data)
    cores = torch.get_num_threads()
    featurizer = CNNCropFeaturizer(
        backbone=args.backbone, weights=None, n_crops=args.n_crops, device="cpu"
    ).fit(paths)
    featurizer.transform(paths[:2])  # warm-up
    start = time.perf_counter()
    single = featurizer.transform(paths)
    single_s = time.perf_counter() - start

    torch_threads = max(1, cores // args.workers)
    with (
        dask.config.set(worker_environment()),
        LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            dashboard_address=":0",
            worker_dashboard_address=":0",
        ) as cluster,
        Client(cluster) as client,
    ):
        client.wait_for_workers(args.workers)
        timings = []
        for _ in range(2):  # cold (sending the model, first calls), then warm
            start = time.perf_counter()
            distributed = featurize(
                featurizer,
                paths,
                client=client,
                partition_size=args.partition_size,
                torch_threads=torch_threads,
            )
            timings.append(time.perf_counter() - start)
        cold_s, dask_s = timings

    identical = bool(np.array_equal(single, distributed))
    close = bool(np.allclose(single, distributed, rtol=1e-4, atol=1e-6))
    crops = len(paths) * featurizer.n_crops_
    print(
        f"{described}, {args.backbone}, {args.n_crops} crops per image, "
        f"{os.cpu_count()} cores"
    )
    print(f"{'run':<36}{'wall s':>8}{'crops/s':>9}")
    print(
        f"{f'single process, {cores} torch threads':<36}{single_s:>8.1f}{crops / single_s:>9.1f}"
    )
    label = f"dask, {args.workers} workers x {torch_threads} threads"
    print(f"{label + ', first call':<36}{cold_s:>8.1f}{crops / cold_s:>9.1f}")
    print(f"{label + ', again':<36}{dask_s:>8.1f}{crops / dask_s:>9.1f}")
    print(
        f"speed-up (again) {single_s / dask_s:.2f}x; rows identical: {identical} "
        f"(within 1e-4: {close})"
    )
    summary = {
        "images": described,
        "backbone": args.backbone,
        "n_crops": args.n_crops,
        "cores": os.cpu_count(),
        "single_process_s": single_s,
        "single_process_torch_threads": cores,
        "workers": args.workers,
        "worker_torch_threads": torch_threads,
        "partition_size": args.partition_size,
        "dask_first_call_s": cold_s,
        "dask_s": dask_s,
        "speedup": single_s / dask_s,
        "identical": identical,
    }
    print(json.dumps(summary))
    line = {"benchmark": "dask_scaling", **summary, "close": close}
    append_result(args.results, line, device="cpu")
    if not close:
        raise SystemExit("the Dask rows differ from the single-process rows")


if __name__ == "__main__":
    main()
