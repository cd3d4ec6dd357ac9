"""Sweep files: TOML and YAML, strict validation, every problem listed with its path."""

from __future__ import annotations

import pytest

from simrec.errors import ConfigError
from simrec.sweeps import SweepSpecError, apply_overrides, expand, load_sweep, parse_sweep
from tests._env import checkout_env

from ._fixtures import TINY_TOML, TINY_YAML, tiny


def _problems(data) -> dict[str, str]:
    with pytest.raises(SweepSpecError) as ei:
        parse_sweep(data)
    return dict(ei.value.problems)


def test_toml_and_yaml_give_the_same_spec(tmp_path):
    (tmp_path / "s.toml").write_text(TINY_TOML)
    (tmp_path / "s.yaml").write_text(TINY_YAML)
    a, b = load_sweep(tmp_path / "s.toml"), load_sweep(tmp_path / "s.yaml")
    assert a == b == parse_sweep(tiny())
    assert a.seeds == (0, 1)
    assert a.worlds[0].overrides == {"population": {"n_users": 200}, "catalog": {"n_items": 50}}
    assert a.worlds[0].config().population.n_users == 200
    assert [e.key for e in a.estimators] == ["IPS", "SNIPS", "DM", "DR", "SwitchDR(tau=5.0)"]
    assert a.config_hash() == b.config_hash()
    assert str(a.output_dir) == "reports/tiny"


def test_every_problem_is_listed_with_its_path():
    bad = tiny(
        seedz=3,  # typo of a top-level key
        horizon="long",  # wrong type
        worlds=[
            {"preset": "defualt"},  # unknown preset
            {"preset": "default", "population": {"n_userz": 5}, "catalog": {"n_items": -1}},  # typo + range
        ],
        policies=["uniform", {"name": "oracle", "paramz": {}}],  # unknown key in a policy
        logging={"policy": "uniform", "n": "many"},  # wrong type
        estimators=["IPS", "IPSS", {"name": "SwitchDR", "params": {"tau": 5, "tua": 1}}],
    )
    probs = _problems(bad)
    assert "seedz" in probs and probs["seedz"] == "unknown key"
    assert "horizon" in probs and "integer" in probs["horizon"]
    assert "worlds.0.preset" in probs and "defualt" in probs["worlds.0.preset"]
    assert probs["worlds.1.population.n_userz"] == "unknown key"
    assert "worlds.1.catalog.n_items" in probs and "greater than or equal" in probs["worlds.1.catalog.n_items"]
    assert probs["policies.1.paramz"] == "unknown key"
    assert any(k.startswith("logging.0.n") for k in probs)
    assert "estimators.1.name" in probs and "unknown estimator 'IPSS'" in probs["estimators.1.name"]
    assert "estimators.2.params.tua" in probs
    assert len(probs) >= 9


def test_the_error_message_lists_every_path_and_says_nothing_ran():
    with pytest.raises(ConfigError) as ei:
        parse_sweep(tiny(seedz=1, worlds=[{"preset": "nope"}]))
    msg = str(ei.value)
    assert "2 problem(s)" in msg and "nothing was run" in msg
    assert "  seedz: unknown key" in msg and "  worlds.0.preset: unknown preset 'nope'" in msg


@pytest.mark.parametrize(("changes", "path", "match"), [
    ({"name": "has space"}, "name", "pattern"),
    ({"seeds": [1, 1]}, "seeds", "distinct"),
    ({"seeds": 0}, "seeds", ">= 1"),
    ({"env": "simrec/Nope-v0"}, "env", "Bandit-v0"),
    ({"policies": []}, "policies", "at least 1"),
    ({"policies": ["uniform", "uniform"]}, "policies.1", "duplicate policy"),
    ({"estimators": ["IPS", "ips"]}, "estimators.1", "duplicate estimator"),
    ({"estimators": [{"name": "DR", "params": {"clip": -1}}]}, "estimators.0.params", "clip"),
    ({"logging": {"policy": "uniform", "n": 5}}, "logging.0.n", ">= 10"),
    ({"logging": [{"policy": "uniform", "n": 50}, {"policy": "uniform", "n": 50}]}, "logging.1",
     "duplicate logging policy"),
    ({"interval": {"alpha": 2}}, "interval.alpha", "less than 1"),
    ({"reward_model": {"model": "forest"}}, "reward_model.model", "bilinear"),
    ({"execution": {"n_jobs": 0}}, "execution.n_jobs", "-1 (all cores)"),
    ({"execution": {"backend": "spark"}}, "execution.backend", "'local', 'dask' or 'ray'"),
    ({"worlds": [{"preset": "default", "slate_size": 5, "catalog": {"n_items": 2}}]}, "worlds.0", "slate_size"),
    ({"worlds": [{"preset": "default", "nosuch.section": 1}]}, "worlds.0.nosuch", "unknown config section"),
])
def test_invalid_fields(changes, path, match):
    probs = _problems(tiny(**changes))
    assert path in probs, probs
    assert match in probs[path], probs


def test_unknown_policy_name_is_reported():
    # the policy registry must import and list its names: a broken import is a failure, not a skip
    from simrec.policies import policy_names
    from simrec.sweeps import _registry

    assert _registry.policy_names() == list(policy_names()) and "uniform" in policy_names()
    probs = _problems(tiny(policies=["uniform", "linucbb"], logging={"policy": "unifrom", "n": 100}))
    assert "unknown policy 'linucbb'" in probs["policies.1.name"]
    assert "unknown policy 'unifrom'" in probs["logging.0.policy"]


def test_files_that_cannot_be_read(tmp_path):
    with pytest.raises(SweepSpecError, match="cannot read"):
        load_sweep(tmp_path / "missing.toml")
    (tmp_path / "bad.toml").write_text("name = \n")
    with pytest.raises(SweepSpecError, match="not valid TOML"):
        load_sweep(tmp_path / "bad.toml")
    (tmp_path / "bad.yaml").write_text("name: [unclosed\n")
    with pytest.raises(SweepSpecError, match="not valid YAML"):
        load_sweep(tmp_path / "bad.yaml")
    (tmp_path / "s.json").write_text("{}")
    with pytest.raises(SweepSpecError, match=r"\.toml, \.yaml or \.yml"):
        load_sweep(tmp_path / "s.json")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(SweepSpecError, match="table/mapping"):
        load_sweep(tmp_path / "list.yaml")


def test_overrides_from_the_command_line(tmp_path):
    (tmp_path / "s.toml").write_text(TINY_TOML)
    spec = load_sweep(tmp_path / "s.toml", ["seeds=[3, 4]", "worlds.0.population.n_users=120", "execution.n_jobs=2"])
    assert spec.seeds == (3, 4)
    assert spec.worlds[0].config().population.n_users == 120
    assert spec.execution.n_jobs == 2
    with pytest.raises(SweepSpecError) as ei:
        load_sweep(tmp_path / "s.toml", ["worlds.0.population.n_userz=1", "seeds=-1"])
    probs = dict(ei.value.problems)
    assert probs["worlds.0.population.n_userz"] == "unknown key" and "seeds" in probs
    with pytest.raises(SweepSpecError, match="key.path=value"):
        apply_overrides({}, ["novalue"])
    with pytest.raises(SweepSpecError, match="not an index"):
        apply_overrides({"worlds": [{}]}, ["worlds.3.preset=x"])


def test_grid_expansion_and_run_ids():
    spec = parse_sweep(tiny(logging=[{"policy": "uniform", "n": [300, 600]}, {"policy": "softmax", "n": 600}],
                            worlds=[dict(tiny()["worlds"][0]), {"preset": "default", "label": "big",
                                                                 "population": {"n_users": 300},
                                                                 "catalog": {"n_items": 50}}]))
    tasks = expand(spec)
    assert len(tasks) == 2 * 3 * 2  # worlds x (logging, n) x seeds
    assert len({t.run_id for t in tasks}) == len(tasks)
    assert expand(spec) == tasks  # deterministic
    # identity-derived: reordering seeds or renaming the sweep changes no run's seeds or id
    again = {t.run_id: t for t in expand(parse_sweep(tiny(**{**spec.model_dump(mode="json"), "seeds": [1, 0],
                                                              "name": "other"})))}
    for t in tasks:
        assert again[t.run_id].base_seed == t.base_seed and again[t.run_id].log_seed == t.log_seed
    # truth randomness is shared by every log of a (world, seed); logs differ
    by = {(t.world_key, t.logging["key"], t.n_log, t.seed): t for t in tasks}
    a, b = by[("default", "uniform", 300, 0)], by[("default", "softmax", 600, 0)]
    assert a.base_seed == b.base_seed and a.log_seed != b.log_seed
    assert by[("default", "uniform", 300, 0)].base_seed != by[("default", "uniform", 300, 1)].base_seed
    # a change that matters gives new ids
    other = expand(parse_sweep(tiny(horizon=21)))
    assert not {t.run_id for t in other} & {t.run_id for t in expand(parse_sweep(tiny()))}


def test_run_ids_do_not_depend_on_the_process(tmp_path):
    import subprocess
    import sys

    code = ("from simrec.sweeps import parse_sweep, expand; from tests.sweeps._fixtures import tiny; "
            "print(','.join(t.run_id for t in expand(parse_sweep(tiny()))))")
    # from another directory: `tests` and `simrec` must import from any cwd
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path,
                         env=checkout_env(PYTHONHASHSEED="123"))
    assert out.stdout.strip().split(",") == [t.run_id for t in expand(parse_sweep(tiny()))]


def test_world_configs_and_sweep_files_word_problems_alike():
    from simrec.sim import config
    from simrec.sweeps import overrides

    assert overrides.validation_problems is config.validation_problems  # one wording
    with pytest.raises(ConfigError) as err:
        config.make_config({"examination": {"model": "table", "table": []}})
    assert "  examination: examination.table must hold 1 to 100 slots; got 0" in str(err.value)  # no "Value error, "
    with pytest.raises(config.ValidationError) as exc:
        config.WorldConfig.model_validate({"population": {"n_users": "x"}})
    assert config.validation_problems(exc.value, "worlds.0") == [
        ("worlds.0.population.n_users",
         "Input should be a valid integer, unable to parse string as an integer (got 'x')")]
