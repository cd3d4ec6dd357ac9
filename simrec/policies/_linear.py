"""Gaussian linear reward models behind LinUCB, linear and logistic Thompson sampling.

Two parameterisations of the score of action ``a`` in context ``x`` (with an intercept appended,
``x~ = (x, 1)``):

``"disjoint"``
    one weight vector per arm, ``s(x, a) = theta_a . x~`` (Li et al. 2010, Algorithm 1); statistics
    ``Ainv[a]`` (d, d) updated by Sherman-Morrison; decisions run in a numba kernel.
``"shared"``
    one weight matrix for all arms over item features ``phi~_a = (phi_a, 1)``:
    ``s(x, a) = x~' W phi~_a = theta . (x~ kron phi~_a)``; new items are scored from their
    features alone (cold start), so it scales to catalogs that grow.

Both hold a Gaussian ``N(theta, v^2 Ainv)`` over the weights, so the UCB width and Thompson draws
share the code; only the update differs (ridge for LinUCB/LinTS, Laplace for logistic TS).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from ..errors import InvalidPolicyInputError, NotSupportedError
from . import _kernels as K

__all__ = ["DisjointModel", "SharedModel", "make_model"]

_BLOCK = 2048  # rows per block of the disjoint model's decisions


class DisjointModel:
    """Per-arm ``N(theta[a], Ainv[a])``."""

    kind = "disjoint"

    def __init__(self, n_arms: int, dim: int, reg: float) -> None:
        self.dim = dim
        self.reg = reg
        self.Ainv = np.tile(np.eye(dim) / reg, (n_arms, 1, 1))
        self.b = np.zeros((n_arms, dim))
        self.theta = np.zeros((n_arms, dim))
        self.Q: np.ndarray | None = None  # precision, kept by the Laplace update only

    @property
    def n_arms(self) -> int:
        return int(self.theta.shape[0])

    def _blocks(self, Z: np.ndarray):
        """Per block of rows: (rows slice, mean (b, A), width (b, A)).

        The quadratic forms ``x' Ainv[a] x`` of a block against every arm are one matrix product of
        the packed upper triangles: ``(x_j x_k)_{j<=k} @ (c_jk Ainv[a]_jk)_{j<=k, a}`` with
        ``c = 1`` on the diagonal and 2 off it (BLAS does the dense algebra)."""
        d = self.dim
        j, k = np.triu_indices(d)
        coef = np.where(j == k, 1.0, 2.0)
        packed = np.ascontiguousarray((self.Ainv[:, j, k] * coef).T)  # (d(d+1)/2, A)
        thetaT = np.ascontiguousarray(self.theta.T)
        for lo in range(0, Z.shape[0], _BLOCK):
            Zb = Z[lo : lo + _BLOCK]
            q = (Zb[:, j] * Zb[:, k]) @ packed
            np.maximum(q, 0.0, out=q)
            yield slice(lo, lo + Zb.shape[0]), Zb @ thetaT, np.sqrt(q, out=q)

    def mean_width(self, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n, A = Z.shape[0], self.n_arms
        mean, width = np.empty((n, A)), np.empty((n, A))
        for rows, m, w in self._blocks(Z):
            mean[rows], width[rows] = m, w
        return mean, width

    def ucb_choose(self, Z: np.ndarray, alpha: float, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Argmax of ``mean + alpha * width`` per row, block by block (no (n, A) array is kept);
        ties within 1e-12 (relative) of the maximum are split: the ``floor(u * n_ties)``-th is taken."""
        n = Z.shape[0]
        action, ties = np.empty(n, np.int64), np.empty(n, np.int64)
        for rows, m, w in self._blocks(Z):
            m += alpha * w
            mx = m.max(axis=1, keepdims=True)
            tie = m >= mx - 1e-12 * np.maximum(np.abs(mx), 1.0)
            c = tie.sum(axis=1)
            best = m.argmax(axis=1)
            multi = np.flatnonzero(c > 1)
            if multi.size:  # only rows with ties pay for the uniform split
                pick = np.minimum((u[rows][multi] * c[multi]).astype(np.int64), c[multi] - 1)
                best[multi] = (np.cumsum(tie[multi], axis=1) <= pick[:, None]).sum(axis=1)
            action[rows] = best
            ties[rows] = c
        return action, ties

    def sample_scores(self, Z: np.ndarray, scale: float, rng: np.random.Generator, m: int) -> np.ndarray:
        """``m`` Thompson draws of every score, shape (m, n, A) (scores of different arms are independent)."""
        mean, width = self.mean_width(Z)
        return mean[None] + scale * width[None] * rng.standard_normal((m, *mean.shape))

    def features(self, Z: np.ndarray, actions: np.ndarray) -> np.ndarray:
        return Z

    def ridge_update(self, Z: np.ndarray, actions: np.ndarray, r: np.ndarray) -> None:
        K.sherman_morrison(self.Ainv, self.b, self.theta, actions, np.ascontiguousarray(Z), r)

    def laplace_update(self, Z: np.ndarray, actions: np.ndarray, y: np.ndarray, iters: int) -> None:
        if self.Q is None:
            self.Q = np.linalg.inv(self.Ainv)
        for a in np.unique(actions):
            rows = actions == a
            m, Q, S = _laplace(self.theta[a], self.Q[a], Z[rows], y[rows], iters)
            self.theta[a], self.Q[a], self.Ainv[a] = m, Q, S

    def grow(self, new: int, item_features: np.ndarray | None) -> None:
        extra = new - self.n_arms
        d = self.dim
        self.Ainv = np.concatenate([self.Ainv, np.tile(np.eye(d) / self.reg, (extra, 1, 1))])
        self.b = np.concatenate([self.b, np.zeros((extra, d))])
        self.theta = np.concatenate([self.theta, np.zeros((extra, d))])
        if self.Q is not None:
            self.Q = np.concatenate([self.Q, np.tile(np.eye(d) * self.reg, (extra, 1, 1))])


class SharedModel:
    """One ``N(theta, Ainv)`` over ``x~ kron phi~_a`` features (bilinear in context and item)."""

    kind = "shared"

    def __init__(self, n_arms: int, dim: int, reg: float, item_features: np.ndarray) -> None:
        self.dx = dim
        self.reg = reg
        self.set_items(item_features, n_arms)
        dz = self.dx * self.dp
        self.Ainv = np.eye(dz) / reg
        self.A = np.eye(dz) * reg  # precision (design matrix), kept for large batches
        self.b = np.zeros(dz)
        self.theta = np.zeros(dz)
        self.Q: np.ndarray | None = None

    def set_items(self, item_features: np.ndarray, n_arms: int) -> None:
        F = np.asarray(item_features, dtype=np.float64)
        if F.ndim != 2 or F.shape[0] < n_arms or not np.isfinite(F).all():
            raise InvalidPolicyInputError(
                f"`item_features` must be a finite (n_actions, k) array with at least {n_arms} rows; "
                f"got shape {F.shape}")
        self.items = F
        self.Phi = np.hstack([F[:n_arms], np.ones((n_arms, 1))])
        self.dp = self.Phi.shape[1]

    @property
    def n_arms(self) -> int:
        return int(self.Phi.shape[0])

    def mean_width(self, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dx, dp = self.dx, self.dp
        W = self.theta.reshape(dx, dp)
        mean = (Z @ W) @ self.Phi.T
        # B_n = sum_ik x_i x_k Ainv[(i, .), (k, .)]  (n, dp, dp); width^2 = phi' B_n phi
        B = self._row_cov(Z).reshape(Z.shape[0], -1)
        PP = (self.Phi[:, :, None] * self.Phi[:, None, :]).reshape(self.n_arms, -1)
        q = B @ PP.T  # phi_a' B_n phi_a for every (row, arm): one matrix product
        return mean, np.sqrt(np.maximum(q, 0.0))

    def ucb_choose(self, Z, alpha, u):  # pragma: no cover - LinUCB uses the generic path for this model
        raise NotSupportedError("the shared model has no blocked UCB decision; LinUCB scores it with `score`")

    def _row_cov(self, Z: np.ndarray) -> np.ndarray:
        """``B_n = (x~ kron I)' Ainv (x~ kron I)``: covariance of ``x~' W`` for each row, (n, dp, dp)."""
        dx, dp = self.dx, self.dp
        A2 = self.Ainv.reshape(dx, dp, dx, dp).transpose(0, 2, 1, 3).reshape(dx * dx, dp * dp)
        XX = (Z[:, :, None] * Z[:, None, :]).reshape(Z.shape[0], dx * dx)
        return (XX @ A2).reshape(Z.shape[0], dp, dp)

    def sample_scores(self, Z: np.ndarray, scale: float, rng: np.random.Generator, m: int) -> np.ndarray:
        """Draws of ``x~' W~ phi~_a``: the score vector of a row is ``y Phi'`` with ``y = x~' W~`` ~
        ``N(x~' W, scale^2 B_n)`` in ``dp`` dimensions, so sampling is cheap and exact."""
        n = Z.shape[0]
        W = self.theta.reshape(self.dx, self.dp)
        B = self._row_cov(Z)
        L = np.linalg.cholesky(B + 1e-12 * np.eye(self.dp)[None])
        eps = rng.standard_normal((m, n, self.dp))
        y = (Z @ W)[None] + scale * np.einsum("njk,mnk->mnj", L, eps)
        return y @ self.Phi.T

    def features(self, Z: np.ndarray, actions: np.ndarray) -> np.ndarray:
        return np.einsum("ni,nj->nij", Z, self.Phi[actions]).reshape(Z.shape[0], -1)

    def ridge_update(self, Z: np.ndarray, actions: np.ndarray, r: np.ndarray) -> None:
        F = self.features(Z, actions)
        self.b += F.T @ r
        self.A += F.T @ F
        if 4 * F.shape[0] < self.A.shape[0]:
            # small batch, Woodbury: (A + F'F)^-1 = Ainv - Ainv F' (I + F Ainv F')^-1 F Ainv
            AF = self.Ainv @ F.T
            S = np.eye(F.shape[0]) + F @ AF
            self.Ainv -= AF @ np.linalg.solve(S, AF.T)
        else:
            self.Ainv = np.linalg.inv(self.A)
        self.Ainv = 0.5 * (self.Ainv + self.Ainv.T)
        self.theta = self.Ainv @ self.b

    def laplace_update(self, Z: np.ndarray, actions: np.ndarray, y: np.ndarray, iters: int) -> None:
        if self.Q is None:
            self.Q = np.linalg.inv(self.Ainv)
        self.theta, self.Q, self.Ainv = _laplace(self.theta, self.Q, self.features(Z, actions), y, iters)

    def grow(self, new: int, item_features: np.ndarray | None) -> None:
        self.set_items(self.items if item_features is None else item_features, new)


def _laplace(m: np.ndarray, Q: np.ndarray, F: np.ndarray, y: np.ndarray, iters: int):
    """Online Laplace step: MAP of a logistic likelihood under the Gaussian prior N(m, Q^-1).

    Returns the new mean, precision and covariance (Chapelle and Li 2011, Algorithm 3, with a full
    precision matrix)."""
    w = m.copy()
    for _ in range(iters):
        p = expit(F @ w)
        g = Q @ (w - m) + F.T @ (p - y)
        H = Q + (F * (p * (1 - p))[:, None]).T @ F
        step = np.linalg.solve(H, g)
        w -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    p = expit(F @ w)
    Qn = Q + (F * (p * (1 - p))[:, None]).T @ F
    Qn = 0.5 * (Qn + Qn.T)
    S = np.linalg.inv(Qn)
    return w, Qn, 0.5 * (S + S.T)


def make_model(kind: str, n_arms: int, dim: int, reg: float, item_features: np.ndarray | None):
    """A ``"disjoint"`` or ``"shared"`` model (the latter needs ``item_features``)."""
    if kind == "disjoint":
        return DisjointModel(n_arms, dim, reg)
    if kind == "shared":
        if item_features is None:
            raise InvalidPolicyInputError("model='shared' needs `item_features` (one row per action)")
        return SharedModel(n_arms, dim, reg, item_features)
    raise InvalidPolicyInputError(f"`model` must be 'disjoint' or 'shared'; got {kind!r}")
