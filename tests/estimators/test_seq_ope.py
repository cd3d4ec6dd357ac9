"""Sequential OPE: definitions against padded-matrix references, influence values by finite
differences, exact unbiasedness by enumeration of every trajectory, FQE against the tabular model,
and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from simrec.data import BanditLog, Trajectories
from simrec.errors import ConfigError, InvalidLogError, NotSupportedError
from simrec.estimators import ope
from simrec.testing.mdp import graph_mdp, graph_policy

GAMMA = 0.9


def random_log(seed: int, n_ep: int = 40, max_len: int = 6, k: int = 3):
    """Episodes of random lengths with random propensities, target policy and model."""
    rng = np.random.default_rng(seed)
    lens = rng.integers(1, max_len + 1, n_ep)
    n = int(lens.sum())
    ep = np.repeat(np.arange(n_ep), lens)
    pb = rng.dirichlet(np.ones(k), n)
    pe = rng.dirichlet(np.ones(k), n)
    a = np.array([rng.choice(k, p=row) for row in pb])
    log = Trajectories(episode=ep, obs=rng.normal(size=(n, 2)), action=a, reward=rng.normal(size=n),
                       pscore=pb[np.arange(n), a], n_actions=k)
    return log, pe, rng.normal(size=(n, k))


def padded_reference(log, pe, q, gamma, f=None):
    """All six estimators from padded (n, T) matrices (carried weights), with frequency weights ``f``."""
    ep = log.episode
    ids = np.unique(ep)
    n, T = ids.size, int(np.bincount(ep).max())
    f = np.ones(n) if f is None else f
    w = np.ones((n, T))
    wprev = np.ones((n, T))
    r = np.zeros((n, T))
    ql = np.zeros((n, T))
    v = np.zeros((n, T))
    rows = np.arange(len(log))
    for i in ids:
        idx = rows[ep == i]
        cur = 1.0
        for t, k in enumerate(idx):
            wprev[i, t] = cur
            cur = cur * pe[k, log.action[k]] / log.pscore[k]
            w[i, t] = cur
            r[i, t] = log.reward[k]
            ql[i, t] = q[k, log.action[k]]
            v[i, t] = pe[k] @ q[k]
        w[i, len(idx):] = cur
        wprev[i, len(idx):] = cur
    disc = gamma ** np.arange(T)
    W, G = w[:, -1], r @ disc

    def mean(x):
        return float(np.sum(f * x) / np.sum(f))

    out = {
        "TrajectoryIS": mean(W * G),
        "PDIS": mean((w * r) @ disc),
        "WIS": mean(W * G) / mean(W),
        "SequentialDR": mean((w * (r - ql) + wprev * v) @ disc),
    }
    fw = f[:, None]
    out["WPDIS"] = float(np.sum(disc * (fw * w * r).sum(0) / (fw * w).sum(0)))
    out["WDR"] = float(np.sum(disc * ((fw * w * (r - ql)).sum(0) / (fw * w).sum(0)
                                      + (fw * wprev * v).sum(0) / (fw * wprev).sum(0))))
    return out


NAMES = ["TrajectoryIS", "PDIS", "WIS", "WPDIS", "SequentialDR", "WDR"]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("name", NAMES)
def test_estimators_equal_the_padded_reference(name, seed):
    log, pe, q = random_log(seed)
    ref = padded_reference(log, pe, q, GAMMA)[name]
    est = getattr(ope, name)(gamma=GAMMA)
    with _quiet():
        e = est.estimate(log, pe, q)
    assert e.value == pytest.approx(ref, rel=1e-10, abs=1e-12)
    assert e.n == 40 and e.contributions.shape == (40,)


@pytest.mark.parametrize("name", NAMES)
def test_contributions_are_influence_values(name):
    """n * dV/df_i (finite difference in episode i's frequency weight) equals c_i - V."""
    log, pe, q = random_log(5, n_ep=15)
    with _quiet():
        e = getattr(ope, name)(gamma=GAMMA).estimate(log, pe, q)
    base = padded_reference(log, pe, q, GAMMA)[name]
    eps = 1e-6
    for i in (0, 7, 14):
        f = np.ones(15)
        f[i] += eps
        d = (padded_reference(log, pe, q, GAMMA, f)[name] - base) / eps * 15
        assert e.contributions[i] - e.value == pytest.approx(d, rel=1e-4, abs=1e-5)


def test_horizon_cuts_episodes_and_reduced_form_matches_dense():
    log, pe, q = random_log(3)
    keep = log.step < 3
    cut = log[keep]
    for name in NAMES:
        with _quiet():
            a = getattr(ope, name)(gamma=GAMMA, horizon=3).estimate(log, pe, q)
            b = getattr(ope, name)(gamma=GAMMA).estimate(cut, pe[keep], q[keep])
        assert a.value == pytest.approx(b.value, rel=1e-12)
    n = len(log)
    pi_log = pe[np.arange(n), log.action]
    with _quiet():
        d = ope.WDR(gamma=GAMMA).estimate(log, pe, q)
        r = ope.WDR(gamma=GAMMA).estimate(log, pi_logged=pi_log, q_pi=(pe * q).sum(1),
                                          q_logged=q[np.arange(n), log.action])
    assert d.value == pytest.approx(r.value, rel=1e-12)


def test_trajectory_level_stderr():
    log, pe, q = random_log(4, n_ep=60)
    with _quiet():
        e = ope.PDIS(gamma=GAMMA).estimate(log, pe)
    assert e.n == 60 == log.n_episodes and len(log) > 60
    assert e.stderr == pytest.approx(e.contributions.std(ddof=1) / np.sqrt(60))


# ---- exact unbiasedness by enumeration ---------------------------------------------------------------
@pytest.mark.parametrize("aliased", [False, True])
def test_is_pdis_dr_are_exactly_unbiased_and_wis_is_not(aliased):
    mdp = graph_mdp(3, gamma=0.9, aliased=aliased)
    S = mdp.n_states
    pb, pe = graph_policy(0.8, S), graph_policy(0.3, S)
    log, prob, state = mdp.enumerate(pb)
    assert prob.sum() == pytest.approx(1.0, abs=1e-12) and log.n_episodes == 32
    truth = mdp.value(pe)
    # DR is unbiased for any model that is a function of (step, state, action)
    q_any = np.random.default_rng(0).normal(size=(3, S, 2))[log.step, state]
    for est in (ope.TrajectoryIS(gamma=0.9), ope.PDIS(gamma=0.9), ope.SequentialDR(gamma=0.9)):
        c = est.contributions(log, pe[state], q_any)
        assert prob @ c == pytest.approx(truth, abs=1e-12), est
    # WIS on one trajectory returns that trajectory's return: its expectation is the behaviour value
    with _quiet():
        single = [ope.WIS(gamma=0.9).estimate(log[log.episode == i], pe[state][log.episode == i]).value
                  for i in range(32)]
    assert abs(prob @ np.array(single) - truth) > 0.5
    assert prob @ np.array(single) == pytest.approx(mdp.value(pb), abs=1e-12)


def test_graph_values_are_closed_form():
    for L, p0, g in [(4, 0.2, 0.98), (4, 0.8, 0.98), (6, 0.5, 0.9), (3, 0.1, 1.0)]:
        mdp = graph_mdp(L, gamma=g)
        want = (p0 - 0.5) * sum(g**t for t in range(L))
        assert mdp.value(graph_policy(p0, mdp.n_states)) == pytest.approx(want, abs=1e-12)
    mdp = graph_mdp(4)
    support, prob = mdp.return_distribution(graph_policy(0.2, mdp.n_states))
    assert prob.sum() == pytest.approx(1.0) and prob @ support == pytest.approx(-1.1644776, abs=1e-12)


def test_sampled_logs_carry_behaviour_propensities():
    mdp = graph_mdp(4)
    pb = graph_policy(0.8, mdp.n_states)
    log, state = mdp.sample(pb, 500, rng=1)
    assert log.n_episodes == 500 and len(log) == 2000 and log.done.sum() == 500
    np.testing.assert_allclose(log.pscore, pb[state, log.action])
    assert abs((log.action == 0).mean() - 0.8) < 0.03
    again, _ = mdp.sample(pb, 500, rng=1)
    np.testing.assert_array_equal(again.action, log.action)


# ---- FQE and MarginalIS -----------------------------------------------------------------------------
def tabular_am(mdp, log, state, pe):
    """Maximum-likelihood tabular model + backward induction (the AM of Voloshin et al.)."""
    S, A = mdp.n_states, mdp.n_actions
    nxt = np.full(len(log), -1)
    same = log.episode[1:] == log.episode[:-1]
    nxt[:-1][same] = state[1:][same]
    cnt = np.zeros((S, A, S + 1))
    rsum = np.zeros((S, A))
    for s, a, s2, r in zip(state, log.action, nxt, log.reward):
        cnt[s, a, s2 if s2 >= 0 else S] += 1
        rsum[s, a] += r
    tot = cnt.sum(2)
    P = np.divide(cnt, tot[..., None], out=np.zeros_like(cnt), where=tot[..., None] > 0)
    R = np.divide(rsum, tot, out=np.zeros_like(rsum), where=tot > 0)
    v = np.zeros(S + 1)
    for _ in range(mdp.horizon):
        q = R + mdp.gamma * P @ v
        v = np.append((pe[:S] * q).sum(1), 0.0)
    starts = np.r_[0, np.flatnonzero(~same) + 1]
    return float(v[state[starts]].mean())


def test_fqe_equals_the_tabular_model_on_one_hot_states():
    mdp = graph_mdp(4)
    pb, pe = graph_policy(0.8, mdp.n_states), graph_policy(0.2, mdp.n_states)
    log, state = mdp.sample(pb, 300, rng=2)
    e = ope.FQE(gamma=0.98).estimate(log, pe[state])
    assert e.value == pytest.approx(tabular_am(mdp, log, state, pe), abs=1e-4)
    big, big_state = mdp.sample(pb, 30_000, rng=2)
    q = ope.FQE(gamma=0.98).fit_q(big, pe[big_state])
    exact = mdp.q_values(pe)[big.step, big_state]
    assert np.abs(q - exact).max() < 0.05  # consistent: 30,000 episodes give the exact Q-function
    # one regressor on [obs, one_hot(action)] (additive) is a different, cruder model
    other = ope.FQE(gamma=0.98, per_action=False).estimate(log, pe[state]).value
    assert other != pytest.approx(e.value, abs=1e-6)


def test_dr_without_q_hat_fits_fqe_itself():
    mdp = graph_mdp(4)
    pb, pe = graph_policy(0.8, mdp.n_states), graph_policy(0.2, mdp.n_states)
    log, state = mdp.sample(pb, 200, rng=3)
    q = ope.FQE(gamma=0.98).fit_q(log, pe[state])
    for cls in (ope.SequentialDR, ope.WDR):
        with _quiet():
            a = cls(gamma=0.98).estimate(log, pe[state])
            b = cls(gamma=0.98).estimate(log, pe[state], q)
        assert a.value == pytest.approx(b.value, rel=1e-12)


def test_marginal_is_equals_its_definition_and_derives_states_from_obs():
    mdp = graph_mdp(4)
    pb, pe = graph_policy(0.8, mdp.n_states), graph_policy(0.3, mdp.n_states)
    log, state = mdp.sample(pb, 400, rng=4)
    ad = pe[state]
    # reference: per (step, state) mean of the past weight, times rho * r
    rho = ad[np.arange(len(log)), log.action] / log.pscore
    wb = np.ones(len(log))
    for k in range(1, len(log)):
        if log.step[k] > 0:
            wb[k] = wb[k - 1] * rho[k - 1]
    total = 0.0
    for t in range(4):
        for s in np.unique(state[log.step == t]):
            m = (log.step == t) & (state == s)
            total += 0.98**t * wb[m].mean() * (rho[m] * log.reward[m]).sum()
    ref = total / log.n_episodes
    a = ope.MarginalIS(gamma=0.98).estimate(log, ad, state=state)
    b = ope.MarginalIS(gamma=0.98).estimate(log, ad)  # states = distinct observations
    assert a.value == pytest.approx(ref, rel=1e-12) and b.value == pytest.approx(ref, rel=1e-12)
    assert a.stderr < ope.PDIS(gamma=0.98).estimate(log, ad).stderr


# ---- bad input --------------------------------------------------------------------------------------
def test_gaps_in_steps_and_bad_propensities_are_rejected_with_the_row():
    with pytest.raises(InvalidLogError, match=r"`step`.*first at row 2 \(step 3 after step 1"):
        Trajectories(episode=[0, 0, 0], obs=np.zeros((3, 1)), action=[0, 0, 0], reward=[0.0, 0, 0],
                     step=[0, 1, 3])
    with pytest.raises(InvalidLogError, match=r"`pscore`.*index 1 \(value (np.float64\()?1.5"):
        Trajectories(episode=[0, 0], obs=np.zeros((2, 1)), action=[0, 0], reward=[0.0, 0], pscore=[0.5, 1.5])
    with pytest.raises(InvalidLogError, match=r"`pscore`.*index 0 \(value (np.float64\()?0.0"):
        Trajectories(episode=[0, 0], obs=np.zeros((2, 1)), action=[0, 0], reward=[0.0, 0], pscore=[0.0, 0.5])


def test_episodes_must_start_at_step_zero():
    log, pe, q = random_log(0)
    cut = log[log.step >= 1]  # every episode now starts at step 1 (episodes of length 1 vanish)
    with pytest.raises(InvalidLogError, match=r"`log.step` must start at 0.*starts at step 1, at row 0"):
        ope.PDIS().estimate(cut, pe[log.step >= 1])


def test_sequential_estimator_given_a_bandit_log():
    blog = BanditLog(action=[0, 1], reward=[1.0, 0.0], pscore=[0.5, 0.5])
    for name in NAMES + ["FQE", "MarginalIS"]:
        with pytest.raises(InvalidLogError, match=r"`log` must be a Trajectories.*got BanditLog"):
            getattr(ope, name)().estimate(blog, np.full((2, 2), 0.5))


@pytest.mark.parametrize("bad, match", [
    (lambda pe: pe[:-1], r"`action_dist` must have shape"),
    (lambda pe: np.where(np.arange(pe.size).reshape(pe.shape) == 7, -0.1, pe),
     r"row 2 has entry 1 = (np.float64\()?-0.1"),
    (lambda pe: pe * 2, r"rows must sum to 1.*row 0"),
])
def test_bad_target_policy_names_the_first_bad_row(bad, match):
    log, pe, q = random_log(0, k=3)
    with pytest.raises(InvalidLogError, match=match):
        ope.PDIS().estimate(log, bad(pe))


def test_other_bad_inputs():
    log, pe, q = random_log(0)
    with pytest.raises(InvalidLogError, match="pscore` is None"):
        ope.PDIS().estimate(log.replace(pscore=None), pe)
    qbad = q.copy()
    qbad[4, 2] = np.nan
    with pytest.raises(InvalidLogError, match=r"`q_hat` must be finite.*row 4, action 2"):
        ope.SequentialDR().estimate(log, pe, qbad)
    with pytest.raises(ConfigError, match="gamma"):
        ope.PDIS(gamma=0.0)
    with pytest.raises(ConfigError, match="horizon"):
        ope.WDR(horizon=0)
    with pytest.raises(ConfigError, match="did you mean 'pi_logged'"):
        ope.PDIS().estimate(log, pe, pi_loged=pe[:, 0])
    slates = Trajectories(episode=[0, 0], obs=np.zeros((2, 1)), action=[[0, 1], [1, 2]], reward=[1.0, 0.0],
                          pscore=[0.5, 0.5])
    with pytest.raises(NotSupportedError, match="pi_logged"):
        ope.PDIS().estimate(slates, np.full((2, 3), 1 / 3))
    with _quiet():
        assert ope.PDIS().estimate(slates, pi_logged=[0.5, 0.25]).value == pytest.approx(1.0)


class _quiet:
    def __enter__(self):
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *a):
        self._w.__exit__(*a)


def test_on_policy_every_weighting_estimator_is_the_mean_return():
    log, pe, q = random_log(6)
    n = len(log)
    pb = np.zeros_like(pe)
    pb[np.arange(n), log.action] = log.pscore
    pb[np.arange(n), (log.action + 1) % 3] = 1 - log.pscore  # a target equal to the logger on the log
    g = np.bincount(log.episode, weights=log.reward * GAMMA ** log.step)
    with _quiet():
        for name in ["TrajectoryIS", "PDIS", "WIS", "WPDIS", "MarginalIS"]:
            assert getattr(ope, name)(gamma=GAMMA).estimate(log, pb).value == pytest.approx(g.mean(), rel=1e-12)


def test_step_round_trips_and_windows_keep_their_steps(tmp_path):
    log, pe, q = random_log(7)
    win = log[log.step >= 1]
    assert win.step.min() == 1
    win.to_parquet(tmp_path / "w.parquet")
    back = Trajectories.read_parquet(tmp_path / "w.parquet")
    np.testing.assert_array_equal(back.step, win.step)


@pytest.mark.parametrize("seed", range(5))
def test_invariants(seed):
    log, pe, q = random_log(10 + seed)
    zero = np.zeros_like(q)
    g = np.bincount(log.episode, weights=log.reward * GAMMA ** log.step)
    with _quiet():
        wis = ope.WIS(gamma=GAMMA).estimate(log, pe).value
        assert g.min() <= wis <= g.max()  # self-normalised: within the observed returns
        # a zero model turns DR into PDIS and WDR into WPDIS
        assert ope.SequentialDR(gamma=GAMMA).estimate(log, pe, zero).value == pytest.approx(
            ope.PDIS(gamma=GAMMA).estimate(log, pe).value, rel=1e-12)
        assert ope.WDR(gamma=GAMMA).estimate(log, pe, zero).value == pytest.approx(
            ope.WPDIS(gamma=GAMMA).estimate(log, pe).value, rel=1e-12)
        # a model that predicts every reward exactly leaves DR with the model's value (zero residuals)
        r_as_q = np.zeros_like(q)
        r_as_q[np.arange(len(log)), log.action] = log.reward
        dr = ope.SequentialDR(gamma=1.0, horizon=1).estimate(log, pe, r_as_q)
        starts = log.step == 0
        v0 = (pe[starts] * r_as_q[starts]).sum(1)
        assert dr.value == pytest.approx(v0.mean(), rel=1e-12)


def test_fqe_takes_any_regressor_and_is_reproducible():
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.tree import DecisionTreeRegressor

    mdp = graph_mdp(4)
    pb, pe = graph_policy(0.8, mdp.n_states), graph_policy(0.2, mdp.n_states)
    log, state = mdp.sample(pb, 300, rng=5)
    tree = ope.FQE(DecisionTreeRegressor(), gamma=0.98).estimate(log, pe[state]).value
    ridge = ope.FQE(gamma=0.98).estimate(log, pe[state]).value
    assert tree == pytest.approx(ridge, abs=1e-4)  # a full tree on one-hot states is tabular too
    rf = ope.FQE(RandomForestRegressor(n_estimators=5, max_features=0.5), gamma=0.98, random_state=3)
    a, b = rf.estimate(log, pe[state]).value, rf.clone().estimate(log, pe[state]).value
    assert a == b and a != ope.FQE(rf.model, gamma=0.98, random_state=4).estimate(log, pe[state]).value
    assert "RandomForestRegressor" in repr(rf)
    with pytest.raises(ConfigError, match="scikit-learn regressor"):
        ope.FQE(model="ridge")
