"""What the commands write: scores (CSV, JSON), metrics and quality map files."""

from __future__ import annotations

import csv
import json
import os
import sys

from ._options import UsageError, require_matplotlib

METRIC_NAMES = ("PLCC", "SROCC", "KROCC", "RMSE", "MAE")


# Scores and metrics ----------------------------------------------------------


def write_scores(stream, paths, scores, failures, output_format: str) -> None:
    """One score per image as CSV (``path,score``) or a JSON list of records.

    An image of ``failures`` (index -> reason) gets an empty CSV score, or
    ``"score": null`` and its ``"error"`` in JSON.
    """
    rows = [
        (path, None if index in failures else float(score))
        for index, (path, score) in enumerate(zip(paths, scores, strict=True))
    ]
    if output_format == "json":
        records = [{"path": path, "score": score} for path, score in rows]
        for index, reason in failures.items():
            records[index]["error"] = reason
        json.dump(records, stream, indent=1)
        stream.write("\n")
        return
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(["path", "score"])
    for path, score in rows:
        writer.writerow([path, "" if score is None else f"{score:#.4g}"])


def write_metrics(stream, n_images: int, results: dict, output_format: str) -> None:
    """The metrics of ``evaluate``: ``name<TAB>value`` lines or a JSON object."""
    if output_format == "json":
        json.dump({"n_images": n_images, **results}, stream, indent=1)
        stream.write("\n")
        return
    stream.write(f"images\t{n_images}\n")
    for name, value in results.items():
        stream.write(f"{name}\t{value:.4f}\n")


# Quality maps ----------------------------------------------------------------


def map_file_names(paths):
    """PNG file name of each image's quality map: its name, with ``.png``.

    Parameters
    ----------
    paths : list of str
        The scored images.

    Returns
    -------
    names : list of str
        ``photo.jpg`` gives ``photo.png``; when two images share a name (in
        different folders, or ``a.jpg`` and ``a.png``), later ones get
        ``-2``, ``-3``, ... (``photo-2.png``).
    """
    names, used = [], set()
    for path in paths:
        stem = os.path.splitext(os.path.basename(path))[0] or "image"
        name, count = f"{stem}.png", 1
        while name.lower() in used:
            count += 1
            name = f"{stem}-{count}.png"
        used.add(name.lower())
        names.append(name)
    return names


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
    from ..plotting import save_quality_map

    os.makedirs(folder, exist_ok=True)
    low = model.y_mean_ - 2 * model.y_scale_
    high = model.y_mean_ + 2 * model.y_scale_
    names = map_file_names(paths)
    todo = [index for index in range(len(paths)) if index not in failures]
    for index in tqdm(todo, disable=quiet, unit="img", desc="quality maps"):
        save_quality_map(
            os.path.join(folder, names[index]),
            paths[index],
            quality_maps(model, [paths[index]])[0],
            score=scores[index],
            title=os.path.basename(paths[index]),
            vmin=low,
            vmax=high,
        )
    if not quiet:
        print(
            f"skdeepbiq: {len(todo)} quality maps written to {folder}", file=sys.stderr
        )
