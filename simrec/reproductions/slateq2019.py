"""Ie et al. (2019): SlateQ vs a myopic policy on an interest-evolution world (waits for long-term
sweeps).

Setup: simrec's ``Retention-v0`` on an interest-evolution-style world (interest drift, boredom,
satisfaction-driven returns); SlateQ (``simrec.policies.SlateQ``) trained with long-term returns
against a myopic click-greedy policy; metric: long-term engagement (watch time / sessions per
user over the horizon) from seeded rollouts with standard errors. Claim (the paper's RecSim
experiments): SlateQ's long-term engagement beats the myopic policy's.

Needs sweeps on ``simrec/Retention-v0`` (long-term rollouts with standard errors); until
``simrec.sweeps`` runs them, :func:`run` raises :class:`~simrec.errors.NotSupportedError`.

References
----------
Ie, E., Jain, V., Wang, J., Narvekar, S., Agarwal, R., Wu, R., Cheng, H.-T., Chandra, T. and Boutilier,
C. (2019). SlateQ: a tractable decomposition for reinforcement learning with recommendation sets.
*IJCAI*, 2592-2599.
"""

from __future__ import annotations

from ._base import Result
from ._pending import DRIVER_PENDING, refuse

NAME = "slateq2019"
TITLE = "Ie et al. 2019: SlateQ beats a myopic policy on long-term engagement"
CITATION = ("E. Ie, V. Jain, J. Wang, S. Narvekar, R. Agarwal, R. Wu, H.-T. Cheng, T. Chandra, C. Boutilier. "
            "SlateQ: A Tractable Decomposition for Reinforcement Learning with Recommendation Sets. IJCAI 2019")
SETUP = {"env": "simrec/Retention-v0", "policies": ("slateq", "topk (myopic, click scores)"),
         "full": {"train_users": 20_000, "eval_users": 5_000, "seeds": 5},
         "quick": {"train_users": 2_000, "eval_users": 1_000, "seeds": 2}}
#: the paper reports learning curves, not a table: the claim is an ordering
REFERENCE = {"claim": "long-term engagement(SlateQ) > long-term engagement(myopic)"}
TOLERANCE = {"ordering": "difference > 2 standard errors of the rollout estimates, in favour of SlateQ"}
LONG_TERM_ENV = "simrec/Retention-v0"


def missing() -> list[str]:
    try:
        from ..sweeps.spec import SUPPORTED_ENVS
    except ImportError:
        SUPPORTED_ENVS = ()
    if LONG_TERM_ENV not in SUPPORTED_ENVS:
        return [f"long-term sweeps: simrec.sweeps on {LONG_TERM_ENV} (sweeps run on {', '.join(SUPPORTED_ENVS)})"]
    return [DRIVER_PENDING]


def run(quick: bool = True, seed: int = 0) -> Result:
    """Raises :class:`~simrec.errors.NotSupportedError` naming what is missing (see :func:`missing`)."""
    refuse(NAME, missing)
    raise AssertionError("unreachable")
