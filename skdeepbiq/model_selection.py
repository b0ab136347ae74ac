"""The splitting protocols of Bianco et al. (2018) as scikit-learn objects.

- CLIVE (authentic distortions, no reference images): 10 random splits of
  the images, 80% train / 20% test: :func:`clive_splits`, a plain
  :class:`~sklearn.model_selection.ShuffleSplit`.
- LIVE, CSIQ, TID2008, TID2013 (synthetic distortions of reference images):
  100 random splits of the *reference images*, each with all its distorted
  versions, into 60% train / 20% validation / 20% test, the validation part
  picking the hyperparameters: :class:`ReferenceSplit` (or
  :func:`synthetic_splits`), with :func:`predefined_validation` or
  :meth:`ReferenceSplit.validation_splitter` to hand the validation part to
  :class:`~sklearn.model_selection.GridSearchCV`.
- Results are medians over the splits: :func:`median_scores`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from numbers import Integral, Real

import numpy as np
from sklearn.model_selection import (
    BaseCrossValidator,
    GroupShuffleSplit,
    PredefinedSplit,
    ShuffleSplit,
)
from sklearn.model_selection._split import GroupsConsumerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import indexable

__all__ = [
    "ReferenceSplit",
    "clive_splits",
    "median_scores",
    "predefined_validation",
    "synthetic_splits",
]


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


def _part_sizes(sizes: dict, n_groups: int) -> dict:
    """Numbers of reference images of the parts, from fractions or numbers.

    ``sizes`` maps each part (in tie-breaking order: test, validation,
    train) to a fraction in [0, 1), a number of reference images, or None
    (train only: whatever the other parts leave). Fractions are turned into
    numbers by the largest-remainder rule: each part gets the floor of its
    share, and the references left over go to the largest remainders, so
    fractions that sum to 1 use every reference image.
    """
    counts, remainders, exact_total = {}, {}, 0.0
    for name, size in sizes.items():
        if size is None:
            continue
        if isinstance(size, Integral) and not isinstance(size, bool) and size >= 0:
            counts[name] = int(size)
        elif isinstance(size, Real) and not isinstance(size, bool) and 0 <= size < 1:
            exact = size * n_groups
            counts[name] = math.floor(exact + 1e-9)
            remainders[name] = exact - counts[name]
            exact_total += exact
        else:
            raise ValueError(
                f"{name}_size must be a fraction in [0, 1) or a number of "
                f"reference images, got {size!r}"
            )
    leftover = round(exact_total) - sum(counts[name] for name in remainders)
    for name in sorted(remainders, key=lambda name: -remainders[name]):
        if leftover <= 0:
            break
        counts[name] += 1
        leftover -= 1
    if sizes["train"] is None:
        counts["train"] = n_groups - counts["test"] - counts["validation"]
    too_small = [
        name for name in sizes if counts[name] < 1 and sizes[name] not in (0, None)
    ]
    if counts["train"] < 1:
        too_small.append("train")
    if too_small or sum(counts.values()) > n_groups:
        raise ValueError(
            f"cannot split {n_groups} reference images into {counts['train']} "
            f"train, {counts['validation']} validation and {counts['test']} test "
            "reference images (each part needs at least one); change the sizes "
            "or use a dataset with more reference images"
        )
    return counts


class ReferenceSplit(GroupsConsumerMixin, BaseCrossValidator):
    """Random splits by reference image into train, validation and test parts.

    The protocol of Bianco et al. (2018) for LIVE, CSIQ, TID2008 and
    TID2013: each split draws the reference images (``groups``) of the test
    part, of the validation part and of the training part; every distorted
    version of a reference goes where its reference goes, so no content is
    seen on two sides. Sizes count reference images, not images.

    :meth:`split` yields ``(development, test)`` with ``development`` the
    training and validation images together: pass it as ``cv=`` to
    ``cross_validate`` (with a ``GridSearchCV`` whose ``cv`` is
    :meth:`validation_splitter` for the hyperparameters).
    :meth:`split_validation` yields the three parts of the same splits; hand
    them to ``GridSearchCV`` with :func:`predefined_validation`.

    Parameters
    ----------
    n_splits : int, default=100
        Number of random splits.
    train_size : float, int or None, default=0.6
        Fraction of the reference images in the training part, or their
        number. None: all reference images left over by the other two parts.
    validation_size : float or int, default=0.2
        Fraction of the reference images in the validation part, or their
        number; 0 for no validation part.
    test_size : float or int, default=0.2
        Fraction of the reference images in the test part, or their number.
        Fractions become numbers by the largest-remainder rule, so fractions
        that sum to 1 use every reference image: 60/20/20% of LIVE's 29
        reference images is 17/6/6.
    random_state : int, RandomState instance or None, default=None
        Seeds the splits; an int gives the same splits on every call.

    See Also
    --------
    synthetic_splits : This splitter with the paper's settings and seed 0.
    sklearn.model_selection.GroupShuffleSplit : Two parts instead of three.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeepbiq.model_selection import ReferenceSplit
    >>> groups = np.repeat(np.arange(10), 3)  # 10 references, 3 images each
    >>> cv = ReferenceSplit(n_splits=2, random_state=0)
    >>> for train, validation, test in cv.split_validation(groups=groups):
    ...     print(len(set(groups[train])), len(set(groups[validation])),
    ...           len(set(groups[test])))
    6 2 2
    6 2 2
    """

    def __init__(
        self,
        n_splits=100,
        *,
        train_size=0.6,
        validation_size=0.2,
        test_size=0.2,
        random_state=None,
    ):
        self.n_splits = n_splits
        self.train_size = train_size
        self.validation_size = validation_size
        self.test_size = test_size
        self.random_state = random_state

    def get_n_splits(self, X=None, y=None, groups=None):
        """Number of splits.

        Parameters
        ----------
        X, y, groups : object
            Ignored; present for API compatibility.

        Returns
        -------
        n_splits : int
            ``n_splits``.
        """
        return self.n_splits

    def split_validation(self, X=None, y=None, groups=None):
        """Generate indices of the train, validation and test parts.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...), default=None
            Only its length is used; None uses ``groups``.
        y : array-like of shape (n_samples,), default=None
            Ignored.
        groups : array-like of shape (n_samples,)
            Reference-image id of each sample. Required.

        Yields
        ------
        train : ndarray
            Indices of the training images, sorted.
        validation : ndarray
            Indices of the validation images, sorted (empty when
            ``validation_size=0``).
        test : ndarray
            Indices of the test images, sorted.
        """
        if groups is None:
            raise ValueError(
                "ReferenceSplit needs groups: the reference-image id of each "
                "image (e.g. the groups of a dataset loader's Bunch)"
            )
        groups = np.asarray(groups)
        if groups.ndim != 1:
            raise ValueError(f"groups must be 1-D, got shape {groups.shape}")
        if X is not None:
            X, groups = indexable(X, groups)
        if not isinstance(self.n_splits, Integral) or self.n_splits < 1:
            raise ValueError(f"n_splits must be an integer >= 1, got {self.n_splits!r}")
        references, group_index = np.unique(groups, return_inverse=True)
        sizes = {
            "test": self.test_size,
            "validation": self.validation_size,
            "train": self.train_size,
        }
        counts = _part_sizes(sizes, len(references))
        n_train, n_validation, n_test = (
            counts[name] for name in ("train", "validation", "test")
        )
        rng = check_random_state(self.random_state)
        for _ in range(self.n_splits):
            order = rng.permutation(len(references))
            test = order[:n_test]
            validation = order[n_test : n_test + n_validation]
            train = order[n_test + n_validation : n_test + n_validation + n_train]
            yield (
                np.flatnonzero(np.isin(group_index, train)),
                np.flatnonzero(np.isin(group_index, validation)),
                np.flatnonzero(np.isin(group_index, test)),
            )

    def split(self, X=None, y=None, groups=None):
        """Generate indices of the development (train + validation) and test parts.

        The same splits as :meth:`split_validation`, with its train and
        validation parts merged.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...), default=None
            Only its length is used; None uses ``groups``.
        y : array-like of shape (n_samples,), default=None
            Ignored.
        groups : array-like of shape (n_samples,)
            Reference-image id of each sample. Required.

        Yields
        ------
        development : ndarray
            Indices of the training and validation images, sorted.
        test : ndarray
            Indices of the test images, sorted.
        """
        for train, validation, test in self.split_validation(X, y, groups):
            yield np.union1d(train, validation), test

    def validation_splitter(self):
        """A splitter that draws the validation part from a development part.

        For ``GridSearchCV(..., cv=cv.validation_splitter())`` nested in
        ``cross_validate(..., cv=cv, groups=groups, params={"groups":
        groups})``: given the development part of one outer split, it holds
        out the share of its reference images that ``validation_size`` asks
        for. The validation reference images are a random draw, not those of
        :meth:`split_validation`; use :func:`predefined_validation` for those.

        Returns
        -------
        splitter : :class:`~sklearn.model_selection.GroupShuffleSplit`
            One split of the development part by reference image.

        Examples
        --------
        >>> from skdeepbiq.model_selection import ReferenceSplit
        >>> ReferenceSplit(random_state=0).validation_splitter()
        GroupShuffleSplit(n_splits=1, random_state=0, test_size=0.25, train_size=None)
        """
        validation, train, test = self.validation_size, self.train_size, self.test_size
        fractions = all(
            isinstance(size, Real) and not isinstance(size, Integral)
            for size in (validation, test, 0.5 if train is None else train)
        )
        if isinstance(validation, Integral):
            held_out = validation
        elif not fractions:
            raise ValueError(
                "validation_splitter needs validation_size as a number of reference "
                "images, or all sizes as fractions"
            )
        elif train is None:
            held_out = validation / (1.0 - test)
        else:
            held_out = validation / (train + validation)
        if not held_out:
            raise ValueError("validation_size=0: there is no validation part to draw")
        return GroupShuffleSplit(
            n_splits=1, test_size=held_out, random_state=self.random_state
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
