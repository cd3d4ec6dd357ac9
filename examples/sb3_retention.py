"""Train a stable-baselines3 agent on ``simrec/Retention-v0`` (our envs fit the Gymnasium ecosystem).

    pip install -e '.[sb3]'              # optional: stable-baselines3 + CPU torch; simrec never needs them
    python examples/sb3_retention.py --timesteps 50000

The agent (PPO, an MLP policy) picks a slate of 5 items from a 100-item ``clickbait`` world every
step; the long-term reward is the number of clicks over 30 days. SB3 samples each slot of a
``MultiDiscrete`` action independently, so its slates may repeat an item: the raw env accepts every
element of its action space (a repeated item is shown once, its later copies are empty slots, counted
in ``info["empty_slots"]``), so no wrapper is needed. The script then compares the
trained agent with simrec's click-greedy bandit (top-K over UCB1) and a uniformly random slate on
the same seeded users: mean clicks per user over the horizon and the share of users retained.

Without stable-baselines3 installed the script says so and only runs the two simrec baselines.
"""

from __future__ import annotations

import argparse
from typing import Any

import gymnasium as gym
import numpy as np

import simrec  # noqa: F401  (registers the envs)
from simrec.policies import UCB1, PlackettLuce, TopK, run_online

WORLD = {"preset": "clickbait", "catalog": {"n_items": 100}}


def make_env(seed: int = 0) -> gym.Env:
    """A single raw ``Retention-v0`` env on the example world (what SB3 trains on)."""
    env = gym.make("simrec/Retention-v0", world=WORLD, horizon_days=30)
    env.reset(seed=seed)
    return env


def evaluate_agent(model: Any, episodes: int, seed: int) -> tuple[float, float]:
    """Mean return and share of users not churned, for an SB3 ``model``."""
    env = make_env()
    returns, retained = [], []
    for ep in range(episodes):
        obs, _ = env.reset(seed=seed + ep)
        total, done, churned = 0.0, False, False
        while not done:
            action, _ = model.predict(obs, deterministic=True)
            obs, r, term, trunc, _ = env.step(action)
            total += r
            done, churned = term or trunc, term
        returns.append(total)
        retained.append(not churned)
    return float(np.mean(returns)), float(np.mean(retained))


def evaluate_baselines(steps: int = 400, num_envs: int = 32) -> dict[str, tuple[float, float]]:
    """Click-greedy bandit (learning online) and uniform random slates, on a vector env."""
    out = {}
    for name in ("click-greedy bandit (UCB1 top-K)", "uniform random slates"):
        env = gym.make_vec("simrec/Retention-v0", num_envs=num_envs, world=WORLD)
        A, K = env.world.n_items, env.world.config.slate_size
        od = env.single_observation_space.shape[0]
        if name.startswith("click"):
            pol = TopK(A, K, UCB1(A, obs_dim=od, rng=0))
        else:  # equal Plackett-Luce weights: uniformly random slates without repeats
            pol = PlackettLuce(A, K, np.zeros(A), obs_dim=od, rng=0)
        res = run_online(env, pol, steps, seed=1)
        out[name] = (float(res.episode_returns.mean()), float(1 - res.episode_terminated.mean()))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--timesteps", type=int, default=50_000)
    ap.add_argument("--episodes", type=int, default=20)
    args = ap.parse_args()
    for name, (ret, kept) in evaluate_baselines().items():
        print(f"{name:36s} clicks/user {ret:7.2f}   retained {kept:.2f}")
    try:
        from stable_baselines3 import PPO
    except ImportError:
        print("stable-baselines3 is not installed (pip install -e '.[sb3]'); skipped the PPO agent")
        return
    model = PPO("MlpPolicy", make_env(), seed=0, verbose=0)
    model.learn(total_timesteps=args.timesteps)
    ret, kept = evaluate_agent(model, args.episodes, seed=10_000)
    print(f"{'PPO (stable-baselines3)':36s} clicks/user {ret:7.2f}   retained {kept:.2f}")


if __name__ == "__main__":
    main()
