"""A featurizer's fitted network: built, copied to a device, fine-tuned.

What :meth:`CNNCropFeaturizer.fit` learns, computed here from its plain
parameters: the crop seed, the backbone cut at its features with the
normalisation its weights expect and a string that names its parameters
(for caches), and, when fine-tuning, the tuned weights. The estimator
stores the results; nothing here keeps state.
"""

from __future__ import annotations

import copy
import warnings
from numbers import Integral

import joblib
import numpy as np
import torch
from sklearn.utils import Bunch, check_random_state
from sklearn.utils.validation import check_is_fitted

from .._finetuning.recipe import check_fine_tuning, fine_tune
from ..exceptions import SmallImageWarning
from .backbones import (
    FeatureExtractor,
    crop_feature_names,
    load_classifier,
    normalization,
    resolve_weights,
    weights_identity,
)
from .cache import FeatureCache, cache_location
from .crops import CropSpec, check_whole_image
from .images import check_images
from .runtime import resolve_runtime
from .streaming import Engine, collect_trunk_maps, extract_rows
from .taps import TrunkTaps, resolve_layers
from .trunk import STRIDE, check_trunk, mirrored_trunk_maps, split_network

#: Version of the feature cache's entries (2: CPU passes hold one image's crops).
CACHE_VERSION = 2


def draw_seed(random_state) -> int:
    """The crop seed of ``random_state``: the int itself, or one drawn."""
    if isinstance(random_state, Integral):
        return int(random_state)
    return int(check_random_state(random_state).randint(2**31 - 1))


def build_network(
    backbone: str, weights, layers, pooling: str, seed: int, crop_size: int
) -> Bunch:
    """The feature extractor of ``backbone`` with ``weights``, on the CPU.

    ``layers`` are the tapped modules' names (None: the penultimate
    features), pooled over space by ``pooling``. Returns a Bunch with
    ``network`` (eval mode, no gradients), ``mean`` and ``std`` (per-channel
    normalisation), ``identity`` (names the parameters, for caches) and
    ``names`` (of one crop's features).
    """
    kind, value = resolve_weights(backbone, weights)
    classifier = load_classifier(backbone, kind, value, seed)
    network = FeatureExtractor(classifier, layers, pooling).eval()
    network.requires_grad_(False)
    norm = normalization(kind, value, backbone)
    return Bunch(
        network=network,
        mean=norm.mean,
        std=norm.std,
        identity=weights_identity(kind, value, seed),
        names=crop_feature_names(network, crop_size),
    )


def copy_to(network: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """A copy of ``network`` on ``device``, channels-last, in eval mode
    (batch-norm statistics frozen, whatever mode ``network`` was left in)."""
    network = copy.deepcopy(network).to(device).eval()
    return network.to(memory_format=torch.channels_last)


def tune(
    engine: Engine,
    device_network: torch.nn.Module,
    network: torch.nn.Module,
    images: list,
    y: np.ndarray,
    recipe,
    *,
    failures: list | None,
    n_features: int,
    seed: int,
    crop_size: int,
    verbose: int,
) -> Bunch:
    """Fine-tune ``device_network`` through ``engine``'s tail, a view of it.

    The frozen trunk runs once per readable image; unreadable ones are left
    out (or raise, when ``failures`` is None). The tuned weights are copied
    back into the CPU ``network``. Returns a Bunch with the training
    ``history`` and ``fingerprint``, a hash of the tuned parameters.
    """
    maps, sizes, kept = collect_trunk_maps(engine, images, failures)
    mirrored = mirrored_trunk_maps(engine, images, kept) if recipe.flips else None
    history = fine_tune(
        engine.tail, maps, sizes, y[kept], recipe,
        n_features=n_features, crop_size=crop_size,
        seed=seed, runtime=engine.runtime, verbose=verbose, mirrored=mirrored,
    )  # fmt: skip
    network.load_state_dict(
        {key: value.cpu() for key, value in device_network.state_dict().items()}
    )
    network.requires_grad_(False)
    return Bunch(history=history, fingerprint=parameters_fingerprint(network))


def parameters_fingerprint(network: torch.nn.Module) -> str:
    """A hash of the parameters of a CPU ``network``, for cache identities."""
    return joblib.hash([p.detach().numpy() for p in network.parameters()])


class NetworkMixin:
    """The machinery of :class:`CNNCropFeaturizer` behind its parameters.

    Builds and fine-tunes ``network_`` in ``fit``, and gives each call its
    :class:`~skdeepbiq._engine.runtime.Runtime`, its
    :class:`~skdeepbiq._engine.crops.CropSpec`, its :class:`Engine` and its
    caches (as scikit-learn's ``BaseLibSVM`` does for its SVMs).
    :meth:`extract`, the call of the engine behind ``transform``, is here.
    """

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

    def _fit_backbone(self, trunk: bool) -> None:
        """Draw the seed and build ``network_`` from the parameters."""
        fine_tuning = check_fine_tuning(self.fine_tune) is not None
        check_whole_image(
            self.crops, compute=self._compute_mode(), fine_tune=fine_tuning
        )
        if trunk:
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
