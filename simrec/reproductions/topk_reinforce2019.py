"""Chen et al. (2019): off-policy and top-K corrections for REINFORCE, the 10-item simulation.

Section 6 of the paper trains a softmax policy over 10 items with REINFORCE from logs of a
behaviour policy ``beta``. Without the importance weight ``pi / beta`` the gradient
``E_beta[r grad log pi]`` is stationary at ``pi(a) ∝ beta(a) r(a)``, a beta-distorted policy; with it
the policy converges to the best item. With slates of ``K`` items sampled from ``pi``, the standard
correction still puts all mass on the single best item, while the top-K multiplier
``lambda_K(a) = K (1 - pi(a))^(K-1)`` spreads it: maximising ``sum_a (1 - (1 - pi(a))^K) r(a)`` with
``r = [10, 9, 1, ..., 1]`` and ``K = 2`` gives ``pi = (10/19, 9/19)``.

Here the learner is :class:`simrec.policies.REINFORCE` with free logits (a constant context), Adam
(lr 0.05), batches of 256 and 3,000 steps, as in the reference implementation. simrec's REINFORCE
subtracts the log's mean reward ``b`` as a baseline; that does not move the corrected fixed points
but does move the uncorrected one, to ``pi(a) ∝ beta(a) (r(a) - b)`` on items with ``r(a) > b`` (its
gradient has no interior stationary point), and the top-K one slightly, to
``pi_1 / pi_2 = (r_1 - b) / (r_2 - b)``. Both closed forms are reported.

References
----------
Chen, M., Beutel, A., Covington, P., Jain, S., Belletti, F. and Chi, E. H. (2019). Top-K off-policy
correction for a REINFORCE recommender system. *WSDM*, 456-464, arXiv:1812.02353.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data import BanditLog
from ..policies import REINFORCE
from ._base import AtLeast, AtMost, Claim, Result, Timer, new_figure

__all__ = ["run", "SETUP", "REFERENCE", "missing", "train"]

NAME = "topk-reinforce2019"
TITLE = "Chen et al. 2019: off-policy and top-K corrections for REINFORCE (10-item simulation)"
CITATION = ("M. Chen, A. Beutel, P. Covington, S. Jain, F. Belletti, E. H. Chi. Top-K Off-Policy Correction for "
            "a REINFORCE Recommender System. WSDM 2019, arXiv:1812.02353")

SETUP = {"full": {"n_seeds": 5}, "quick": {"n_seeds": 1}}
TRAIN = {"n_rows": 25_600, "epochs": 30, "batch_size": 256, "lr": 0.05}  # 3,000 Adam steps
N = 10
ITEMS = np.arange(1, N + 1)
R_LINEAR = ITEMS.astype(float)  # r(a_i) = i
BETA_SKEWED = (N + 1 - ITEMS) / ((N + 1) * N / 2)  # beta(a_i) ∝ 11 - i: favours low-reward items
R_TOPK = np.array([10.0, 9.0] + [1.0] * (N - 2))
BETA_UNIFORM = np.full(N, 1.0 / N)
K = 2

#: closed forms (no baseline) and the reference implementation's converged policies
REFERENCE = {
    "naive": BETA_SKEWED * R_LINEAR / (BETA_SKEWED * R_LINEAR).sum(),
    "corrected_best": 1.0,
    "topk": np.array([10 / 19, 9 / 19]),
    "standard_best": 1.0,
}
TOL_LINF = AtMost(0.02)  # converged policy within 0.02 (L-infinity) of the closed form
TOL_BEST = AtLeast(0.98)  # the corrected policy puts >= 0.98 on the best item
TOL_NAIVE_BEST = AtMost(0.5)  # the uncorrected policy does not converge to the best item
TOL_SHIFT = AtLeast(0.3)  # top-K moves at least 0.3 of mass from the best to the second-best item


def missing() -> list[str]:
    return []


def train(beta: np.ndarray, reward: np.ndarray, seed: int, **kw) -> tuple[np.ndarray, float]:
    """Log ``TRAIN['n_rows']`` actions from ``beta``, fit REINFORCE on them; return (pi, baseline)."""
    g = np.random.default_rng(np.random.SeedSequence([seed, 11]))
    n = TRAIN["n_rows"]
    a = g.choice(N, size=n, p=beta)
    log = BanditLog(action=a, reward=reward[a], pscore=beta[a], context=np.zeros((n, 1)), n_actions=N)
    pol = REINFORCE(N, 1, lr=TRAIN["lr"], l2=0.0, rng=seed, **kw)
    pol.fit(log, epochs=TRAIN["epochs"], batch_size=TRAIN["batch_size"], seed=seed)
    return pol.action_probs(np.zeros((1, 1)))[0], float(pol.baseline_)


def _baselined_naive(beta: np.ndarray, r: np.ndarray, b: float) -> np.ndarray:
    c = np.maximum(beta * (r - b), 0.0)
    return c / c.sum()


def run(quick: bool = True, seed: int = 0) -> Result:
    """Train the four cases; ``quick`` uses one seed, full mode averages five."""
    size = SETUP["quick" if quick else "full"]
    with Timer() as t:
        cases = {"naive": [], "corrected": [], "standard": [], "topk": []}
        bases = {k: [] for k in cases}
        for s in range(size["n_seeds"]):
            for name, (beta, r, kw) in {
                "naive": (BETA_SKEWED, R_LINEAR, {"off_policy": False}),
                "corrected": (BETA_SKEWED, R_LINEAR, {"max_weight": 1e6}),
                "standard": (BETA_UNIFORM, R_TOPK, {"max_weight": 1e6}),
                "topk": (BETA_UNIFORM, R_TOPK, {"max_weight": 1e6, "top_k": K}),
            }.items():
                pi, b = train(beta, r, seed * 1000 + s, **kw)
                cases[name].append(pi)
                bases[name].append(b)
    pi = {k: np.mean(v, axis=0) for k, v in cases.items()}
    b_naive, b_topk = float(np.mean(bases["naive"])), float(np.mean(bases["topk"]))
    naive_b = _baselined_naive(BETA_SKEWED, R_LINEAR, b_naive)
    top_naive = ", ".join(str(i) for i in ITEMS[np.isclose(naive_b, naive_b.max(), rtol=1e-2)])
    topk_b = np.array([R_TOPK[0] - b_topk, R_TOPK[1] - b_topk]) / (R_TOPK[0] + R_TOPK[1] - 2 * b_topk)
    claims = [
        Claim("no correction: the policy does not converge to the best item (pi(a10))", "0.045 (pi ∝ beta r)",
              TOL_NAIVE_BEST, float(pi["naive"][-1]), detail="pi = " + np.array2string(pi["naive"], precision=3),
              note="the uncorrected learner found the best item anyway"),
        Claim("no correction: converged pi vs the paper's closed form pi ∝ beta r (L-inf)", 0.0, TOL_LINF,
              float(np.abs(pi["naive"] - REFERENCE["naive"]).max()),
              detail="closed form " + np.array2string(REFERENCE["naive"], precision=3),
              note=("simrec's REINFORCE subtracts the log's mean reward b as a baseline; the uncorrected gradient "
                    f"beta(a) (r(a) - b) (b = {b_naive:.2f}) then has no interior stationary point, so the learned "
                    "policy depends on the optimiser's path (plain gradient ascent would concentrate on argmax "
                    f"beta (r - b): items {top_naive}"
                    "); the paper's closed form assumes no baseline")),
        Claim("off-policy correction: converges to the best item (pi(a10))", 1.0, TOL_BEST, float(pi["corrected"][-1]),
              detail="pi = " + np.array2string(pi["corrected"], precision=3),
              note="the importance weight does not remove the behaviour policy's distortion"),
        Claim("standard correction with slates: all mass on the single best item (pi(a1))", 1.0, TOL_BEST,
              float(pi["standard"][0]), note="the standard correction spread mass without a top-K multiplier"),
        Claim("top-K correction (K=2): (pi(a1), pi(a2)) vs (10/19, 9/19) (L-inf)", "0.526, 0.474", TOL_LINF,
              float(np.abs(pi["topk"][:2] - REFERENCE["topk"]).max()),
              detail=f"pi(a1), pi(a2) = {pi['topk'][0]:.3f}, {pi['topk'][1]:.3f}; with the mean-reward baseline the "
                     f"fixed point is {topk_b[0]:.3f}, {topk_b[1]:.3f}",
              note=("the last Adam iterate (lr 0.05, batches of 256) fluctuates around the fixed point by a few "
                    "hundredths, and the baseline moves the fixed point itself (see detail)")),
        Claim("top-K correction shifts mass from the best to the second-best item (pi_topK(a2) - pi_std(a2))",
              "0.474", TOL_SHIFT, float(pi["topk"][1] - pi["standard"][1]),
              note="the top-K multiplier does not spread mass over the K best items"),
    ]
    table = pd.DataFrame({"item": ITEMS, "r (linear)": R_LINEAR, "beta (skewed)": BETA_SKEWED,
                          "pi no correction": pi["naive"], "paper: ∝ beta r": REFERENCE["naive"],
                          "∝ beta (r - b)+": naive_b, "pi corrected": pi["corrected"],
                          "r (top-K)": R_TOPK, "pi standard": pi["standard"], "pi top-K": pi["topk"]})
    fig, axes = new_figure(11.0, 3.4, ncols=3)
    w = 0.4
    axes[0].bar(ITEMS - w / 2, pi["naive"], w, label="no correction")
    axes[0].bar(ITEMS + w / 2, pi["corrected"], w, label="with correction")
    axes[0].plot(ITEMS, REFERENCE["naive"], "k.--", lw=0.8, label="∝ beta r (paper)")
    axes[0].plot(ITEMS, BETA_SKEWED, "g:", lw=0.8, label="beta")
    axes[0].set_title("r(a_i) = i, beta ∝ 11 - i")
    axes[0].legend(fontsize=7)
    axes[1].bar(ITEMS - w / 2, pi["standard"], w, label="standard")
    axes[1].bar(ITEMS + w / 2, pi["topk"], w, label="top-K (K=2)")
    axes[1].plot([1, 2], REFERENCE["topk"], "kx", label="10/19, 9/19")
    axes[1].set_title("r = [10, 9, 1, ...], beta uniform")
    axes[1].legend(fontsize=7)
    axes[2].bar(["pi(a1)", "pi(a2)"], pi["topk"][:2], color="#ff7f0e", label="measured")
    axes[2].plot([0, 1], REFERENCE["topk"], "kx", ms=10, label="paper")
    axes[2].plot([0, 1], topk_b, "b+", ms=10, label="with baseline")
    axes[2].set_ylim(0.3, 0.7)
    axes[2].legend(fontsize=7)
    axes[2].set_title("top-K split")
    for ax in axes[:2]:
        ax.set_xlabel("item")
    return Result(
        name=NAME, title=TITLE, citation=CITATION, quick=quick, seed=seed,
        setup={**size, **TRAIN, "policy": "simrec.policies.REINFORCE, free logits (constant context)",
               "optimiser": "Adam", "K (top-K)": K, "weight cap": "none (1e6)"},
        claims=claims,
        tables={"Converged policies (mean over seeds)": table},
        figures={"Converged policies: off-policy correction (left), top-K correction (middle, right)": fig},
        notes=["The paper's reference numbers are closed forms; the paper's exact behaviour policy is not "
               "published, so beta ∝ 11 - i (favouring low-reward items) follows the reference implementation.",
               "The uncorrected learner is distorted by beta (it does not find the best item), but toward "
               "beta (r - b)+ rather than the paper's beta r: a consequence of simrec's baseline, see the claims."],
        runtime_s=t.seconds,
    )
