"""Write the format-1 model files that ``tests/test_model_files.py`` loads.

Run once, with the skdeepbiq of before the restructuring (issue 14), from the
repository root: ``python tests/data/make_model_files.py``. It writes

- ``model-v1-prediction.npz``: ``DeepBIQRegressor`` with its defaults
  (LinearSVR, prediction fusion, standardised) over a randomly initialised
  MobileNetV2 (``weights=None``: no weights file, no network);
- ``model-v1-ridge-concatenation.npz``: ``Ridge(alpha=2.0)``, feature
  concatenation, no standardisation, power 1;
- ``model-v1-check.npz``: the six images both were fitted on and the
  predictions each gave in memory, before it was saved.

Do not rerun it to make a test pass: the files stand for the model files
users already have.
"""

from pathlib import Path

import numpy as np
from sklearn.linear_model import Ridge

from skdeepbiq import CNNCropFeaturizer, DeepBIQRegressor, save_model

HERE = Path(__file__).resolve().parent


def main():
    rng = np.random.default_rng(14)
    images = rng.integers(0, 256, (6, 40, 48, 3), dtype=np.uint8)
    scores = np.array([12.0, 30.0, 41.0, 55.0, 68.0, 90.0])
    featurizer = CNNCropFeaturizer(
        weights=None, n_crops=3, crop_size=32, random_state=7, device="cpu"
    )
    models = {
        "prediction": DeepBIQRegressor(featurizer),
        "ridge-concatenation": DeepBIQRegressor(
            featurizer,
            regressor=Ridge(alpha=2.0),
            fusion="concatenation",
            standardize=False,
            power=1.0,
        ),
    }
    check = {"images": images}
    for name, model in models.items():
        model.fit(list(images), scores)
        check[name] = model.predict(list(images))
        save_model(
            model, HERE / f"model-v1-{name}.npz", metadata={"made_by": __doc__[:60]}
        )
    np.savez(HERE / "model-v1-check.npz", **check)


if __name__ == "__main__":
    main()
