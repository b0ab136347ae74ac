"""Running model configurations over splits on precomputed features, resumably.

The machinery of :mod:`skdeepbiq.reproduce`: each (experiment,
configuration, split) is fitted with ``DeepBIQRegressor(featurizer=
"precomputed")`` on features computed once, scored, and written to its own
JSON file as soon as it finishes; a rerun with the same settings reads the
file back instead of refitting. Also the paper's splits of a dataset, the
metrics of one split and the medians over the splits.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import joblib
import numpy as np

from ..model_selection import ReferenceSplit, clive_splits, median_scores

#: Multiples of the default C tried on the validation part (reference splits).
C_FACTORS = (0.1, 1.0, 10.0)


class SplitStore:
    """One JSON file per (experiment, configuration, split), written atomically."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.computed = 0
        self.reused = 0

    def path(self, name: str) -> Path:
        return self.folder / f"{name}.json"

    def load(self, name: str, fingerprint: str) -> dict | None:
        """The record of a finished split made with the same settings, or None."""
        try:
            record = json.loads(self.path(name).read_text())
        except (OSError, ValueError):
            return None
        return record if record.get("fingerprint") == fingerprint else None

    def save(self, name: str, record: dict) -> None:
        path = self.path(name)
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(json.dumps(jsonable(record)))
        os.replace(temporary, path)


def jsonable(value):
    """``value`` with numpy types as Python ones and NaN / inf as None."""
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [jsonable(item) for item in value]
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    return value


# Scores of one split -------------------------------------------------------------


def split_scores(y_true, y_pred, mos_std=None) -> dict:
    """The metrics of one test part: PLCC, SROCC, KROCC, RMSE, MAE, nMAE, ...

    ``within_<k>_std`` for k = 1, 2, 3 when ``mos_std`` is given.
    """
    from .. import metrics

    scores = {
        name: getattr(metrics, name)(y_true, y_pred)
        for name in ("plcc", "srocc", "krocc", "rmse", "mae", "nmae")
    }
    if mos_std is not None:
        for k in (1, 2, 3):
            scores[f"within_{k}_std"] = metrics.within_k_std(
                y_true, y_pred, mos_std, k=k
            )
    return scores


# Running the configurations over the splits ----------------------------------


def _index_hash(indices) -> str:
    return joblib.hash(np.asarray(indices, dtype=np.int64))


class SplitRunner:
    """Fits and scores configurations on features, one split at a time.

    Splits already on disk with the same settings (data, features, every
    parameter of the model, split indices) are read back, not refit.
    """

    def __init__(self, data, splits, store: SplitStore, base_c: float, verbose):
        self.data = data
        self.splits = splits  # [(train, validation, test)], validation maybe empty
        self.store = store
        self.base_c = base_c
        self.verbose = verbose
        self.dataset_hash = joblib.hash((list(data.paths), data.y))

    def model(self, fusion: str, pooling: str, n_crops: int):
        """The package's DeepBIQRegressor on precomputed features; C / k to concatenate."""
        from .._regressor import DeepBIQRegressor, default_regressor

        c_value = self.base_c / n_crops if fusion == "concatenation" else self.base_c
        return DeepBIQRegressor(
            "precomputed",
            regressor=default_regressor(C=c_value),
            fusion=fusion,
            pooling=pooling,
        )

    def _fingerprint(self, model, feature_config: dict, n_crops: int, parts) -> str:
        params = model.get_params(deep=True)
        return joblib.hash(
            {
                "version": 1,
                "dataset": self.dataset_hash,
                "features": feature_config,
                "n_crops": n_crops,
                "model": {k: v for k, v in params.items() if not hasattr(v, "fit")},
                "C_factors": C_FACTORS if len(parts[1]) else None,
                "parts": [_index_hash(part) for part in parts],
            }
        )

    def run(
        self,
        experiment: str,
        configs: dict,
        features,
        feature_config: dict,
        details: dict | None = None,
    ) -> dict:
        """Records of every (configuration, split), by configuration.

        ``configs`` maps a name to ``(fusion, pooling, n_crops)``;
        ``features`` is an array of shape (n_images, n_crops, n_features),
        or a function of ``(split_index, train)`` returning one (Exp III),
        called only for splits with configurations left to fit.
        ``details`` (plain values) go into every new record as they are.
        """
        from tqdm.auto import tqdm

        records = {name: [] for name in configs}
        with tqdm(
            total=len(configs) * len(self.splits),
            desc=f"Exp {experiment} splits",
            unit="fit",
            disable=not self.verbose,
        ) as progress:
            for index, parts in enumerate(self.splits):
                todo = []
                for name, (fusion, pooling, n_crops) in configs.items():
                    key = f"{experiment}_{name}_split{index:03d}"
                    model = self.model(fusion, pooling, n_crops)
                    fingerprint = self._fingerprint(
                        model, feature_config, n_crops, parts
                    )
                    record = self.store.load(key, fingerprint)
                    if record is None:
                        todo.append((name, key, fingerprint, model, n_crops))
                    else:
                        self.store.reused += 1
                        records[name].append(record)
                        progress.update(1)
                if todo and callable(features):
                    split_features = features(index, parts[0])
                elif todo:
                    split_features = features
                for name, key, fingerprint, model, n_crops in todo:
                    progress.set_postfix_str(f"{name}, {n_crops} crop(s)")
                    record = self._fit(model, split_features[:, :n_crops], *parts)
                    record.update(details or {}, fingerprint=fingerprint, config=name)
                    self._save(key, record, experiment, index, model, n_crops)
                    records[name].append(record)
                    progress.update(1)
        return records

    def _save(self, key: str, record: dict, experiment, index, model, n_crops):
        """Complete a new split's record with its settings and write it."""
        record.update(
            experiment=experiment,
            split=index,
            fusion=model.fusion,
            pooling=model.pooling,
            n_crops=n_crops,
        )
        self.store.save(key, record)
        self.store.computed += 1

    def _fit(self, model, features, train, validation, test) -> dict:
        """Fit on the training part (C picked on the validation part if any)."""
        from sklearn.model_selection import GridSearchCV

        from ..metrics import get_scorer
        from ..model_selection import predefined_validation

        y = self.data.y
        started = time.perf_counter()
        c_value = model.regressor.C
        if len(validation):
            development, inner = predefined_validation(train, validation)
            model = GridSearchCV(
                model,
                {"regressor__C": [c_value * factor for factor in C_FACTORS]},
                cv=inner,
                scoring=get_scorer("srocc"),
            ).fit(features[development], y[development])
            c_value = model.best_params_["regressor__C"]
        else:
            model.fit(features[train], y[train])
        predictions = model.predict(features[test])
        mos_std = None if self.data.mos_std is None else self.data.mos_std[test]
        return {
            "C": c_value,
            "scores": split_scores(y[test], predictions, mos_std),
            "test": test.tolist(),
            "predictions": predictions.tolist(),
            "fit_seconds": time.perf_counter() - started,
        }


# Protocols and summaries -------------------------------------------------------


def paper_splits(data, n_splits: int, random_state) -> tuple[list, str]:
    """The paper's splits of ``data`` as (train, validation, test), and their text.

    Without reference images: random 80/20 splits of the images, no
    validation part. With them: 60/20/20 splits by reference image.
    """
    if data.groups is None:
        cv = clive_splits(n_splits, 0.2, random_state)
        no_validation = np.empty(0, dtype=np.intp)
        splits = [(train, no_validation, test) for train, test in cv.split(data.y)]
        return splits, (
            f"{n_splits} random 80% train / 20% test splits of the images "
            f"(seed {random_state}); medians over the splits"
        )
    cv = ReferenceSplit(n_splits, random_state=random_state)
    splits = list(cv.split_validation(groups=data.groups))
    return splits, (
        f"{n_splits} random 60% train / 20% validation / 20% test splits by "
        f"reference image (seed {random_state}); C picked by SROCC on the "
        "validation part among C x (0.1, 1, 10), then refit on train + "
        "validation; medians over the splits"
    )


def summarize(records: dict) -> dict:
    """Per configuration: its settings, the scores of each split, the medians.

    The settings are the first split's ``fusion``, ``pooling``, ``n_crops``
    and, for a fine-tuned configuration, ``fine_tune`` (the recipe) and
    ``leakage`` (for one tuned on every image).
    """
    summaries = {}
    for name, config_records in records.items():
        first = config_records[0]
        scores = [record["scores"] for record in config_records]
        summaries[name] = {
            "fusion": first["fusion"],
            "pooling": first["pooling"],
            "n_crops": first["n_crops"],
            **{key: first[key] for key in ("fine_tune", "leakage") if key in first},
            "C": [record["C"] for record in config_records],
            "splits": scores,
            "median": median_scores(scores),
        }
    return summaries
