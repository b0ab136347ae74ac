"""Time and peak memory of ``skdeepbiq score`` on one large photo, 0.25 to 48 MP.

Users' photos have 12 to 48 megapixels, not CLIVE's 500x500. This benchmark
makes synthetic large photos from clive-dev photos: the centre 3:2 part of
each (500x333 of a 500x500 photo) enlarged with PIL's Lanczos to each
``--sizes`` megapixel count, 3:2 (2 MP: 1732x1155, 12 MP: 4243x2829, 24 MP:
6000x4000, 48 MP: 8485x5657), and ``0.25`` is the photo itself, 500x500,
the size the shipped model was trained at. Each is a JPEG of quality 90,
kept in ``--photo-cache`` (under /tmp) so that reruns do not write them
again. Each size is then scored by ``python -m skdeepbiq score PHOTO`` (the
``skdeepbiq score`` command) in a fresh process, ``--repeats`` times, and
with ``--maps DIR`` once: a fresh process per measurement, so that its peak
resident set size (``ru_maxrss`` of ``os.wait4``) is that of the run alone.
Wall time includes starting Python, importing torch and loading the model,
as a user sees it; ``x 0.25 MP`` divides it by that of the 500x500 photo.

Printed per size, medians over repeats (and photos, with ``--photos``
above 1): time in seconds, time relative to the 500x500 photo, peak
memory in GB and the score (one per photo).

Run from the repository root, with the package importable (``pip install
-e .``; from a worktree, ``PYTHONPATH=.``)::

    python benchmarks/large_photos.py
    python benchmarks/large_photos.py --viewing-scale native --sizes 0.25,2,12
    python benchmarks/large_photos.py --sizes 0.25,2 --repeats 1 --no-maps

``--viewing-scale`` (``learned``, ``native`` or a shorter side in pixels) is
passed on to ``skdeepbiq score``; left out, the command's default. Each
configuration (scores, maps) appends one JSON line, every row with its
measurements, date, git commit and machine, to
``benchmarks/results/large_photos.jsonl``.
"""

import argparse
import csv
import io
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image
from protocol import append_jsonl, load_clive_dev, provenance

RESULTS = Path(__file__).resolve().parent / "results" / "large_photos.jsonl"
PHOTO_CACHE = Path(tempfile.gettempdir()) / "skdeepbiq-large-photos"
NO_PARAMETER = "native (before the parameter existed)"
JPEG_QUALITY = 90
TRAINING_SIZE = (500, 500)


def photo_size(megapixels: float) -> tuple[int, int]:
    """Width and height: 500x500 for 0.25 MP, else 3:2 of that many pixels."""
    if megapixels == 0.25:
        return TRAINING_SIZE
    width = round(math.sqrt(megapixels * 1e6 * 1.5))
    return width, round(width / 1.5)


def large_photo(source: str, megapixels: float, folder: Path) -> Path:
    """``source`` at ``megapixels`` as a JPEG in ``folder``, written once."""
    width, height = photo_size(megapixels)
    target = folder / f"{Path(source).stem}-{width}x{height}-q{JPEG_QUALITY}.jpg"
    if target.exists():
        return target
    print(f"writing {target}", file=sys.stderr)
    photo = Image.open(source).convert("RGB")
    if (width, height) != TRAINING_SIZE:
        # The centre 3:2 part, so that enlarging keeps the photo's geometry.
        full_width, full_height = photo.size
        crop_height = min(full_height, round(full_width / 1.5))
        crop_width = round(crop_height * 1.5)
        left = (full_width - crop_width) // 2
        top = (full_height - crop_height) // 2
        photo = photo.crop((left, top, left + crop_width, top + crop_height))
    if photo.size != (width, height):
        photo = photo.resize((width, height), Image.Resampling.LANCZOS)
    folder.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    photo.save(partial, "JPEG", quality=JPEG_QUALITY)
    partial.replace(target)
    return target


def child_environment() -> dict:
    """The children's environment: OMP_WAIT_POLICY=PASSIVE, this package first."""
    environment = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    root = str(Path(__file__).resolve().parents[1])
    paths = [root, *filter(None, environment.get("PYTHONPATH", "").split(":"))]
    environment["PYTHONPATH"] = ":".join(dict.fromkeys(paths))
    return environment


def measure(command: list[str], timeout: float) -> dict:
    """Run ``command`` in a fresh process: wall time, peak RSS, its output."""
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        process = subprocess.Popen(
            command, stdout=stdout, stderr=stderr, env=child_environment()
        )
        deadline = start + timeout
        timed_out = False
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                timed_out = True
                break
            time.sleep(0.05)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        stdout.seek(0)
        stderr.seek(0)
        output = stdout.read().decode(errors="replace")
        errors = stderr.read().decode(errors="replace")
    return {
        "seconds": round(seconds, 2),
        "peak_rss_gb": round(usage.ru_maxrss / 1024**2, 3),  # KiB on Linux
        "returncode": process.returncode,
        "timed_out": timed_out,
        "score": None if timed_out else parse_score(output),
        "stderr_tail": errors[-300:] if process.returncode else "",
    }


def parse_score(output: str):
    """The score of the one photo in ``skdeepbiq score``'s CSV, or None."""
    rows = list(csv.DictReader(io.StringIO(output)))
    if len(rows) != 1 or not rows[0].get("score"):
        return None
    return float(rows[0]["score"])


def command_viewing_scale(argument) -> str:
    """The viewing scale ``skdeepbiq score`` uses, as the JSON line records it."""
    if argument is not None:
        return argument
    from skdeepbiq import load_pretrained

    featurizer = load_pretrained(device="cpu").featurizer_
    return featurizer.get_params().get("viewing_scale", NO_PARAMETER)


def median(values):
    values = [value for value in values if value is not None]
    return statistics.median(values) if values else None


def table(name: str, rows: list[dict]) -> None:
    """Print one configuration's rows."""
    reference = next((row for row in rows if row["megapixels"] == 0.25), None)
    print(f"\n{name}")
    print(f"{'MP':>6} {'size':>10} {'time s':>8} {'x 0.25 MP':>9} "
          f"{'peak GB':>8}  score")  # fmt: skip
    for row in rows:
        relative = (
            f"{row['seconds'] / reference['seconds']:9.1f}"
            if reference and row["seconds"] and reference["seconds"]
            else f"{'-':>9}"
        )
        seconds = f"{row['seconds']:8.1f}" if row["seconds"] else f"{'-':>8}"
        memory = f"{row['peak_rss_gb']:8.2f}" if row["peak_rss_gb"] else f"{'-':>8}"
        scores = ", ".join(
            "-" if score is None else f"{score:.2f}" for score in row["scores"]
        )
        failed = " (failed or timed out)" if row["failures"] else ""
        print(f"{row['megapixels']:6g} {row['size']:>10} {seconds} {relative} "
              f"{memory}  {scores}{failed}", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default="0.25,2,12,24,48",
        help="megapixel counts, comma-separated (default: %(default)s)",
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="measurements of each score"
    )
    parser.add_argument(
        "--maps-repeats", type=int, default=1, help="measurements of each --maps"
    )
    parser.add_argument(
        "--no-maps", action="store_true", help="skip `skdeepbiq score --maps`"
    )
    parser.add_argument(
        "--viewing-scale",
        default=None,
        help="passed on to `skdeepbiq score` (learned, native or a shorter "
        "side in pixels; default: the command's own)",
    )
    parser.add_argument(
        "--photos", type=int, default=1, help="the first N clive-dev photos"
    )
    parser.add_argument("--device", default=None, help="passed on when given")
    parser.add_argument(
        "--timeout", type=float, default=1800, help="seconds per measurement"
    )
    parser.add_argument("--photo-cache", default=str(PHOTO_CACHE))
    parser.add_argument("--data", default=None, help="clive-dev folder")
    parser.add_argument("--out", default=str(RESULTS), help="JSON lines file")
    args = parser.parse_args()
    sizes = [float(text) for text in args.sizes.split(",") if text.strip()]

    sources = list(load_clive_dev(args.data).paths[: args.photos])
    photos = {
        size: [large_photo(source, size, Path(args.photo_cache)) for source in sources]
        for size in sizes
    }
    base = [sys.executable, "-m", "skdeepbiq", "score"]
    if args.viewing_scale is not None:
        base += ["--viewing-scale", args.viewing_scale]
    if args.device is not None:
        base += ["--device", args.device]
    configurations = [("score", [], args.repeats)]
    if not args.no_maps:
        configurations.append(("score --maps", ["--maps"], args.maps_repeats))
    viewing_scale = command_viewing_scale(args.viewing_scale)
    shared = provenance(args.device or "auto")

    for name, extra, repeats in configurations:
        rows = []
        for size in sizes:
            width, height = photo_size(size)
            runs, scores = [], []
            for photo in photos[size]:
                photo_runs = []
                for repeat in range(repeats):
                    print(f"{name} {photo.name} ({size:g} MP), run "
                          f"{repeat + 1}/{repeats}", file=sys.stderr)  # fmt: skip
                    maps_folder = tempfile.mkdtemp(prefix="skdeepbiq-maps-")
                    command = [*base, *extra, *([maps_folder] if extra else [])]
                    run = measure([*command, str(photo)], args.timeout)
                    if extra:
                        run["maps_written"] = len(list(Path(maps_folder).glob("*.png")))
                    shutil.rmtree(maps_folder, ignore_errors=True)
                    print(f"  {run['seconds']:.1f} s, {run['peak_rss_gb']:.2f} GB, "
                          f"score {run['score']}", file=sys.stderr)  # fmt: skip
                    if run["returncode"]:
                        print(f"  exit {run['returncode']}: {run['stderr_tail']}",
                              file=sys.stderr)  # fmt: skip
                    photo_runs.append(run)
                runs += photo_runs
                scores.append(median([run["score"] for run in photo_runs]))
            ok = [run for run in runs if not run["returncode"] and not run["timed_out"]]
            rows.append({
                "megapixels": size,
                "size": f"{width}x{height}",
                "photos": [photo.name for photo in photos[size]],
                "seconds": median([run["seconds"] for run in ok]),
                "peak_rss_gb": median([run["peak_rss_gb"] for run in ok]),
                "scores": scores,
                "failures": len(runs) - len(ok),
                "runs": runs,
            })  # fmt: skip
        table(f"skdeepbiq {name} (viewing scale {viewing_scale!r}), medians "
              f"of {repeats} run(s)", rows)  # fmt: skip
        record = {
            "benchmark": "large_photos",
            "config": {
                "command": name,
                "viewing_scale": viewing_scale,
                "viewing_scale_argument": args.viewing_scale,
                "device_argument": args.device,
                "repeats": repeats,
                "sources": [Path(source).name for source in sources],
                "jpeg_quality": JPEG_QUALITY,
                "resample": "lanczos",
            },
            "rows": rows,
            **shared,
        }
        append_jsonl(args.out, record)
    print(f"appended to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
