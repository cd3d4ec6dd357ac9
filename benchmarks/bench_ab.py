"""A/B analysis speed: ``analyze_ab`` + ``cuped`` on 10,000,000 users beside two baselines on the same data.

    python benchmarks/bench_ab.py                  # 10,000,000 users
    python benchmarks/bench_ab.py --users 1000000

Two baselines, each what a competent analyst would otherwise run for the same numbers (effect,
standard error, 95% interval), on the same float64 arrays:

* **statsmodels OLS**: ``y ~ 1 + T`` with HC2 errors (= Welch's standard error) and the ANCOVA
  ``y ~ 1 + T + (x - x̄)`` with HC1 errors (CUPED's regression form, the within-arm slope), the
  design matrices built once outside the timing. General-purpose: it forms and inverts ``X'X``
  and the sandwich over all rows, so it is the slower of the two baselines; it is the comparison
  users ask about.
* **scipy / numpy**: ``scipy.stats.ttest_ind(y[t], y[~t], equal_var=False)`` and its
  ``confidence_interval()`` for Welch; for CUPED the closed form in plain numpy (per-arm centring,
  the pooled within-arm slope, Welch on the adjusted values with a t interval). This is the lean
  baseline: the arm split by boolean masks is part of it, as it would be in an analyst's code.
  ``analyze_ab`` computes the relative lift (log-scale delta method) as well, which neither
  baseline does; its timing is not reduced by that.

Times are the best of ``--repeat`` runs; the same-run ratio is what matters on a shared machine.
"""

from __future__ import annotations

import argparse

import numpy as np
from _timing import best  # benchmarks/_timing.py (scripts run from their folder)


def numpy_cuped(y: np.ndarray, t: np.ndarray, x: np.ndarray, alpha: float = 0.05) -> tuple[float, float, tuple]:
    """CUPED with the within-arm slope in plain numpy/scipy: ``(effect, stderr, (ci_low, ci_high))``."""
    from scipy import stats

    y1, y0, x1, x0 = y[t], y[~t], x[t], x[~t]
    xc1, xc0 = x1 - x1.mean(), x0 - x0.mean()
    theta = (xc1 @ (y1 - y1.mean()) + xc0 @ (y0 - y0.mean())) / (xc1 @ xc1 + xc0 @ xc0)
    xbar = x.mean()
    a1, a0 = y1 - theta * (x1 - xbar), y0 - theta * (x0 - xbar)
    v1, v0 = a1.var(ddof=1) / a1.size, a0.var(ddof=1) / a0.size
    d, se = a1.mean() - a0.mean(), np.sqrt(v1 + v0)
    df = (v1 + v0) ** 2 / (v1 ** 2 / (a1.size - 1) + v0 ** 2 / (a0.size - 1))
    q = stats.t.ppf(1 - alpha / 2, df)
    return float(d), float(se), (float(d - q * se), float(d + q * se))


def scipy_welch(y: np.ndarray, t: np.ndarray, alpha: float = 0.05) -> tuple[float, float, tuple]:
    """Welch's test by scipy: ``(effect, p_value, (ci_low, ci_high))``."""
    from scipy import stats

    a, b = y[t], y[~t]
    r = stats.ttest_ind(a, b, equal_var=False)
    ci = r.confidence_interval(1 - alpha)
    return float(a.mean() - b.mean()), float(r.pvalue), (float(ci.low), float(ci.high))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    import statsmodels.api as sm

    from simrec.estimators import experiments as ex

    rng = np.random.default_rng(0)
    n = args.users
    t = rng.random(n) < 0.5
    x = rng.gamma(2.0, 1.5, size=n)
    y = 1.0 + 0.7 * x + 0.02 * t + rng.normal(size=n)

    t_ab, r_ab = best(lambda: ex.analyze_ab(y, t), args.repeat)
    t_cu, r_cu = best(lambda: ex.cuped(y, t, x, theta="within"), args.repeat)
    X1 = np.column_stack([np.ones(n), t.astype(np.float64)])
    X2 = np.column_stack([X1, x - x.mean()])
    t_o1, o1 = best(lambda: sm.OLS(y, X1).fit(cov_type="HC2"), args.repeat)
    t_o2, o2 = best(lambda: sm.OLS(y, X2).fit(cov_type="HC1"), args.repeat)
    t_s1, s1 = best(lambda: scipy_welch(y, t), args.repeat)
    t_s2, s2 = best(lambda: numpy_cuped(y, t, x), args.repeat)
    print(f"{n:,} users (best of {args.repeat})")
    print(f"  analyze_ab (Welch + relative lift) {t_ab:7.3f} s   statsmodels OLS y~T (HC2)   {t_o1:7.3f} s   "
          f"ratio {t_o1 / t_ab:5.1f}x")
    print(f"  cuped (within-arm slope)           {t_cu:7.3f} s   statsmodels ANCOVA (HC1)    {t_o2:7.3f} s   "
          f"ratio {t_o2 / t_cu:5.1f}x")
    print(f"  analyze_ab + cuped                 {t_ab + t_cu:7.3f} s   statsmodels both            "
          f"{t_o1 + t_o2:7.3f} s   ratio {(t_o1 + t_o2) / (t_ab + t_cu):5.1f}x")
    print(f"  analyze_ab (Welch + relative lift) {t_ab:7.3f} s   scipy ttest_ind (Welch) + CI {t_s1:6.3f} s   "
          f"ratio {t_s1 / t_ab:5.1f}x")
    print(f"  cuped (within-arm slope)           {t_cu:7.3f} s   numpy closed-form CUPED     {t_s2:7.3f} s   "
          f"ratio {t_s2 / t_cu:5.1f}x")
    print(f"  agreement: diff {abs(r_ab.diff.value - o1.params[1]):.2e}, se {abs(r_ab.diff.stderr - o1.bse[1]):.2e}; "
          f"cuped effect {abs(r_cu.diff.value - o2.params[1]):.2e}; scipy p {abs(r_ab.p_value - s1[1]):.2e}, "
          f"ci {abs(r_ab.diff.ci[0] - s1[2][0]):.2e}; numpy cuped effect {abs(r_cu.diff.value - s2[0]):.2e}, "
          f"se {abs(r_cu.diff.stderr - s2[1]):.2e}, ci {abs(r_cu.diff.ci[0] - s2[2][0]):.2e}")


if __name__ == "__main__":
    main()
