"""What a DeepBIQRegressor learns from: readable images, finite features, scores.

``fit`` refuses unreadable images (and feature rows that are not finite)
with one :class:`~skdeepbiq.exceptions.ImageReadError` naming each, raised
before the network runs whenever the problem shows without decoding; with
``skip_unreadable=True`` it leaves them out with one
:class:`~skdeepbiq.exceptions.UnreadableImageWarning`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import joblib
import numpy as np
from sklearn.base import clone
from sklearn.utils.validation import column_or_1d

from ._engine.images import check_images, check_readable, image_description
from ._featurizer import CNNCropFeaturizer
from ._finetuning.recipe import check_fine_tuning
from ._precomputed import PrecomputedCropFeatures
from .exceptions import (
    ImageFailure,
    ImageReadError,
    UnreadableImageWarning,
    format_failures,
)


def featurizer_to_fit(featurizer, fine_tune):
    """A clone of the regressor's ``featurizer``, given its ``fine_tune``.

    Parameters
    ----------
    featurizer : transformer or "precomputed"
        The regressor's featurizer, its default already in place of None
        (:func:`~skdeepbiq.default_featurizer`).
    fine_tune : bool, FineTuning or None
        The regressor's ``fine_tune``: None leaves the featurizer's own
        setting; otherwise it is checked (:func:`check_fine_tuning`) and
        becomes the clone's ``fine_tune``, and a featurizer whose own
        ``fine_tune`` gives another recipe is an error (True and
        ``FineTuning()`` are the same recipe, as are None and False).

    Returns
    -------
    featurizer : transformer
        Unfitted; :class:`PrecomputedCropFeatures` for ``"precomputed"``.
    """
    if fine_tune is not None:
        recipe = check_fine_tuning(fine_tune)  # a bad recipe fails here, at once
        if not isinstance(featurizer, CNNCropFeaturizer):
            raise ValueError(
                f"fine_tune needs a CNNCropFeaturizer; got featurizer={featurizer!r}"
            )
    if isinstance(featurizer, str):  # "precomputed"
        return PrecomputedCropFeatures()
    featurizer = clone(featurizer)
    if fine_tune is None:
        return featurizer
    own = featurizer.get_params()["fine_tune"]
    if own is not None and _fingerprint(check_fine_tuning(own)) != _fingerprint(recipe):
        raise ValueError(
            f"fine_tune is set both on DeepBIQRegressor (fine_tune={fine_tune!r}) "
            f"and on its featurizer (featurizer__fine_tune={own!r}), to different "
            "recipes: set only one of them"
        )
    return featurizer.set_params(fine_tune=clone(fine_tune, safe=False))


def _fingerprint(value) -> str:
    """A hash of a recipe, equal for equal parameters."""
    return joblib.hash(clone(value, safe=False))


def check_scores(y, n_images: int) -> np.ndarray:
    """``y`` as a finite float vector with one score per image.

    Parameters
    ----------
    y : array-like of shape (n_images,)
        Quality scores.
    n_images : int
        Number of images of ``X``.

    Returns
    -------
    y : ndarray of shape (n_images,)
        float64.
    """
    if y is None:
        raise ValueError(
            "y is required: one quality score per image (DeepBIQRegressor "
            "requires y to be passed, but the target y is None)"
        )
    try:
        y = column_or_1d(np.asarray(y, dtype=np.float64), warn=True)
    except (TypeError, ValueError) as error:
        raise ValueError(f"y must be a 1-D array of numbers: {error}") from error
    if len(y) != n_images:
        raise ValueError(f"y has {len(y)} scores but X has {n_images} images")
    bad = np.flatnonzero(~np.isfinite(y))
    if len(bad):
        kind = "NaN" if np.isnan(y[bad[0]]) else "infinity"
        raise ValueError(
            f"Input y contains {kind}: y must be finite; y[{bad[0]}] = {y[bad[0]]} "
            f"({len(bad)} non-finite value(s) at indices {bad[:10].tolist()})"
        )
    return y


def training_features(
    featurizer, X, y, *, skip_unreadable: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Fit ``featurizer``; the feature rows and scores of the usable images.

    Parameters
    ----------
    featurizer : transformer
        Unfitted: a :class:`CNNCropFeaturizer` (its ``extract`` reports
        unreadable images), :class:`PrecomputedCropFeatures`, or any
        transformer of images.
    X : sequence of images, or array of crop features
        As given to the regressor's ``fit``.
    y : array-like of shape (n_images,)
        Quality scores, checked here.
    skip_unreadable : bool
        Leave unusable images out with a warning instead of raising.

    Returns
    -------
    features : ndarray of shape (n_usable, n_features)
        Finite feature rows of the usable images.
    y : ndarray of shape (n_usable,)
        Their scores.
    """
    if isinstance(featurizer, PrecomputedCropFeatures):
        features = featurizer.fit_transform(X)
        y = check_scores(y, len(features))
        kept = list(range(len(features)))

        def row(index: int) -> np.ndarray:  # described by its shape, as images are
            return np.asarray(X)[index]

        return _usable(features, y, [], [], kept, row, skip_unreadable)
    images = check_images(X)
    y = check_scores(y, len(images))
    failures = check_readable(images)
    if failures and not skip_unreadable:
        raise ImageReadError.from_failures(
            failures,
            context=" (checked before running the network; use "
            "skip_unreadable=True to leave them out)",
        )
    failed = {failure.index for failure in failures}
    kept = [index for index in range(len(images)) if index not in failed]
    if not kept:
        _refuse_all(failures)
    kept_images = [images[index] for index in kept]
    if isinstance(featurizer, CNNCropFeaturizer):
        featurizer.fit(kept_images, y[kept])
        on_error = "nan" if skip_unreadable else "raise"
        result = featurizer.extract(kept_images, on_error=on_error)
        features, late = result.features, result.failures
    else:
        features = np.asarray(featurizer.fit_transform(kept_images, y[kept]))
        late = []
    late = [ImageFailure(kept[f.index], f.description, f.reason) for f in late]
    return _usable(
        features, y, failures, late, kept, images.__getitem__, skip_unreadable
    )


def _usable(
    features: np.ndarray,
    y: np.ndarray,
    failures: list[ImageFailure],
    late: list[ImageFailure],
    kept: list[int],
    image: Callable[[int], object],
    skip_unreadable: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``features`` (of images ``kept``) that are finite, and their scores.

    ``failures`` were found before featurizing, ``late`` while featurizing;
    rows that are not finite are added to ``late``; all of them raise, or
    are skipped with one warning.
    """
    late_indices = {failure.index for failure in late}
    for position in np.flatnonzero(~np.isfinite(features).all(axis=1)).tolist():
        if kept[position] not in late_indices:
            description = image_description(image(kept[position]))
            reason = "its features are not finite (NaN or inf)"
            late.append(ImageFailure(kept[position], description, reason))
    if late and not skip_unreadable:
        raise ImageReadError.from_failures(
            sorted(late), context=" (use skip_unreadable=True to leave them out)"
        )
    n_images = len(y)
    failures = sorted(failures + late)
    if len(failures) == n_images:
        _refuse_all(failures)
    if failures:
        warnings.warn(
            UnreadableImageWarning(
                f"fit skipped {len(failures)} of {n_images} images that "
                "could not be read:\n" + format_failures(failures),
                failures,
            ),
            stacklevel=4,
        )
    late_indices = {failure.index for failure in late}
    usable = np.array([index not in late_indices for index in kept], dtype=bool)
    return features[usable], y[kept][usable]


def _refuse_all(failures: list[ImageFailure]):
    raise ImageReadError(
        f"none of the {len(failures)} images can be read:\n"
        + format_failures(failures),
        failures,
    )
