"""``skdeepbiq score`` on a busy CPU: OMP_WAIT_POLICY left to the command line
(which sets PASSIVE) against ACTIVE, each on an idle machine and beside a
busy process.

Scores the seven sample photos (``examples/images``) with the pretrained
default model, ``skdeepbiq score`` in a subprocess (model loading
included), under four conditions:

- ``default``: OMP_WAIT_POLICY unset, so that the command line sets it to
  PASSIVE before torch loads; idle OpenMP threads sleep;
- ``active``: ``OMP_WAIT_POLICY=ACTIVE``, which the command line keeps;
  idle threads spin;
- each alone, and ``+busy``: with one pure-Python spinning process per core
  (``os.cpu_count()`` of them) running for the duration of the command.

The runs are interleaved (round-robin over the conditions, after one
warm-up run that is not counted), ``--repeats`` of each; the table gives
the median wall time, and one JSON line per condition (configuration,
figures, machine, date, git commit) is appended to
``benchmarks/results/busy_cpu.jsonl``::

    python benchmarks/busy_cpu.py --repeats 2

Needs the EfficientNet-Lite2 weights in torch's cache (``skdeepbiq weights
fetch``). Other work on the machine shows in the figures: the
``load_before`` of each line is the 1-minute load average before its runs.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "busy_cpu.jsonl"
SAMPLES = ROOT / "examples" / "images"
COMMAND = ["-m", "skdeepbiq", "score", str(SAMPLES), "--device", "cpu", "-q"]
#: A process that keeps one core busy until it is stopped.
SPINNER = "while True:\n    pass\n"
#: condition -> (OMP_WAIT_POLICY, or None to leave it unset; busy or not).
CONDITIONS = {
    "default": (None, False),
    "active": ("ACTIVE", False),
    "default+busy": (None, True),
    "active+busy": ("ACTIVE", True),
}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--repeats", type=int, default=3, help="runs of each condition (default: 3)"
    )
    parser.add_argument(
        "--no-save", action="store_true", help=f"do not append to {RESULTS.name}"
    )
    return parser.parse_args(argv)


def environment(policy: str | None) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), env.get("PYTHONPATH")])
    )
    env.pop("OMP_WAIT_POLICY", None)
    if policy is not None:
        env["OMP_WAIT_POLICY"] = policy
    return env


def score_once(policy: str | None, busy: bool) -> float:
    """Wall seconds of one ``skdeepbiq score`` run."""
    spinners = []
    if busy:
        spinners = [
            subprocess.Popen([sys.executable, "-c", SPINNER])
            for _ in range(os.cpu_count() or 1)
        ]
        time.sleep(0.5)  # let them take the cores
    try:
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, *COMMAND],
            env=environment(policy),
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - start
    finally:
        for spinner in spinners:
            spinner.terminate()
        for spinner in spinners:
            spinner.wait()
    if done.returncode != 0 or done.stdout.count("\n") != 8:
        raise SystemExit(f"skdeepbiq score failed:\n{done.stderr}")
    return seconds


def git_commit() -> str:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return commit + ("-dirty" if dirty else "")


def main(argv=None) -> int:
    args = parse_args(argv)
    print("warm-up run (not counted) ...", file=sys.stderr)
    score_once(None, False)
    runs = {name: [] for name in CONDITIONS}
    loads = {name: [] for name in CONDITIONS}
    for round_ in range(args.repeats):
        for name, (policy, busy) in CONDITIONS.items():
            loads[name].append(os.getloadavg()[0])
            runs[name].append(round(score_once(policy, busy), 2))
            print(f"round {round_ + 1}: {name}: {runs[name][-1]} s", file=sys.stderr)
    machine = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
    }
    stamp = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    commit = git_commit()
    print(f"\n{'condition':<14} {'OMP_WAIT_POLICY':<28} {'busy':>4} "
          f"{'wall s (median)':>16}  runs")  # fmt: skip
    lines = []
    for name, (policy, busy) in CONDITIONS.items():
        median = round(statistics.median(runs[name]), 2)
        shown = policy or "unset (CLI sets PASSIVE)"
        spinners = (os.cpu_count() or 1) if busy else 0
        print(f"{name:<14} {shown:<28} {spinners:>4} {median:>16.2f}  {runs[name]}")
        lines.append(
            {
                "benchmark": "busy_cpu",
                "condition": name,
                "omp_wait_policy": policy,
                "omp_wait_policy_seen_by_torch": policy or "PASSIVE",
                "busy_processes": spinners,
                "command": "skdeepbiq "
                + " ".join(COMMAND[2:]).replace(str(ROOT) + "/", ""),
                "n_images": 7,
                "repeats": args.repeats,
                "wall_s": runs[name],
                "median_wall_s": median,
                "load_before": [round(load, 2) for load in loads[name]],
                "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
                "machine": machine,
                "date": stamp,
                "git_commit": commit,
            }
        )
    if not args.no_save:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        with open(RESULTS, "a", encoding="utf-8") as stream:
            for line in lines:
                stream.write(json.dumps(line) + "\n")
        print(f"\nappended {len(lines)} lines to {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
