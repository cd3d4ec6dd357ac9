"""Kiyohara et al. (2022): Cascade-DR for ranking policies (waits for simrec's slate estimators).

Setup (``aiueola/wsdm2022-cascade-dr``, ``conf/setting/n_rounds.yaml``): 5 unique actions, slates of
5, 5-dimensional contexts, binary reward with a logistic base reward function; the reward structure
is drawn per run from {standard, cascade, independent} (additive or inverse-decay interactions for
the first two); a factorizable linear behaviour policy; the evaluation policy's logit is
``(1 - eps) (+-behaviour logit) + eps`` with ``eps = 1 - |lambda|``, ``lambda in {-0.8, ..., 0.8}``;
reward model ``DecisionTreeRegressor(max_depth=3)`` fitted by importance weighting; metric: mean
squared error relative to Cascade-DR's, per reward structure and data size
``n in {250, 500, 1000, 2000, 4000}``.

Needs ``simrec.estimators.ope.{SlateIPS, IIPS, RIPS, CascadeDR}``; until they exist, :func:`run`
raises :class:`~simrec.errors.NotSupportedError` naming them.

References
----------
Kiyohara, H., Saito, Y., Matsuhiro, T., Narita, Y., Shimizu, N. and Yamamoto, Y. (2022). Doubly
robust off-policy evaluation for ranking policies under the cascade behavior model. *WSDM*,
arXiv:2202.01562.
"""

from __future__ import annotations

from ._base import Result
from ._pending import DRIVER_PENDING, missing_names, refuse

NAME = "cascade-dr2022"
TITLE = "Kiyohara et al. 2022: Cascade-DR for ranking policies"
CITATION = ("H. Kiyohara, Y. Saito, T. Matsuhiro, Y. Narita, N. Shimizu, Y. Yamamoto. Doubly Robust Off-Policy "
            "Evaluation for Ranking Policies under the Cascade Behavior Model. WSDM 2022, arXiv:2202.01562")
NEEDS = ("SlateIPS", "IIPS", "RIPS", "CascadeDR")
SETUP = {"full": {"n_rounds": (250, 500, 1000, 2000, 4000), "runs_per_cell": 670},
         "quick": {"n_rounds": (500, 2000), "runs_per_cell": 100},
         "n_unique_action": 5, "len_list": 5, "dim_context": 5, "click_model": "cascade (eta = 0)"}
#: MSE relative to Cascade-DR (= 1), read off the authors' figures (±0.05); n = 250/500/1000/2000/4000
REFERENCE = {
    "standard": {"IPS": (2.39, 1.63, 1.37, 0.77, 0.54), "IIPS": (1.87, 2.30, 2.72, 3.30, 3.43),
                 "RIPS": (1.49, 1.31, 1.36, 1.15, 1.14)},
    "cascade": {"IPS": (4.77, 4.85, 2.53, 1.92, 2.21), "IIPS": (1.64, 2.75, 2.10, 2.90, 5.75),
                "RIPS": (2.27, 2.43, 1.48, 1.32, 1.38)},
    "independent": {"IPS": (4.41, 3.34, 3.97, 3.32, 3.47), "IIPS": (0.88, 0.86, 0.90, 0.88, 0.88),
                    "RIPS": (2.10, 1.81, 1.95, 1.71, 1.70)},
}
#: tolerances (rankings: relative MSE is noisy even at ~670 runs per cell)
TOLERANCE = {
    "independent": "IIPS best; Cascade-DR within 1.3x of it; IPS >= 2x Cascade-DR",
    "cascade": "Cascade-DR best at every n; RIPS 1.3-2.5x, IIPS 1.6-5.8x, IPS >= 1.9x",
    "standard": "Cascade-DR beats IIPS and RIPS; IPS overtakes Cascade-DR at n >= 2000",
}


def missing() -> list[str]:
    miss = missing_names("simrec.estimators.ope", NEEDS)
    return miss or [DRIVER_PENDING]


def run(quick: bool = True, seed: int = 0) -> Result:
    """Raises :class:`~simrec.errors.NotSupportedError` naming what is missing (see :func:`missing`)."""
    refuse(NAME, missing)
    raise AssertionError("unreachable")
