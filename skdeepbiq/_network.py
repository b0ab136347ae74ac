"""A featurizer's fitted network: built, copied to a device, fine-tuned.

What :meth:`CNNCropFeaturizer.fit` learns, computed here from its plain
parameters: the crop seed, the backbone cut at its features with the
normalisation its weights expect and a string that names its parameters
(for caches), and, when fine-tuning, the tuned weights. The estimator
stores the results; nothing here keeps state.
"""

from __future__ import annotations

import copy
from numbers import Integral

import joblib
import numpy as np
import torch
from sklearn.utils import Bunch, check_random_state

from ._backbones import (
    FeatureExtractor,
    feature_dim,
    load_classifier,
    normalization,
    resolve_weights,
    weights_identity,
)
from ._cache import FeatureCache, cache_location
from ._crops import CropSpec
from ._engine import Engine, collect_trunk_maps
from ._finetune import check_fine_tuning, fine_tune
from ._runtime import resolve_runtime
from ._trunk import STRIDE, check_trunk, mirrored_trunk_maps, split_network

#: Version of the feature cache's entries (2: CPU passes hold one image's crops).
CACHE_VERSION = 2


def draw_seed(random_state) -> int:
    """The crop seed of ``random_state``: the int itself, or one drawn."""
    if isinstance(random_state, Integral):
        return int(random_state)
    return int(check_random_state(random_state).randint(2**31 - 1))


def build_network(backbone: str, weights, layer, seed: int, crop_size: int) -> Bunch:
    """The feature extractor of ``backbone`` with ``weights``, on the CPU.

    Returns a Bunch with ``network`` (eval mode, no gradients), ``mean``
    and ``std`` (per-channel normalisation), ``identity`` (names the
    parameters, for caches) and ``n_features`` (features per crop).
    """
    kind, value = resolve_weights(backbone, weights)
    classifier = load_classifier(backbone, kind, value, seed)
    network = FeatureExtractor(classifier, layer).eval()
    network.requires_grad_(False)
    norm = normalization(kind, value)
    return Bunch(
        network=network,
        mean=norm.mean,
        std=norm.std,
        identity=weights_identity(kind, value, seed),
        n_features=feature_dim(network, crop_size),
    )


def copy_to(network: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """A copy of ``network`` on ``device``, channels-last, in eval mode.

    ``eval()`` again: a deep copy of a pruned graph (``layer=``, torch.fx's
    ``GraphModule``) comes back in training mode.
    """
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
        engine.network, maps, sizes, y[kept], recipe,
        n_features=n_features, crop_size=crop_size,
        seed=seed, runtime=engine.runtime, verbose=verbose, mirrored=mirrored,
    )  # fmt: skip
    network.load_state_dict(
        {key: value.cpu() for key, value in device_network.state_dict().items()}
    )
    network.requires_grad_(False)
    fingerprint = joblib.hash([p.detach().numpy() for p in network.parameters()])
    return Bunch(history=history, fingerprint=fingerprint)


class NetworkMixin:
    """The machinery of :class:`CNNCropFeaturizer` behind its parameters.

    Builds and fine-tunes ``network_`` in ``fit``, and gives each call its
    :class:`~skdeepbiq._runtime.Runtime`, its
    :class:`~skdeepbiq._crops.CropSpec`, its :class:`Engine` and its
    caches (as scikit-learn's ``BaseLibSVM`` does for its SVMs).
    """

    def _compute_mode(self) -> str:
        if self.compute == "auto":
            return "trunk" if check_fine_tuning(self.fine_tune) else "crops"
        return self.compute

    def _runtime(self):
        return resolve_runtime(
            self.device, self.precision, self.batch_size, self.n_jobs
        )

    def _crop_spec(self, dense_stride=None) -> CropSpec:
        return CropSpec(
            n_crops=self.n_crops_,
            crop_size=self.crop_size,
            mode=self.crops,
            seed=self.seed_,
            snap=STRIDE if self._compute_mode() == "trunk" else 1,
            dense_stride=dense_stride,
        )

    def _fit_backbone(self, trunk: bool) -> None:
        """Draw the seed and build ``network_`` from the parameters."""
        if trunk:
            check_trunk(self.backbone, self.layer, self.crop_size)
        self.seed_ = draw_seed(self.random_state)
        built = build_network(
            self.backbone, self.weights, self.layer, self.seed_, self.crop_size
        )
        self.network_, self.mean_, self.std_ = built.network, built.mean, built.std
        self._weights_identity = self._trunk_identity = built.identity
        self.n_crops_ = 1 if self.crops == "center" else self.n_crops
        self.n_features_per_crop_ = built.n_features
        self.n_features_out_ = self.n_crops_ * self.n_features_per_crop_
        self._device_networks = {}

    def _fine_tune(self, images: list, y: np.ndarray, recipe, runtime) -> None:
        """Tune ``network_``'s tail on ``images``; unreadable ones are left out."""
        tuned = tune(
            self._engine(runtime, self._crop_spec()),
            self._network_on(runtime.device),
            self.network_, images, y, recipe,
            failures=[] if self.on_error == "nan" else None,
            n_features=self.n_features_per_crop_, seed=self.seed_,
            crop_size=self.crop_size, verbose=self.verbose,
        )  # fmt: skip
        self.fine_tuning_history_ = tuned.history
        self._weights_identity += f":fine-tuned:{tuned.fingerprint}"
        self._device_networks = {
            str(runtime.device): self._device_networks[str(runtime.device)]
        }

    def _network_on(self, device: torch.device):
        """The network on ``device``; copies are kept out of pickles."""
        cached = self.__dict__.setdefault("_device_networks", {})
        if str(device) not in cached:
            cached[str(device)] = copy_to(self.network_, device)
        return cached[str(device)]

    def _engine(self, runtime, spec: CropSpec) -> Engine:
        """The engine of this call: the network on the device, cut by ``spec``."""
        network = self._network_on(runtime.device)
        trunk = trunk_cache = None
        if spec.snap > 1:
            trunk, network = split_network(self.backbone, network.model)
            trunk_cache = self._cache(runtime, kind="trunk-maps")
        return Engine(network, self.mean_, self.std_, spec, runtime, trunk, trunk_cache)

    def _cache(self, runtime, kind="features") -> FeatureCache | None:
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
        if kind == "trunk-maps":
            config = {"version": 1, "kind": kind, "weights": self._trunk_identity}
            return FeatureCache(location, config | common)
        config = {
            "version": CACHE_VERSION,
            "weights": self._weights_identity,
            "layer": self.layer,
            "n_crops": self.n_crops_,
            "seed": self.seed_ if self.crops == "random" else None,
        }
        if self._compute_mode() == "trunk":
            config["compute"] = "trunk"
        return FeatureCache(location, config | common)

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_device_networks", None)
        return state
