"""Bad sweep files: every problem named with its path before anything runs."""

from __future__ import annotations

import pytest

from simrec.sweeps import SweepSpecError, load_sweep, parse_sweep

from ._fixtures import TINY_TOML, env_sweep, tiny


def _problems(data):
    with pytest.raises(SweepSpecError) as info:
        parse_sweep(data)
    return dict(info.value.problems)


@pytest.mark.parametrize("changes, path, match", [
    ({"horizon": True}, "horizon", "expected an integer, got a boolean (true)"),
    ({"seeds": [0, True]}, "seeds.1", "boolean"),
    ({"train_rounds": False}, "train_rounds", "boolean"),
    ({"truth": {"episodes": True}}, "truth.episodes", "boolean"),
    ({"interval": {"alpha": True}}, "interval.alpha", "boolean"),
    ({"interval": {"alpha": float("nan")}}, "interval.alpha", "finite"),
    ({"worlds": [{"preset": "default", "population.n_users": True}]}, "worlds.0.population.n_users",
     "expected an integer, got a boolean"),
    ({"worlds": [{"preset": "default", "choice": {"no_click_utility": float("nan")}}]},
     "worlds.0.choice.no_click_utility", "finite"),
    ({"worlds": [{"preset": "default", "catalog.quality_sd": float("inf")}]}, "worlds.0.catalog.quality_sd", "finite"),
    ({"horizon_days": 3}, "horizon_days", "simrec/Bandit-v0 takes no `horizon_days`"),
    ({"env": "simrec/Nope-v0"}, "env", "simrec/Slate-v0"),
])
def test_bad_values_are_named(changes, path, match):
    probs = _problems(tiny(**changes))
    assert path in probs and match in probs[path], probs


def test_a_bool_in_a_toml_file_is_refused_before_running(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text(TINY_TOML.replace("horizon = 20", "horizon = true"))
    with pytest.raises(SweepSpecError, match=r"horizon: expected an integer, got a boolean \(true\)"):
        load_sweep(f)


def test_nan_in_a_toml_world_override_is_refused(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text(TINY_TOML.replace("catalog.n_items = 50", "catalog.n_items = 50, choice.no_click_utility = nan"))
    with pytest.raises(SweepSpecError, match=r"worlds\.0\.choice\.no_click_utility: must be a finite number"):
        load_sweep(f)


def test_a_file_that_is_not_utf8(tmp_path):
    f = tmp_path / "s.toml"
    f.write_bytes(TINY_TOML.replace('name = "tiny"', 'name = "tiny"\ndescription = "caf\xe9"').encode("latin-1"))
    with pytest.raises(SweepSpecError, match=r"not UTF-8 text: byte 0xe9 at line 2.*save the file as UTF-8"):
        load_sweep(f)


def test_policies_that_do_not_fit_the_env():
    pols = ["uniform", "oracle", {"name": "reinforce", "train": "log"}]
    probs = _problems(env_sweep("simrec/Slate-v0", policies=pols))
    assert "simrec/Bandit-v0" in probs["policies.1.name"]  # the oracle reads its own env's live rows
    assert "single-item logs" in probs["policies.2.train"]
    probs = _problems(env_sweep("simrec/Messaging-v0", policies=[{"name": "softmax", "train": "log"}]))
    assert "no `fit`" in probs["policies.0.train"]


def test_shaping_names_and_parameters_are_checked():
    probs = _problems(env_sweep("simrec/Retention-v0", policies=[
        {"name": "slateq", "shaping": {"name": "retention_bonuss"}},
        {"name": "slateq", "label": "b", "shaping": {"name": "retention_bonus", "params": {"penalti": 1}}}]))
    assert "policies.0.shaping.name" in probs and "retention_bonus" in probs["policies.0.shaping.name"]
    assert "unknown parameter of retention_bonus" in probs["policies.1.shaping.params.penalti"]


def test_estimators_are_checked_against_the_env_log_kinds():
    from simrec.estimators import registry

    probs = _problems(env_sweep("simrec/Bandit-v0", estimators=["IPS", "IPSS"]))
    assert "did you mean 'IPS'" in probs["estimators.1.name"]
    # an estimator of another log kind (if one is registered) is refused with the kinds the env produces
    other = [i for i in registry.infos() if i.needs.log not in ("bandit",)]
    if other:
        probs = _problems(env_sweep("simrec/Bandit-v0", estimators=["IPS", other[0].name]))
        assert "simrec/Bandit-v0 sweeps produce bandit logs" in probs["estimators.1.name"]


def test_a_mixture_and_a_single_logger_are_exclusive():
    probs = _problems(tiny(logging={"policy": "uniform", "mixture": [{"policy": "softmax"}], "n": 100}))
    assert "either `policy`" in probs["logging"]
