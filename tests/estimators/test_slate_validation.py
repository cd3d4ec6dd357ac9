"""Bad slate inputs raise named errors (argument, expectation, first bad row); nothing is computed
silently."""

from __future__ import annotations

import numpy as np
import pytest

from simrec.data import BanditLog, SlateLog
from simrec.errors import ConfigError, InvalidLogError
from simrec.estimators import ope
from simrec.testing.slate_worlds import slate_problem

pytestmark = pytest.mark.filterwarnings("ignore::simrec.errors.SimrecWarning")


@pytest.fixture(scope="module")
def problem():
    return slate_problem(np.random.default_rng(0), n=50)


def _fields(log: SlateLog) -> dict:
    return {"slate": log.slate.copy(), "reward": log.reward.copy(), "pscore": log.pscore.copy(),
            "pscore_marginal": log.pscore_marginal.copy(), "pscore_cascade": log.pscore_cascade.copy(),
            "n_items": log.n_items}


def _broken(log: SlateLog, field: str, row: int, col, value) -> dict:
    f = _fields(log)
    if col is None:
        f[field][row] = value
    else:
        f[field][row, col] = value
    return f


LOG_CASES = [
    # (field, row, col, value, match)
    ("slate", 7, 1, "dup", r"`slate` must not repeat an item within a row; 1 rows do, first at row 7"),
    ("pscore_marginal", 4, 2, 1.5, r"`pscore_marginal` must lie in \(0.0, 1.0\].*index \(4, 2\)"),
    ("pscore_marginal", 5, 0, 0.0, r"`pscore_marginal` must lie in \(0.0, 1.0\].*index \(5, 0\)"),
    ("pscore_marginal", 6, 1, "below-joint", r"`pscore` \(the whole slate\) must not exceed any `pscore_marginal`.*"
                                              r"first at row 6"),
    ("pscore_cascade", 8, 2, "increase", r"`pscore_cascade` \(prefix propensities\) must be non-increasing.*"
                                         r"first at row 8"),
    ("pscore_cascade", 9, 1, "above-marginal", r"`pscore_cascade` must not exceed `pscore_marginal`.*first at row 9"),
    ("pscore", 3, None, "not-last-prefix", r"`pscore_cascade\[:, -1\]` \(the full prefix\) must equal `pscore`.*"
                                           r"first at row 3"),
    ("pscore_cascade", 2, 0, np.nan, r"`pscore_cascade` must be finite"),
]


@pytest.mark.parametrize("field,row,col,value,match", LOG_CASES, ids=[f"{c[0]}-{c[3]}" for c in LOG_CASES])
def test_inconsistent_slate_logs_are_rejected(problem, field, row, col, value, match):
    log, _ = problem
    f = _fields(log)
    if value == "dup":
        f["slate"][row, col] = f["slate"][row, 0]
    elif value == "below-joint":
        f["pscore_marginal"][row, col] = f["pscore"][row] / 2
    elif value == "increase":
        f["pscore_cascade"][row, col] = min(1.0, f["pscore_cascade"][row, col - 1] * 1.5)
        f["pscore_cascade"][row, col - 1] = f["pscore_cascade"][row, col] / 1.5
    elif value == "above-marginal":
        f["pscore_cascade"][row, col:] = 1.0
        f["pscore_cascade"][row, : col] = 1.0
    elif value == "not-last-prefix":
        f["pscore"][row] = f["pscore"][row] / 2
    else:
        f = _broken(log, field, row, col, value)
    with pytest.raises(InvalidLogError, match=match):
        SlateLog(**f)


def test_valid_log_is_accepted(problem):
    log, _ = problem
    SlateLog(**_fields(log))


EST_CASES = [
    # (estimator, inputs override, error, match)
    (ope.IIPS(), {"pi_marginal": ("set", 3, 1, 1.5)}, InvalidLogError,
     r"`pi_marginal` must hold probabilities in \[0, 1\]; 1 rows do not, first at row 3"),
    (ope.IIPS(), {"pi_marginal": ("set", 5, 0, -0.1)}, InvalidLogError, r"`pi_marginal`.*first at row 5"),
    (ope.IIPS(), {"pi_marginal": ("set", 6, 2, np.nan)}, InvalidLogError,
     r"`pi_marginal` must be finite; first bad row 6"),
    (ope.SlateIPS(), {"pi_slate": ("set", 2, None, 2.0)}, InvalidLogError, r"`pi_slate`.*first at row 2"),
    (ope.RIPS(), {"pi_cascade": ("increase", 4, 2, None)}, InvalidLogError,
     r"`pi_cascade` \(prefix probabilities\) must be non-increasing along the slots.*first at row 4"),
    (ope.CascadeDR(), {"q_logged": ("set", 7, 0, np.inf)}, InvalidLogError,
     r"`q_logged` must be finite; first bad row 7"),
    (ope.CascadeDR(), {"q_pi": ("shape",)}, InvalidLogError, r"`q_pi` must have shape \(50, 3\)"),
    (ope.SNIIPS(), {"pi_marginal": ("zero",)}, InvalidLogError, r"SNIIPS is undefined.*slot 0"),
    (ope.SNSlateIPS(), {"pi_slate": ("zero",)}, InvalidLogError, r"SNSlateIPS is undefined"),
]


def _apply(inputs: dict, name: str, op: tuple) -> dict:
    out = dict(inputs)
    arr = np.array(out[name], dtype=float)
    if op[0] == "set":
        _, row, col, value = op
        if col is None:
            arr[row] = value
        else:
            arr[row, col] = value
    elif op[0] == "increase":
        _, row, col, _ = op
        arr[row, col] = min(1.0, arr[row, col - 1] * 2 + 0.1)
    elif op[0] == "shape":
        arr = arr[:, :-1]
    elif op[0] == "zero":
        arr[:] = 0.0
    out[name] = arr
    return out


@pytest.mark.parametrize("est,override,error,match", EST_CASES,
                         ids=[f"{type(c[0]).__name__}-{next(iter(c[1]))}-{next(iter(c[1].values()))[0]}"
                              for c in EST_CASES])
def test_bad_target_inputs_raise(problem, est, override, error, match):
    log, inputs = problem
    used = set(est.needs.inputs) | set(est.needs.optional)
    kw = {k: v for k, v in inputs.items() if k in used}
    for name, op in override.items():
        kw = _apply(kw, name, op)
    with pytest.raises(error, match=match):
        est.estimate(log, **kw)


@pytest.mark.parametrize("est", [ope.SlateIPS(), ope.IIPS(), ope.RIPS(), ope.PseudoInverse(), ope.CascadeDR(),
                                 ope.SNRIPS()], ids=lambda e: type(e).__name__)
def test_a_bandit_log_is_rejected(est):
    bandit = BanditLog(action=[0, 1], reward=[1.0, 0.0], pscore=[0.5, 0.5])
    everything = {"pi_slate": np.ones(2), "pi_marginal": np.ones((2, 1)), "pi_cascade": np.ones((2, 1)),
                  "q_logged": np.zeros((2, 1)), "q_pi": np.zeros((2, 1))}
    kw = {k: v for k, v in everything.items() if k in est.needs.inputs}
    with pytest.raises(InvalidLogError, match=r"`log` must be a SlateLog for .*got BanditLog"):
        est.estimate(bandit, **kw)


def test_missing_log_propensities_are_named(problem):
    log, inputs = problem
    bare = log.replace(pscore_cascade=None)
    with pytest.raises(InvalidLogError, match=r"RIPS needs the logging propensities `log.pscore_cascade`"):
        ope.RIPS().estimate(bare, pi_cascade=inputs["pi_cascade"])
    with pytest.raises(InvalidLogError, match=r"`log.pscore_marginal`"):
        ope.IIPS().estimate(log.replace(pscore_marginal=None), pi_marginal=inputs["pi_marginal"])


def test_input_forms_are_exclusive_and_required(problem):
    log, inputs = problem
    dense = np.full((len(log), log.n_items, log.slate_size), 1.0 / log.n_items)
    with pytest.raises(ConfigError, match="either `pi_marginal`.*or `slot_dist`"):
        ope.IIPS().estimate(log, pi_marginal=inputs["pi_marginal"], slot_dist=dense)
    with pytest.raises(ConfigError, match="IIPS needs `pi_marginal`"):
        ope.IIPS().estimate(log)
    with pytest.raises(ConfigError, match="SlateIPS needs `pi_slate`"):
        ope.SlateIPS().estimate(log)
    with pytest.raises(ConfigError, match="did you mean 'pi_cascade'"):
        ope.RIPS().estimate(log, pi_cascde=inputs["pi_cascade"])
    with pytest.raises(ConfigError, match="dense `cascade_dist` and `q_hat` \\(both\\)"):
        ope.CascadeDR().estimate(log, cascade_dist=dense)


def test_dense_distributions_are_checked(problem):
    log, _ = problem
    dense = np.full((len(log), log.n_items, log.slate_size), 1.0 / log.n_items)
    bad = dense.copy()
    bad[11, 2, 1] += 0.2
    with pytest.raises(InvalidLogError, match=r"`slot_dist\[i, :, k\]`.*must sum to 1.*first at row 11, slot 1"):
        ope.IIPS().estimate(log, slot_dist=bad)
    neg = dense.copy()
    neg[12, 0, 0] = -0.2
    neg[12, 1, 0] += 0.2
    with pytest.raises(InvalidLogError, match=r"`cascade_dist` must be non-negative; first bad entry at row 12"):
        ope.RIPS().estimate(log, cascade_dist=neg)
    with pytest.raises(InvalidLogError, match=r"`slot_dist` must have shape \(n, n_items, K\)"):
        ope.IIPS().estimate(log, slot_dist=dense[:, :, :2])
    with pytest.raises(InvalidLogError, match=r"`logging_moment` must have shape \(15, 15\)"):
        ope.PseudoInverse().estimate(log, slot_dist=dense, logging_moment=np.eye(3))


def test_prefix_propensities_survive_io_and_slicing(problem, tmp_path):
    log, _ = problem
    log.to_parquet(tmp_path / "s.parquet")
    back = SlateLog.read_parquet(tmp_path / "s.parquet")
    np.testing.assert_array_equal(back.pscore_cascade, log.pscore_cascade)
    np.testing.assert_array_equal(log[3:7].pscore_cascade, log.pscore_cascade[3:7])
