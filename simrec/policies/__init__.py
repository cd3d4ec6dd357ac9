"""Policies that act, learn and log their propensities.

Every policy follows the :class:`Policy` protocol: ``action_probs(obs)``, ``act(obs, rng) ->
(actions, propensities)`` and ``update(obs, actions, rewards, propensities)``. Loops:
:func:`collect` (logs for OPE) and :func:`run_online` (reward and regret curves). Build by name
with :func:`make_policy`.
"""

from .bandits import UCB1, BernoulliTS, EpsilonGreedy, LinearTS, LinUCB, LogisticTS
from .base import BasePolicy, Policy
from .baselines import EpsilonMixture, Oracle, Popularity, Softmax, Uniform
from .loops import OnlineResult, collect, rollout_steps, run_online
from .qlearning import LinearQ, ObsTable, QLearning, SlateQ
from .registry import make_policy, policy_names, policy_parameters, register_policy
from .reinforce import REINFORCE
from .shaping import retention_bonus, satisfaction_proxy, watch_time
from .slates import PlackettLuce, TopK

__all__ = [
    "Policy", "BasePolicy",
    "Uniform", "Popularity", "Softmax", "EpsilonMixture", "Oracle",
    "EpsilonGreedy", "UCB1", "LinUCB", "LinearTS", "BernoulliTS", "LogisticTS",
    "PlackettLuce", "TopK",
    "REINFORCE", "QLearning", "LinearQ", "SlateQ", "ObsTable",
    "watch_time", "satisfaction_proxy", "retention_bonus",
    "collect", "run_online", "rollout_steps", "OnlineResult",
    "make_policy", "policy_names", "policy_parameters", "register_policy",
]
