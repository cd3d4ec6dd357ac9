"""Small discrete bandit worlds with exact truth, for OPE tests (helper, not a test module)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simrec.data import BanditLog


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@dataclass
class World:
    """Contexts x in {0..C-1} with probability px; Bernoulli rewards with mean mu[x, a]."""

    px: np.ndarray  # (C,)
    mu: np.ndarray  # (C, K)
    pi0: np.ndarray  # (C, K) logging policy
    pi: np.ndarray  # (C, K) target policy

    @property
    def truth(self) -> float:
        return float(self.px @ (self.pi * self.mu).sum(axis=1))

    def enumerate(self, q: np.ndarray | None = None):
        """Every (x, a, r) the logger can produce, as a log, with its probability.

        Returns ``log, action_dist, q_hat, prob``; for an estimator whose contributions depend on
        one row only, ``prob @ contributions`` is its exact expectation.
        """
        xs, acts, rs, probs = [], [], [], []
        c, k = self.mu.shape
        for x in range(c):
            for a in range(k):
                if self.pi0[x, a] == 0:
                    continue
                for r, pr in ((1.0, self.mu[x, a]), (0.0, 1 - self.mu[x, a])):
                    xs.append(x)
                    acts.append(a)
                    rs.append(r)
                    probs.append(self.px[x] * self.pi0[x, a] * pr)
        xs = np.array(xs)
        acts = np.array(acts)
        log = BanditLog(action=acts, reward=np.array(rs), pscore=self.pi0[xs, acts],
                        context=np.eye(c)[xs], n_actions=k)
        qh = None if q is None else q[xs]
        return log, self.pi[xs], qh, np.array(probs)

    def sample(self, n: int, rng: np.random.Generator, q: np.ndarray | None = None):
        c, k = self.mu.shape
        x = rng.choice(c, size=n, p=self.px)
        cum = self.pi0[x].cumsum(axis=1)
        a = np.minimum((rng.random(n)[:, None] > cum).sum(axis=1), k - 1)
        r = (rng.random(n) < self.mu[x, a]).astype(float)
        log = BanditLog(action=a, reward=r, pscore=self.pi0[x, a], context=np.eye(c)[x], n_actions=k)
        return log, self.pi[x], (None if q is None else q[x])


def random_world(rng: np.random.Generator, c: int = 3, k: int = 4, temp: float = 1.0) -> World:
    px = rng.dirichlet(np.ones(c))
    mu = rng.uniform(0.05, 0.95, (c, k))
    pi0 = softmax(rng.normal(0, temp, (c, k)))
    pi = softmax(rng.normal(0, 2.0, (c, k)))
    return World(px, mu, pi0, pi)
