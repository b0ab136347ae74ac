"""Render the documentation's measured tables from ``benchmarks/results/``.

Every figure of the user guide's "Your photos" page comes from a JSON line
that a benchmark wrote; this script turns those lines into reST tables,
``docs/user_guide/*.txt`` fragments that the pages ``.. include::``, so that
no figure is typed by hand. ``--check`` renders them in memory and exits 1,
naming each fragment, when a committed one differs (a test runs it).

========================  =================================================
fragment                  rendered from
========================  =================================================
your_photos_large.txt     ``large_photos.jsonl``: the latest run of each
                          command (``score``, ``score --maps``) at the
                          learned viewing scale
your_photos_scale.txt     ``scale_consistency.jsonl``: the latest run at 2x
                          and 4x before the viewing scale existed and with
                          it, and the latest run of photos made smaller
your_photos_busy.txt      ``busy_cpu.jsonl``: the latest run of each
                          condition
========================  =================================================

Run from the repository root::

    python benchmarks/render_docs.py          # write the fragments
    python benchmarks/render_docs.py --check  # exit 1 if one differs
"""

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PAGES = ROOT / "docs" / "user_guide"
BEFORE = "native (before the parameter existed)"


def records(name: str) -> list[dict]:
    """The JSON lines of ``benchmarks/results/<name>``, oldest first."""
    with open(RESULTS / name, encoding="utf-8") as stream:
        return [json.loads(line) for line in stream if line.strip()]


def latest(lines: list[dict], what: str, **wanted) -> dict:
    """The last line whose ``config`` has the ``wanted`` values."""
    for line in reversed(lines):
        config = line.get("config", line)
        if all(config.get(key) == value for key, value in wanted.items()):
            return line
    raise LookupError(f"no result of {what} with {wanted} in benchmarks/results")


def table(header: list[str], rows: list[list[str]]) -> str:
    """A reST simple table."""
    widths = [
        max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)
    ]
    rule = "  ".join("=" * width for width in widths)

    def line(cells):
        return "  ".join(
            cell.ljust(width) for cell, width in zip(cells, widths, strict=True)
        ).rstrip()

    return "\n".join([rule, line(header), rule, *map(line, rows), rule])


def source(line: dict, name: str) -> str:
    """Where a table's figures come from: file, commit and date."""
    commit = (line.get("commit") or line.get("git_commit") or "?")[:7]
    return f"``benchmarks/results/{name}``, commit {commit}, {line['date'][:10]}"


def machine(line: dict) -> str:
    """The machine of a run, in words."""
    info = line.get("machine", {})
    cpus = info.get("cpu_count")
    device = str(info.get("device", "cpu"))
    return f"{cpus}-core CPU" if device.startswith("cpu") and cpus else device


def render_large() -> str:
    lines = records("large_photos.jsonl")
    parts = []
    for command in ("score", "score --maps"):
        line = latest(
            lines, "large_photos.py", command=command, viewing_scale="learned"
        )
        rows = line["rows"]
        reference = next(row for row in rows if row["megapixels"] == 0.25)
        body = []
        for row in rows:
            scores = ", ".join(f"{score:.1f}" for score in row["scores"])
            body.append(
                [
                    f"{row['megapixels']:g}",
                    row["size"],
                    f"{row['seconds']:.1f}",
                    f"{row['seconds'] / reference['seconds']:.2f}",
                    f"{row['peak_rss_gb']:.2f}",
                    scores,
                ]
            )
        header = ["megapixels", "pixels", "time (s)", "x 500x500", "peak GB", "score"]
        parts.append(
            f"``skdeepbiq {command}`` on one JPEG, medians of "
            f"{line['config']['repeats']} run(s) on a {machine(line)} "
            f"({source(line, 'large_photos.jsonl')}):\n\n" + table(header, body)
        )
    return "\n\n".join(parts) + "\n"


def render_scale() -> str:
    lines = records("scale_consistency.jsonl")
    header = [
        "photos",
        "viewing scale",
        "median absolute difference",
        "rank correlation",
    ]
    body, notes = [], []
    for scale, label in (
        (BEFORE, "native (before it existed)"),
        ("learned", "learned (500)"),
    ):
        line = latest(
            lines, "scale_consistency.py", viewing_scale=scale, factors=[2.0, 4.0]
        )
        notes.append(source(line, "scale_consistency.jsonl"))
        for factor in ("2x", "4x"):
            version = line["versions"][factor]
            body.append(
                [
                    f"enlarged {factor} ({version['first_size']})",
                    label,
                    f"{version['median_abs_diff']:.1f}",
                    f"{version['spearman_vs_1x']:.3f}",
                ]
            )
    smaller = latest(lines, "scale_consistency.py", factors=[0.5])
    notes.append(source(smaller, "scale_consistency.jsonl"))
    label = smaller["config"]["viewing_scale"]
    for name, what in (
        ("0.5x", "shrunk to 0.5x (250x250)"),
        ("0.5x->1x", "shrunk to 0.5x, enlarged back to 500x500"),
    ):
        version = smaller["versions"][name]
        body.append(
            [
                what,
                "learned (500)" if label == "learned" else label,
                f"{version['median_abs_diff']:.1f}",
                f"{version['spearman_vs_1x']:.3f}",
            ]
        )
    count = smaller["config"]["photos"]
    noise = line["versions"]["file"]["median_abs_diff"]  # the learned run's
    return (
        f"The shipped model on the first {count} clive-dev photos, each "
        "against its own 500x500 score (MOS points, 0-100; rank correlation "
        "of the two score lists); from "
        + "; ".join(dict.fromkeys(notes))
        + ":\n\n"
        + table(header, body)
        + "\n\nEvery version is a JPEG of quality 95; re-encoding alone (the "
        "original file against its 500x500 JPEG) moves a score by a median of "
        f"{noise:.1f} points.\n"
    )


def render_busy() -> str:
    lines = records("busy_cpu.jsonl")
    header = ["condition", "OMP_WAIT_POLICY", "busy processes", "time (s)"]
    body, notes = [], []
    for condition in ("default", "active", "default+busy", "active+busy"):
        line = latest(lines, "busy_cpu.py", condition=condition)
        notes.append(source(line, "busy_cpu.jsonl"))
        policy = line["omp_wait_policy"] or "unset (the command sets PASSIVE)"
        body.append(
            [
                condition,
                policy,
                str(line["busy_processes"]),
                f"{line['median_wall_s']:.1f}",
            ]
        )
    return (
        f"``{line['command']}`` ({line['n_images']} photos), medians of "
        f"{line['repeats']} runs on a {line['machine']['cpu_count']}-core CPU; "
        "from " + "; ".join(dict.fromkeys(notes)) + ":\n\n" + table(header, body) + "\n"
    )


FRAGMENTS = {
    "your_photos_large.txt": render_large,
    "your_photos_scale.txt": render_scale,
    "your_photos_busy.txt": render_busy,
}
HEADER = (
    ".. Rendered by benchmarks/render_docs.py from benchmarks/results/: "
    "do not edit.\n\n"
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if a committed fragment differs"
    )
    parser.add_argument(
        "--pages", default=str(PAGES), help="folder of the fragments (the user guide)"
    )
    args = parser.parse_args()
    pages = Path(args.pages)
    stale = []
    for name, render in FRAGMENTS.items():
        text = HEADER + render()
        path = pages / name
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}", file=sys.stderr)
    if stale:
        print(
            "these fragments differ from what benchmarks/results/ renders: "
            + ", ".join(str(pages / name) for name in stale)
            + "; run python benchmarks/render_docs.py",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
