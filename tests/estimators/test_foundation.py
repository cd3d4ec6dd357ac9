"""The estimator foundation: scikit-learn conventions, random_state, declared needs, the registry,
strict keywords and the conformance check (which must catch estimators that break the contract)."""

from __future__ import annotations

import ast
import pathlib

import numpy as np
import pytest

import simrec
from simrec.errors import ConfigError, InvalidLogError
from simrec.estimators import Estimate, Estimator, Needs, clone, ope, registry
from simrec.estimators.registry import register
from simrec.testing import EstimatorCheckError, check_estimator
from simrec.testing.check_estimator import bandit_problem

INFOS = registry.infos()


@pytest.mark.parametrize("info", INFOS, ids=[i.name for i in INFOS])
def test_every_registered_estimator_passes_the_conformance_check(info):
    check_estimator(info.cls())


def test_registry_lists_every_public_bandit_estimator_once():
    public = {"IPS", "SNIPS", "DM", "DR", "SNDR", "SwitchDR", "DRos", "SubGaussianIPS", "MIPS", "Replay",
              "BalancedIPS"}
    assert set(registry.names("bandit")) == public
    assert len(registry.names()) == len(set(registry.names()))
    for name in public:
        info = registry.get(name.lower())
        assert info.cls is getattr(ope, name) and info.name == name and info.family == "bandit"
        assert info.needs.log == "bandit" and info.summary


def test_registry_needs_are_what_the_estimators_read():
    assert registry.get("DR").needs.requires("q_hat") and registry.get("DM").needs.requires("q_hat")
    assert not registry.get("IPS").needs.requires("q_hat") and registry.get("IPS").needs.requires("pscore")
    assert registry.get("BalancedIPS").needs.requires("logger_pscores")
    assert not registry.get("BalancedIPS").needs.requires("pscore")
    assert registry.get("MIPS").needs.requires("action_embed")
    assert "log=bandit" in registry.get("DR").needs.describe()


def test_registry_errors_suggest_the_nearest_name():
    with pytest.raises(ConfigError, match=r"unknown estimator 'SwichDR' \(did you mean 'SwitchDR'\?\)"):
        registry.get("SwichDR")
    with pytest.raises(ConfigError, match=r"'tua' \(did you mean 'tau'\?\)"):
        registry.make("SwitchDR", tua=3)
    assert registry.make("switchdr", tau=3).tau == 3.0


def test_params_clone_and_repr_follow_scikit_learn():
    est = ope.SwitchDR(tau=3.0, name="sw", random_state=4)
    assert est.get_params() == {"tau": 3.0, "name": "sw", "random_state": 4}
    c = clone(est)
    assert c is not est and c.get_params() == est.get_params()
    assert repr(ope.DRos()) == "DRos()" and repr(est) == "SwitchDR(tau=3.0, name='sw', random_state=4)"
    assert est.set_params(tau=5) is est and est.tau == 5.0
    with pytest.raises(ConfigError, match="tau"):
        est.set_params(tau=-1)  # validated as in the constructor
    with pytest.raises(ConfigError, match="did you mean 'tau'"):
        est.set_params(taus=1)
    with pytest.raises(ConfigError, match="random_state"):
        ope.IPS(random_state="seed")


def test_a_misspelled_keyword_is_an_error_not_a_silent_default():
    log, kw = bandit_problem(np.random.default_rng(0))
    with pytest.raises(ConfigError, match=r"'ci_mehtod' \(did you mean 'ci_method'\?\)"):
        ope.IPS().estimate(log, kw["action_dist"], ci_mehtod="bootstrap")
    with pytest.raises(ConfigError, match="n_bot"):
        ope.DR().contributions(log, kw["action_dist"], kw["q_hat"], n_bot=10)
    with pytest.raises(ConfigError, match="logger_pscore"):
        ope.BalancedIPS().estimate(log, kw["action_dist"], logger_pscore=kw["logger_pscores"])
    with pytest.raises(ConfigError, match="did you mean"):
        ope.evaluate(log, {"t": kw["action_dist"]}, [ope.IPS()], ci_mehtod="t")


def test_random_state_makes_every_random_draw_reproducible():
    log, kw = bandit_problem(np.random.default_rng(1))
    ad = kw["action_dist"]  # stochastic: Replay draws acceptances
    vals = {ope.Replay(random_state=s).estimate(log, ad).value for s in range(5)}
    assert len(vals) > 1  # the draws depend on random_state ...
    assert ope.Replay(random_state=3).estimate(log, ad).value == ope.Replay(random_state=3).estimate(log, ad).value
    # ... bootstrap intervals too, and MIPS's cross-fitted embedding propensities
    b = [ope.IPS(random_state=s).estimate(log, ad, ci_method="bootstrap", n_boot=300).ci for s in (1, 1, 2)]
    assert b[0] == b[1] and b[0] != b[2]
    m = [ope.MIPS(random_state=s).estimate(log, ad).value for s in (5, 5, 6)]
    assert m[0] == m[1] and m[0] != m[2]


def test_infinite_hyperparameters_recover_dr():
    log, kw = bandit_problem(np.random.default_rng(2))
    dr = ope.DR().estimate(log, kw["action_dist"], kw["q_hat"]).value
    for est in (ope.DRos(lam=np.inf), ope.SwitchDR(tau=np.inf), ope.DR(clip=np.inf)):
        assert est.estimate(log, kw["action_dist"], kw["q_hat"]).value == pytest.approx(dr, abs=1e-12)


def test_replay_learner_stops_after_max_accepted_and_reports_rows():
    class Greedy:
        def __init__(self):
            self.n = 0

        def action_probs(self, obs):
            p = np.zeros((1, 5))
            p[0, self.n % 5] = 1.0
            return p

        def update(self, obs, a, r, p):
            self.n += 1

    log, _ = bandit_problem(np.random.default_rng(3), n=2000)
    pol = Greedy()
    e = ope.Replay(random_state=0).evaluate_learner(log, pol, max_accepted=40)
    rows = e.diagnostics["accepted_rows"]
    assert e.n == 40 == pol.n == len(rows) and e.diagnostics["reached_max_accepted"]
    assert e.value == pytest.approx(log.reward[rows].mean())
    assert (np.diff(rows) > 0).all() and rows[-1] == e.diagnostics["rows_scanned"] - 1


# -- the conformance check must fail on estimators that break the contract ------------------------
class _Loose(ope.IPS):
    """Swallows unknown keywords (the bug this foundation removes)."""

    def estimate(self, log, action_dist=None, q_hat=None, **kw):
        return super().estimate(log, action_dist, q_hat, **{k: v for k, v in kw.items()
                                                             if k in self.estimate_keywords | {"alpha", "ci_method"}})


class _Unseeded(ope.IPS):
    """Ignores random_state for its bootstrap."""

    def _random(self):
        return np.random.default_rng()


class _HiddenParam(ope.IPS):
    """Stores a parameter under another name (get_params cannot find it)."""

    def __init__(self, cap=None, *, name=None, random_state=None):
        super().__init__(clip=cap, name=name, random_state=random_state)


class _Unbounded(ope.SNIPS):
    """Claims to stay within the reward range but does not."""

    def _run(self, log, action_dist, q_hat, kw):
        c, d, e = super()._run(log, action_dist, q_hat, kw)
        return c + 5.0, d, e


@pytest.mark.parametrize(("cls", "match"), [
    (_Loose, "accepted an unknown keyword"), (_Unseeded, "same inputs and random_state"),
    (_HiddenParam, "get_params|cap"), (_Unbounded, "reward range")])
def test_check_estimator_catches_contract_breaks(cls, match, monkeypatch):
    # registered under their own names so the check reaches the part under test
    for c in (cls,):
        monkeypatch.setitem(registry._REGISTRY, c.__name__.lower(),
                            registry.EstimatorInfo(c.__name__, c, "bandit", c.needs))
    with pytest.raises(EstimatorCheckError, match=match):
        check_estimator(cls())


def test_check_estimator_requires_registration():
    class Unlisted(ope.IPS):
        pass

    with pytest.raises(EstimatorCheckError, match="registry"):
        check_estimator(Unlisted())


def test_register_rejects_classes_without_needs_or_family():
    class NoNeeds(Estimator):
        family = "bandit"

        def __init__(self, *, random_state=None):
            self.random_state = random_state

    with pytest.raises(ConfigError, match="needs"):
        register(NoNeeds)
    with pytest.raises(ConfigError, match="log"):
        Needs("tabular")


def test_estimate_type_and_wrong_log_kind():
    log, kw = bandit_problem(np.random.default_rng(4))
    e = ope.IPS().estimate(log, kw["action_dist"])
    assert isinstance(e, Estimate) and ope.Estimate is Estimate
    with pytest.raises(InvalidLogError, match="must be a BanditLog"):
        ope.IPS().estimate({"action": log.action}, kw["action_dist"])


def test_estimators_never_import_the_simulator_or_envs():
    root = pathlib.Path(simrec.__file__).parent / "estimators"
    bad = []
    for f in root.rglob("*.py"):
        for node in ast.walk(ast.parse(f.read_text())):
            mods = []
            if isinstance(node, ast.ImportFrom):
                mods = [("." * node.level) + (node.module or "")]
            elif isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            for m in mods:
                parts = m.lstrip(".").split(".")
                if "sim" in parts or "envs" in parts or m.startswith(("simrec.sim", "simrec.envs")):
                    bad.append(f"{f.name}: {m}")
    assert not bad, bad


def test_estimate_p_value_is_the_estimators_own_test_else_a_normal_test():
    own = Estimate(value=1.0, stderr=0.5, ci=(0.0, 2.0), n=10, ess=10.0, diagnostics={"p_value": 0.123})
    assert own.p_value == 0.123
    normal = Estimate(value=-1.959963984540054 * 0.5, stderr=0.5, ci=(-2.0, 0.0), n=10, ess=10.0)
    assert normal.p_value == pytest.approx(0.05, rel=1e-12)
    assert np.isnan(Estimate(value=1.0, stderr=0.0, ci=(1.0, 1.0), n=10, ess=10.0).p_value)
