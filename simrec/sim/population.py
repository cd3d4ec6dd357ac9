"""The user population: latent interests, position-bias strength and observable features.

User ``u``'s attributes are drawn from a counter-based stream keyed by (world seed, u), so they
do not depend on how many users exist or in which batch a user is simulated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._rng import make_keys, normal_np
from .catalog import Catalog
from .config import WorldConfig

__all__ = ["Population", "make_users"]

_SALT_USERS = 0x55_53_45_52


@dataclass(frozen=True, eq=False)
class Population:
    """Initial state of users ``ids``: latent ``interest`` (unit rows), ``position_bias`` exponent,
    and ``features``, the noisy observable projection of the interest that a recommender may see."""

    ids: np.ndarray  # (n,) int64
    interest: np.ndarray  # (n, d)
    position_bias: np.ndarray  # (n,)
    features: np.ndarray  # (n, d) float64

    def __len__(self) -> int:
        return int(self.ids.shape[0])


def make_users(config: WorldConfig, catalog: Catalog, seed: int, ids: np.ndarray) -> Population:
    """Initial state of users ``ids`` of the world with ``seed``."""
    ids = np.asarray(ids, dtype=np.int64)
    pc = config.population
    d, n_topics = config.dim, catalog.topic_centers.shape[0]
    keys = make_keys(seed, ids, salt=_SALT_USERS)
    z = normal_np(keys, 0, n_topics + 2 * d + 1)
    zt, zi, zo, zb = z[:, :n_topics], z[:, n_topics : n_topics + d], z[:, n_topics + d : -1], z[:, -1]
    logits = pc.interest_concentration * zt
    w = np.exp(logits - logits.max(axis=1, keepdims=True))
    w /= w.sum(axis=1, keepdims=True)
    interest = w @ catalog.topic_centers + 0.3 * zi / np.sqrt(d)
    interest /= np.maximum(np.linalg.norm(interest, axis=1, keepdims=True), 1e-12)
    features = interest + pc.obs_noise * zo / np.sqrt(d)
    eta = config.examination.eta
    bias = np.maximum(0.0, eta * (1.0 + pc.position_bias_sd * zb)) if eta > 0 else np.zeros(len(ids))
    return Population(ids=ids, interest=interest, position_bias=bias, features=features)
