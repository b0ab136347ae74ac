"""Calibrate the shipped model's prediction intervals from its protocol's predictions.

The shipped model was fitted on all 812 clive-dev photos, so its own errors
on them say nothing about new photos. Its recipe's out-of-fold predictions
do: on each of ten 80/20 splits of clive-dev, the recipe (fine-tuning
included) fitted on the training photos only predicted the test photos, and
``finetune.py`` logged those predictions. Their errors are the conformity
scores that :meth:`DeepBIQRegressor.predict_interval` needs
(``calibrate_from_predictions``); this script adds them to the model file
(``calibration_scores`` and ``calibration_predictions``, 16 bytes a
prediction, and the method in its config)
and changes nothing else: every other array is written back as it was,
checked after writing.

The shipped model, from the choice splits' log::

    python benchmarks/calibrate_pretrained.py \\
        skdeepbiq/data/clive-efficientnet_lite2.npz \\
        benchmarks/results/finetune_cpu_lite2_deep_trunk.log

``--random-state`` names the splits the log's runs used; ``--method`` is
``"score_bins"`` (a width for each third of the predicted scores, the
package's default) or ``"absolute"`` (one width for every photo). The log holds pooled scores, without
their crops, so ``"crop_spread"`` cannot be made from it. A maintenance script: it writes
the model file's arrays itself, as the package's model-file module defines.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

import numpy as np
from add_training_fingerprints import write_arrays
from protocol import clive_dev_splits, load_clive_dev, tuned_predictions

from skdeepbiq import load_model

#: The array and config key that skdeepbiq's model files give the calibration.
CALIBRATION = "calibration_scores"
PREDICTIONS = "calibration_predictions"


def logged_predictions(log: Path, n_images: int, random_state: int):
    """(indices, predictions) of every test photo of the log's splits."""
    tests = clive_dev_splits(n_images, random_state=random_state)
    indices, predictions = [], []
    for number, predicted in sorted(tuned_predictions([log]).items()):
        test = tests[number][1]
        if len(predicted) != len(test):
            raise SystemExit(f"split {number} of {log} is not of these splits")
        indices.append(test)
        predictions.append(predicted)
    return np.concatenate(indices), np.concatenate(predictions)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="the model file (.npz) to calibrate")
    parser.add_argument("log", help="finetune.py's log of the recipe's splits")
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument(
        "--method", choices=("score_bins", "absolute"), default="score_bins"
    )
    parser.add_argument("--data", help="clive-dev folder")
    parser.add_argument("-o", "--output", help="write here (default: replace MODEL)")
    args = parser.parse_args(argv)

    data = load_clive_dev(args.data)
    indices, predictions = logged_predictions(
        Path(args.log), len(data.y), args.random_state
    )
    source = (
        f"out-of-fold predictions of {len(indices)} test photos on clive-dev's "
        f"ten splits of random_state={args.random_state}, each split's network "
        f"tuned on its training photos only ({Path(args.log).name})"
    )
    model = load_model(args.model, device="cpu").calibrate_from_predictions(
        np.asarray(data.y)[indices], predictions, method=args.method, source=source
    )
    calibration = model.calibration_
    with np.load(args.model, allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    config = json.loads(str(arrays["config"]))
    config["calibration"] = {k: calibration[k] for k in ("method", "beta", "source")}
    new_arrays = {
        **arrays,
        "config": np.array(json.dumps(config, sort_keys=True)),
        CALIBRATION: np.asarray(calibration.scores, dtype=np.float64),
        PREDICTIONS: np.asarray(calibration.predictions, dtype=np.float64),
    }
    output = os.fspath(args.output or args.model)
    write_arrays(args.model, new_arrays, output)
    reloaded = load_model(output, device="cpu").calibration_
    assert np.array_equal(reloaded.scores, calibration.scores)
    scores = np.sort(reloaded.scores)
    widths = {  # the ceil((n + 1) * level)-th smallest error
        level: scores[math.ceil((len(scores) + 1) * level) - 1]
        for level in (0.8, 0.9, 0.95)
    }
    print(
        f"{output}: calibrated ({args.method}) on {len(scores)} out-of-fold "
        "predictions; over all of them, half-width "
        + ", ".join(f"{value:.1f} at {level:.0%}" for level, value in widths.items())
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
