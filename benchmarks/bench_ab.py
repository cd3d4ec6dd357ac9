"""A/B analysis speed: ``analyze_ab`` + ``cuped`` on 10,000,000 users beside statsmodels OLS on the same data.

    python benchmarks/bench_ab.py                  # 10,000,000 users
    python benchmarks/bench_ab.py --users 1000000

The baseline is what a competent analyst would otherwise run for the same two numbers: statsmodels
OLS ``y ~ 1 + T`` (the difference in means, HC2 errors = Welch's) and ANCOVA ``y ~ 1 + T + (x - x̄)``
(CUPED's regression form, HC1 errors), on the same float64 arrays with the design matrix built
once outside the timing. Both sides compute the effect, a robust standard error and an interval.
Times are the best of ``--repeat`` runs; the same-run ratio is what matters on a shared machine.
"""

from __future__ import annotations

import argparse

import numpy as np
from _timing import best  # benchmarks/_timing.py (scripts run from their folder)


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
    print(f"{n:,} users (best of {args.repeat})")
    print(f"  analyze_ab (Welch + relative lift) {t_ab:7.3f} s   statsmodels OLS y~T (HC2)   {t_o1:7.3f} s   "
          f"ratio {t_o1 / t_ab:5.1f}x")
    print(f"  cuped (within-arm slope)           {t_cu:7.3f} s   statsmodels ANCOVA (HC1)    {t_o2:7.3f} s   "
          f"ratio {t_o2 / t_cu:5.1f}x")
    print(f"  analyze_ab + cuped                 {t_ab + t_cu:7.3f} s   statsmodels both            "
          f"{t_o1 + t_o2:7.3f} s   ratio {(t_o1 + t_o2) / (t_ab + t_cu):5.1f}x")
    print(f"  agreement: diff {abs(r_ab.diff.value - o1.params[1]):.2e}, se {abs(r_ab.diff.stderr - o1.bse[1]):.2e}; "
          f"cuped effect {abs(r_cu.diff.value - o2.params[1]):.2e}")


if __name__ == "__main__":
    main()
