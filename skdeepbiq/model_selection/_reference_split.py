"""ReferenceSplit: random splits by reference image into train, validation and test.

The protocol of Bianco et al. (2018) for the databases of synthetic
distortions (LIVE, CSIQ, TID2008, TID2013); :func:`synthetic_splits` is the
splitter with the paper's settings.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
from sklearn.model_selection import BaseCrossValidator, GroupShuffleSplit
from sklearn.model_selection._split import GroupsConsumerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import indexable


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
