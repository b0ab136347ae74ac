"""Helpers shared by the benchmark scripts (not part of the package)."""

from pathlib import Path

CLIVE_DEV = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "clive-dev"


def load_clive_dev(root=None):
    """The clive-dev manifest as a Bunch, or exit with a message when absent."""
    from skdeepbiq.datasets import load_manifest

    manifest = Path(root or CLIVE_DEV) / "mos.csv"
    if not manifest.exists():
        raise SystemExit(f"{manifest} not found: pass --data FOLDER")
    return load_manifest(manifest)


def provenance(device="cpu") -> dict:
    """Date, git commit and machine of a run, for its JSON line.

    ``package_changed``: whether ``skdeepbiq/`` differs from the commit (then
    the commit alone does not say which code gave the figures).
    """
    import datetime
    import os
    import platform
    import subprocess

    import torch

    root = Path(__file__).resolve().parents[1]

    def git(*arguments):
        return subprocess.run(
            ["git", *arguments], cwd=root, capture_output=True, text=True
        )

    commit = git("rev-parse", "HEAD").stdout.strip() or None
    changed = bool(git("status", "--porcelain", "--", "skdeepbiq").stdout.strip())
    if str(device).startswith("cuda") or (
        device == "auto" and torch.cuda.is_available()
    ):
        device_name = torch.cuda.get_device_name()
    else:
        device_name = f"cpu ({platform.processor() or platform.machine()})"
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "package_changed": changed,
        "machine": {
            "node": platform.node(),
            "cpu_count": os.cpu_count(),
            "torch": torch.__version__,
            "device": device_name,
        },
    }


def append_jsonl(path, record) -> None:
    """Append ``record`` as one JSON line to ``path`` (folders created)."""
    import json

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as stream:
        stream.write(json.dumps(record) + "\n")
