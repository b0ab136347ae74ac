"""A featurizer's network: built from its parameters, copied to a device.

What :meth:`CNNCropFeaturizer.fit` learns, computed here from its plain
parameters: the crop seed, the backbone cut at its features with the
normalisation its weights expect and a string that names its parameters
(for caches). The estimator stores the results; nothing here keeps state.
Fine-tuning is :func:`skdeepbiq._finetuning.recipe.tune`'s.
"""

from __future__ import annotations

import copy
from numbers import Integral

import joblib
import torch
from sklearn.utils import Bunch, check_random_state

from .backbones import (
    FeatureExtractor,
    crop_feature_names,
    load_classifier,
    normalization,
    resolve_weights,
    weights_identity,
)

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


def parameters_fingerprint(network: torch.nn.Module) -> str:
    """A hash of the parameters of a CPU ``network``, for cache identities."""
    return joblib.hash([p.detach().numpy() for p in network.parameters()])
