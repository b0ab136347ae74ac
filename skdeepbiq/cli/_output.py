"""What the commands write: scores (CSV, JSON), metrics and quality map files."""

from __future__ import annotations

import csv
import json
import os
import sys
import warnings

from ._options import UsageError, require_matplotlib

METRIC_NAMES = ("PLCC", "SROCC", "KROCC", "RMSE", "MAE")


# Scores and metrics ----------------------------------------------------------


def write_scores(stream, paths, scores, failures, output_format: str, intervals=None):
    """One score per image as CSV (``path,score``) or a JSON list of records.

    An image of ``failures`` (index -> reason) gets an empty CSV score, or
    ``"score": null`` and its ``"error"`` in JSON. With ``intervals``
    (n_images, 2), each row also has ``low`` and ``high``.
    """
    names = ["score"] if intervals is None else ["score", "low", "high"]
    values = [[float(score)] for score in scores]
    if intervals is not None:
        values = [[*row, float(low), float(high)] for row, (low, high) in
                  zip(values, intervals, strict=True)]  # fmt: skip
    rows = [
        (path, None if index in failures else row)
        for index, (path, row) in enumerate(zip(paths, values, strict=True))
    ]
    if output_format == "json":
        records = [
            {"path": path} | dict(zip(names, row or [None] * len(names), strict=True))
            for path, row in rows
        ]
        for index, reason in failures.items():
            records[index]["error"] = reason
        json.dump(records, stream, indent=1)
        stream.write("\n")
        return
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(["path", *names])
    for path, row in rows:
        cells = [""] * len(names) if row is None else [f"{v:#.4g}" for v in row]
        writer.writerow([path, *cells])


def write_metrics(stream, n_images: int, results: dict, output_format: str) -> None:
    """The metrics of ``evaluate``: ``name<TAB>value`` lines or a JSON object.

    Both start with ``n_images``, the number of images scored.
    """
    if output_format == "json":
        json.dump({"n_images": n_images, **results}, stream, indent=1)
        stream.write("\n")
        return
    stream.write(f"n_images\t{n_images}\n")
    for name, value in results.items():
        stream.write(f"{name}\t{value:.4f}\n")


# Quality maps ----------------------------------------------------------------


def map_file_names(paths):
    """Where each image's quality map goes, relative to the maps folder.

    Parameters
    ----------
    paths : list of str
        The scored images.

    Returns
    -------
    names : list of str
        The image's file name with ``.png`` appended, so that ``photo.jpg``
        and ``photo.png`` of one folder give ``photo.jpg.png`` and
        ``photo.png.png``. Images from several folders keep their path
        below the deepest folder that holds them all: ``a/photo.jpg`` and
        ``b/sub/photo.jpg`` give ``a/photo.jpg.png`` and
        ``b/sub/photo.jpg.png``, in subfolders of the maps folder. Two
        different images never get the same name.
    """
    absolute = [os.path.abspath(path) for path in paths]
    if not absolute:
        return []
    common = os.path.commonpath([os.path.dirname(path) for path in absolute])
    return [os.path.relpath(path, common) + ".png" for path in absolute]


def check_maps_folder(folder: str, paths: list[str]) -> None:
    """Refuse ``--maps`` without matplotlib, or where a map would replace an image."""
    require_matplotlib("--maps")
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise UsageError(f"--maps {folder}: exists and is not a folder")
    images = {os.path.realpath(path) for path in paths}
    for name in map_file_names(paths):
        if os.path.realpath(os.path.join(folder, name)) in images:
            raise UsageError(
                f"--maps {folder}: the map {name} would replace the image of "
                "that name; choose another folder"
            )


def check_maps_model(model) -> None:
    """Refuse ``--maps`` with a model whose crops have no scores (exit 2),
    before any photo is scored."""
    from .._maps import check_map_model

    try:
        check_map_model(model)
    except ValueError as error:
        raise UsageError(f"--maps: {error}") from error


def write_maps(model, folder, paths, scores, failures, quiet) -> None:
    """One PNG per scored image: the photo, its quality map and its score.

    ``model`` shows no progress bar of its own (``verbose=0``): one bar
    counts the maps. Colours span the training scores' mean +- 2 standard
    deviations, the same in every file of a run.
    """
    from tqdm.auto import tqdm

    from .. import quality_maps
    from ..exceptions import SmallImageWarning
    from ..plotting import save_quality_map

    os.makedirs(folder, exist_ok=True)
    low = model.y_mean_ - 2 * model.y_scale_
    high = model.y_mean_ + 2 * model.y_scale_
    names = map_file_names(paths)
    todo = [index for index in range(len(paths)) if index not in failures]
    for index in tqdm(todo, disable=quiet, unit="img", desc="quality maps"):
        target = os.path.join(folder, names[index])
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with warnings.catch_warnings():  # score's notes named them already
            warnings.simplefilter("ignore", SmallImageWarning)
            quality_map = quality_maps(model, [paths[index]])[0]
        save_quality_map(
            target,
            paths[index],
            quality_map,
            score=scores[index],
            title=os.path.basename(paths[index]),
            vmin=low,
            vmax=high,
        )
    if not quiet:
        print(
            f"skdeepbiq: {len(todo)} quality maps written to {folder}", file=sys.stderr
        )
