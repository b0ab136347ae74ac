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
