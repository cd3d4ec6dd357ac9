"""Off-policy selection metrics (SCOPE-RL style) on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from simrec.errors import ConfigError
from simrec.estimators.ope import metrics
from simrec.estimators.ope import selection as ops

TRUE = np.array([10.0, 8.0, 5.0, 3.0, 1.0])


def test_rank_correlation_and_regret_are_the_metrics_functions():
    assert ops.rank_correlation is metrics.rank_correlation and ops.regret_at_k is metrics.regret_at_k
    est = np.array([1.0, 9.0, 5.0, 2.0, 0.0])  # ranks policy 1 first
    assert ops.regret_at_k(est, TRUE, 1) == pytest.approx(2.0)
    assert ops.regret_at_k(est, TRUE, 3) == pytest.approx(2.0) and ops.regret_at_k(est, TRUE, 4) == 0.0
    assert ops.rank_correlation(TRUE, TRUE) == pytest.approx(1.0)


def test_type_i_and_ii_error_rates():
    est = np.array([4.0, 8.0, 6.0, 2.0, 7.0])
    # threshold 4.5: truly safe {0, 1, 2}; estimated safe {1, 2, 4}
    assert ops.type_i_error_rate(est, TRUE, 4.5) == pytest.approx(1 / 3)  # policy 0 wrongly discarded
    assert ops.type_ii_error_rate(est, TRUE, 4.5) == pytest.approx(1 / 2)  # policy 4 let through
    assert ops.type_i_error_rate(TRUE, TRUE, 4.5) == 0.0 and ops.type_ii_error_rate(TRUE, TRUE, 4.5) == 0.0
    assert ops.type_ii_error_rate(est, TRUE, -1.0) == 0.0  # no truly unsafe policy (SCOPE-RL: 0)


def test_sharpe_ratio_at_k_follows_its_definition():
    # SCOPE-RL's example structure: X underestimates a good policy, Y overestimates a poor one
    x = np.array([9.0, 7.0, 5.0, 2.0, 0.0])
    y = np.array([11.0, 1.0, 2.0, 3.0, 10.0])
    vb = 3.0
    top_x = TRUE[[0, 1, 2]]
    assert ops.sharpe_ratio_at_k(x, TRUE, 3, vb) == pytest.approx((10 - vb) / top_x.std())
    top_y = TRUE[[0, 4, 3]]
    assert ops.sharpe_ratio_at_k(y, TRUE, 3, vb) == pytest.approx((10 - vb) / top_y.std())
    # same regret@3 (both include the best policy), but Y's portfolio is riskier
    assert ops.regret_at_k(x, TRUE, 3) == ops.regret_at_k(y, TRUE, 3) == 0.0
    assert ops.sharpe_ratio_at_k(x, TRUE, 3, vb) > ops.sharpe_ratio_at_k(y, TRUE, 3, vb)
    assert ops.sharpe_ratio_at_k(x, TRUE, 1, vb) == np.inf
    assert np.isnan(ops.sharpe_ratio_at_k(x, TRUE, 1, 10.0))
    np.testing.assert_array_equal(ops.top_k_values(y, TRUE, 2), [10.0, 1.0])


def test_selection_report_table():
    x = np.array([9.0, 7.0, 5.0, 2.0, 0.0])
    y = np.array([11.0, 1.0, 2.0, 3.0, 10.0])
    t = ops.selection_report({"X": x, "Y": y}, TRUE, k=3, behavior_value=3.0)
    assert list(t.index) == ["X", "Y"]
    assert t.loc["X", "sharpe_ratio@3"] == pytest.approx(ops.sharpe_ratio_at_k(x, TRUE, 3, 3.0))
    assert t.loc["Y", "type_ii_error"] == pytest.approx(ops.type_ii_error_rate(y, TRUE, 3.0))
    assert t.loc["Y", "worst@3"] == 1.0 and t.loc["X", "best@3"] == 10.0
    assert t.loc["X", "mse"] == pytest.approx(np.mean((x - TRUE) ** 2))
    assert t.loc["X", "rank_correlation"] == pytest.approx(1.0)


def test_bad_inputs():
    with pytest.raises(ConfigError, match="equal length"):
        ops.type_i_error_rate([1.0, 2.0], [1.0], 0.0)
    with pytest.raises(ConfigError, match="`k`"):
        ops.sharpe_ratio_at_k([1.0, 2.0], [1.0, 2.0], 3, 0.0)
    with pytest.raises(ConfigError, match="finite"):
        ops.type_ii_error_rate([np.nan, 2.0], [1.0, 2.0], 0.0)
