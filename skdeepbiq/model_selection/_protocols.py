"""The paper's protocols (CLIVE, synthetic databases), fixed validation parts, medians."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from sklearn.model_selection import PredefinedSplit, ShuffleSplit

from ._reference_split import ReferenceSplit


def clive_splits(n_splits=10, test_size=0.2, random_state=0):
    """The paper's CLIVE protocol: random 80% train / 20% test splits of images.

    Parameters
    ----------
    n_splits : int, default=10
        Number of random splits (10 in the paper).
    test_size : float, default=0.2
        Fraction of the images in each test part.
    random_state : int, RandomState instance or None, default=0
        Seeds the splits; an int gives the same splits on every call.

    Returns
    -------
    cv : :class:`~sklearn.model_selection.ShuffleSplit`
        Usable as ``cv=`` anywhere in scikit-learn.

    See Also
    --------
    synthetic_splits : The protocol of the databases with reference images.
    median_scores : The medians over splits that the paper reports.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeepbiq.model_selection import clive_splits
    >>> cv = clive_splits()
    >>> train, test = next(cv.split(np.zeros(1162)))
    >>> len(train), len(test), cv.get_n_splits()
    (929, 233, 10)
    """
    return ShuffleSplit(
        n_splits=n_splits, test_size=test_size, random_state=random_state
    )


def synthetic_splits(n_splits=100, random_state=0):
    """The paper's protocol for LIVE, CSIQ and TID: 60/20/20 splits by reference.

    Parameters
    ----------
    n_splits : int, default=100
        Number of random splits (100 in the paper).
    random_state : int, RandomState instance or None, default=0
        Seeds the splits.

    Returns
    -------
    cv : ReferenceSplit
        ``ReferenceSplit(n_splits, train_size=0.6, validation_size=0.2,
        test_size=0.2, random_state=random_state)``.

    Examples
    --------
    >>> from skdeepbiq.model_selection import synthetic_splits
    >>> synthetic_splits()
    ReferenceSplit(n_splits=100, random_state=0, test_size=0.2, train_size=0.6,
            validation_size=0.2)
    """
    return ReferenceSplit(
        n_splits=n_splits,
        train_size=0.6,
        validation_size=0.2,
        test_size=0.2,
        random_state=random_state,
    )


def predefined_validation(train, validation):
    """Hand a fixed train / validation pair to ``GridSearchCV``.

    Parameters
    ----------
    train : array-like of int
        Indices of the training images (e.g. from
        :meth:`ReferenceSplit.split_validation`).
    validation : array-like of int
        Indices of the validation images.

    Returns
    -------
    development : ndarray of int
        ``train`` and ``validation`` together, sorted: the rows to fit the
        search on, ``search.fit(X[development], y[development])``.
    cv : :class:`~sklearn.model_selection.PredefinedSplit`
        One split of ``development`` into exactly ``train`` and
        ``validation``, in positions of ``development``.

    Examples
    --------
    >>> from skdeepbiq.model_selection import predefined_validation
    >>> development, cv = predefined_validation([0, 1, 4, 5], [2, 3])
    >>> development.tolist()
    [0, 1, 2, 3, 4, 5]
    >>> [(t.tolist(), v.tolist()) for t, v in cv.split()]
    [([0, 1, 4, 5], [2, 3])]
    """
    train = np.asarray(train, dtype=np.intp).ravel()
    validation = np.asarray(validation, dtype=np.intp).ravel()
    if len(train) == 0 or len(validation) == 0:
        raise ValueError("train and validation must both be non-empty")
    if np.intersect1d(train, validation).size:
        raise ValueError("train and validation share images")
    development = np.union1d(train, validation)
    test_fold = np.where(np.isin(development, validation), 0, -1)
    return development, PredefinedSplit(test_fold)


def median_scores(results):
    """Median of each score over the splits, as the paper reports.

    Parameters
    ----------
    results : dict of array-like, sequence of dict, or DataFrame
        Scores per split: the dict of ``cross_validate`` (``"test_srocc":
        array of one value per split``, ...), a list with one dict of
        scores per split, or a DataFrame with one row per split. Entries
        that are not numbers (fitted estimators, indices) are left out.

    Returns
    -------
    medians : dict of str to float
        The median of each numeric entry, under the same names. A NaN in a
        split makes that median NaN.

    Examples
    --------
    >>> from skdeepbiq.model_selection import median_scores
    >>> median_scores([{"srocc": 0.7, "plcc": 0.8}, {"srocc": 0.9, "plcc": 0.6},
    ...                {"srocc": 0.8, "plcc": 0.7}])
    {'srocc': 0.8, 'plcc': 0.7}
    >>> median_scores({"test_srocc": [0.5, 0.7], "fit_time": [1.0, 3.0]})
    {'test_srocc': 0.6, 'fit_time': 2.0}
    """
    if isinstance(results, Mapping) or hasattr(results, "columns"):
        columns = {key: results[key] for key in results.keys()}
    else:
        splits = list(results)
        if not splits or not all(isinstance(split, Mapping) for split in splits):
            raise TypeError(
                "results must be a dict of per-split arrays, a non-empty list "
                "of per-split dicts, or a DataFrame"
            )
        keys = [key for key in splits[0] if all(key in split for split in splits)]
        columns = {key: [split[key] for split in splits] for key in keys}
    medians = {}
    for key, values in columns.items():
        try:
            values = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            continue
        if values.ndim == 1 and len(values):
            medians[key] = float(np.median(values))
    return medians
