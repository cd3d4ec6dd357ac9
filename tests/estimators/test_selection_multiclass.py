"""Hyper-parameter selection on Open Bandit Pipeline's multiclass protocol (Dudik et al. 2011 /
Su et al. 2020 supervised-to-bandit reduction, as in zr-obp ``examples/multiclass``).

Protocol (30 runs, run ``i`` uses split seed ``i``): sklearn ``load_digits``, 30 % train / 70 % eval;
logging policy ``0.4 * argmax LogisticRegression(C=100) + 0.6 * uniform``; target policy
``0.9 * argmax RandomForest(n_estimators=30, max_depth=5, min_samples_leaf=10) + 0.1 * uniform``;
reward ``1[a = label]``; exact truth ``mean_i sum_a pi_e(a|x_i) 1[a = y_i]``; reward model a
gradient-boosting classifier on ``[context, action one-hot]``, 3-fold cross-fitted; DRos tuned over
lambda in {10, 50, 100, 500, 1e3, 5e3, 1e4, inf}.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from simrec.data import BanditLog
from simrec.estimators import ope

GRID = [10.0, 50.0, 100.0, 500.0, 1e3, 5e3, 1e4, np.inf]


def multiclass_run(seed: int):
    """One run of the protocol: (log, target action_dist, cross-fitted q_hat, true value)."""
    from sklearn.datasets import load_digits
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    k = 10
    x_tr, x_ev, y_tr, y_ev = train_test_split(x, y, test_size=0.7, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf_b = LogisticRegression(C=100, max_iter=10000, random_state=seed).fit(x_tr, y_tr)
    clf_e = RandomForestClassifier(n_estimators=30, max_depth=5, min_samples_leaf=10,
                                   random_state=seed).fit(x_tr, y_tr)
    eye = np.eye(k)
    pi_b = 0.4 * eye[clf_b.predict(x_ev)] + 0.6 / k
    pi_e = 0.9 * eye[clf_e.predict(x_ev)] + 0.1 / k
    rng = np.random.default_rng(seed)
    u = rng.random(len(y_ev))[:, None]
    a = (u > np.cumsum(pi_b, axis=1)).sum(axis=1)
    n = len(y_ev)
    log = BanditLog(action=a, reward=(a == y_ev).astype(float), pscore=pi_b[np.arange(n), a],
                    context=x_ev / 16.0, n_actions=k)
    gbc = GradientBoostingClassifier(n_estimators=30, learning_rate=0.01, max_depth=5,
                                     min_samples_leaf=10, random_state=seed)
    q = ope.fit_reward_model(log, gbc, n_folds=3, per_action=False, rng=seed)
    truth = float(pi_e[np.arange(n), y_ev].mean())
    return log, pi_e, q, truth


def _protocol(n_runs: int):
    rel = {lam: [] for lam in GRID}
    picks = {"slope++": [], "slope": []}
    rel_sel = {"slope++": [], "slope": []}
    cover_sel = {"slope++": [], "slope": []}
    for seed in range(n_runs):
        log, pi_e, q, truth = multiclass_run(seed)
        for lam in GRID:
            rel[lam].append(abs(ope.DRos(lam=lam).estimate(log, pi_e, q).value - truth) / truth)
        for method in picks:
            sel = ope.select_hyperparameter(ope.DRos(), GRID, log, pi_e, q, method=method)
            picks[method].append(sel.value)
            rel_sel[method].append(abs(sel.estimate.value - truth) / truth)
            cover_sel[method].append(sel.estimate.ci[0] <= truth <= sel.estimate.ci[1])
    return ({lam: float(np.mean(v)) for lam, v in rel.items()}, picks,
            {m: float(np.mean(v)) for m, v in rel_sel.items()}, {m: float(np.mean(v)) for m, v in cover_sel.items()})


@pytest.mark.slow
def test_slope_plus_plus_is_near_the_best_fixed_lambda_on_obp_multiclass():
    fixed, picks, rel_sel, cover = _protocol(30)
    best_lam = min(fixed, key=fixed.get)
    print("\nDRos relative error by fixed lambda (30 runs):",
          {str(k): round(v, 4) for k, v in fixed.items()})
    for m in picks:
        vals, counts = np.unique(np.asarray(picks[m]), return_counts=True)
        print(f"{m}: mean relative error {rel_sel[m]:.4f}, coverage of its 95% interval {cover[m]:.2f}, "
              f"picks {dict(zip(vals.tolist(), counts.tolist()))}")
    print(f"best fixed lambda {best_lam}: {fixed[best_lam]:.4f}; ratio slope++/best "
          f"{rel_sel['slope++'] / fixed[best_lam]:.2f}, slope/best {rel_sel['slope'] / fixed[best_lam]:.2f}")
    assert rel_sel["slope++"] <= 1.5 * fixed[best_lam]
    # the original rule's failure: it settles on the smallest lambda, far from the best
    assert rel_sel["slope"] > 3 * fixed[best_lam]
    assert np.mean(np.asarray(picks["slope"]) == GRID[0]) >= 0.8
