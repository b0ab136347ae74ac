"""Add the fingerprints of a model's training images to its model file.

Model files saved before skdeepbiq kept the fingerprints of their training
images (the shipped ``skdeepbiq/data/clive-efficientnet_lite2.npz`` among
them, trained on all 812 clive-dev photos) cannot tell which images they were
trained on, so ``skdeepbiq evaluate`` cannot warn when a manifest holds
some of them. Given the manifest the model was trained on, this script adds
the ``training_fingerprints`` array (8 bytes an image) and changes nothing
else: every other array is written back as it was, checked after writing.
The shipped model::

    python benchmarks/add_training_fingerprints.py \\
        skdeepbiq/data/clive-efficientnet_lite2.npz \\
        ../shared/data/clive-dev/mos.csv

The manifest must list the training images themselves (the same files: a
fingerprint hashes the file's bytes), as many as the file's
``training_set.n_images`` says when it says so. The file is replaced only
once the new one has been written and checked (``--output`` writes
elsewhere). A maintenance script: it reaches into the package's private
fingerprint and model-file modules, which define what it writes.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
import tempfile

import numpy as np

from skdeepbiq._fingerprint import fingerprint_images
from skdeepbiq._models.model_file import read_model_file
from skdeepbiq.datasets import load_manifest

#: The array name that skdeepbiq's model files give the fingerprints.
FINGERPRINTS = "training_fingerprints"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="the model file (.npz) to add them to")
    parser.add_argument("manifest", help="CSV manifest of its training images")
    parser.add_argument(
        "-o", "--output", help="write the new file here (default: replace MODEL)"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="accept a manifest whose image count differs from the file's "
        "training_set.n_images, and replace fingerprints already there",
    )
    return parser.parse_args(argv)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def write_arrays(model, new_arrays: dict, output=None) -> None:
    """Write ``new_arrays`` as a model file in place of ``model`` (or to ``output``).

    The new file is written beside the target, checked array by array, and
    only then moved over it, with ``model``'s permissions.
    """
    output = os.fspath(output or model)
    folder = os.path.dirname(os.path.abspath(output))
    handle, temporary = tempfile.mkstemp(suffix=".npz", dir=folder)
    try:
        with os.fdopen(handle, "wb") as stream:
            np.savez(stream, **new_arrays)
        os.chmod(temporary, stat.S_IMODE(os.stat(model).st_mode))
        with np.load(temporary, allow_pickle=False) as written:
            assert list(written.files) == list(new_arrays), "arrays missing"
            for name, values in new_arrays.items():
                assert _same(written[name], values), f"array {name} changed"
        os.replace(temporary, output)
    except BaseException:
        os.unlink(temporary)
        raise


def add_fingerprints(model, manifest, output=None, force=False) -> np.ndarray:
    """Write ``model`` with the fingerprints of ``manifest``'s images to ``output``.

    Returns the fingerprints written.
    """
    model_file = read_model_file(model)  # refuses what is not a model file
    with np.load(model, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}  # in the file's order
    if FINGERPRINTS in arrays and not force:
        raise SystemExit(f"{model} holds fingerprints already (--force replaces them)")
    paths = load_manifest(manifest).paths
    expected = model_file.metadata.get("training_set", {}).get("n_images")
    if expected is not None and expected != len(paths) and not force:
        raise SystemExit(
            f"{manifest} lists {len(paths)} images but {model} was trained on "
            f"{expected} (training_set.n_images); --force adds them anyway"
        )
    fingerprints = fingerprint_images(paths)
    if len(np.unique(fingerprints)) != len(fingerprints):
        print(f"note: {manifest} lists some files twice (same bytes)", file=sys.stderr)
    write_arrays(model, {**arrays, FINGERPRINTS: fingerprints}, output)
    return fingerprints


def main(argv=None) -> int:
    args = parse_args(argv)
    fingerprints = add_fingerprints(args.model, args.manifest, args.output, args.force)
    print(
        f"{args.output or args.model}: added the fingerprints of "
        f"{len(fingerprints)} training images ({fingerprints.nbytes} bytes); "
        "every other array unchanged"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
