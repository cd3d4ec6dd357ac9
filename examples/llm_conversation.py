"""An LLM recommender against LinUCB and popularity on ``simrec/Conversation-v0``, with OPE and explanations.

    python examples/llm_conversation.py                       # offline: the scripted backend
    python examples/llm_conversation.py --quick --out /tmp/llm # small and fast
    SIMREC_LLM_KEY=... python examples/llm_conversation.py --base-url http://localhost:8000/v1 \\
        --model my-model --api-key-env SIMREC_LLM_KEY         # a real OpenAI-compatible server

1. **Online comparison.** Each policy talks to the same seeded simulated users (a conversation of at
   most 5 turns, a slate of 3 each turn): the LLM recommender (retrieval over item-text embeddings, a
   prompt, a grounded JSON answer with an explanation), LinUCB on the observation vector (the env's
   documented encoding of the request text and user features; top-3 of its scores; it learns online)
   and popularity (it counts clicks). Reported: exact expected reward per turn, the share of
   conversations that end with an accepted item, explanation scores (the LLM's own explanations; the
   baselines state each shown item's catalog attributes: faithful but not personalised), and the
   LLM's fallback rate.
2. **OPE.** A uniform log of one-item answers (``slate_size=1``, one turn per conversation) and the
   LLM policy's propensities (repeated sampling): IPS and SNIPS against the exact value of the policy
   on the logged contexts and its simulated value.
3. **Report.** ``report.md``, ``figure.png`` and ``results.json`` in ``--out``.

API keys are read from the variable named by ``--api-key-env`` at request time and are never written
to the report.
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import simrec  # noqa: F401  (registers the envs)
from simrec.data import BanditLog
from simrec.estimators import ope
from simrec.policies import make_policy


def template_explanation(catalog: Any, slate: np.ndarray) -> str:
    """What a baseline can say without a language model: each item's catalog attributes (faithful,
    not personalised)."""
    parts = []
    for i in slate:
        a = catalog.attributes(int(i))
        parts.append(f"#{int(i)} is a {a['length']} {a['mood']} {a['genres'][0]} piece.")
    return " ".join(parts)


def world(n_items: int) -> dict[str, Any]:
    return {"preset": "default", "catalog": {"n_items": n_items}}


def backend_spec(args: argparse.Namespace) -> Any:
    if not args.base_url:
        return "scripted"
    return {"kind": "openai", "base_url": args.base_url, "model": args.model, "api_key_env": args.api_key_env,
            "timeout": args.timeout, "max_retries": 2}


def run_policy(name: str, args: argparse.Namespace, steps: int, seed: int) -> dict[str, Any]:
    """One policy online on seeded conversations: per-turn expected rewards, accepts, explanation scores."""
    env = gym.make_vec("simrec/Conversation-v0", num_envs=args.envs, world=world(args.items))
    if name == "llm":
        pol = make_policy("llm", env, backend=backend_spec(args), n_samples=args.samples, rng=seed)
    elif name == "linucb":
        pol = make_policy("linucb", env, alpha=0.5, rng=seed)
    else:
        pol = make_policy("popularity", env, rng=seed)
    obs, info = env.reset(seed=seed)
    resetting = np.zeros(env.num_envs, dtype=bool)
    exp, scores, accepted, ended = [], [], 0, 0
    for _ in range(steps):
        a, p = pol.act(obs)
        if name == "llm":
            env.unwrapped.explain(pol.last_explanations_)
        else:
            env.unwrapped.explain([template_explanation(env.unwrapped.world.catalog, s) for s in a])
        nobs, r, te, tr, info = env.step(a)
        rows = np.flatnonzero(~resetting)
        exp.append(info["expected_reward"][rows])
        scores.append(info["explanation_score"][rows])
        done = (te | tr)[rows]
        ended += int(done.sum())
        accepted += int((info["response"][rows] == "accept").sum())
        if name != "llm" and rows.size:
            sub = {k: v[rows] for k, v in info.items() if not k.startswith("_") and np.ndim(v) >= 1}
            pol.update(obs[rows], a[rows], r[rows], p[rows], info=sub)
        resetting = te | tr
        obs = nobs
    e, s = np.concatenate(exp), np.concatenate(scores)
    out = {"policy": name, "turns": int(e.size), "expected_reward": float(e.mean()),
           "expected_reward_se": float(e.std(ddof=1) / np.sqrt(e.size)), "accept_rate": accepted / max(ended, 1),
           "conversations": ended, "explanation_score": float(s.mean()),
           "explanation_score_se": float(s.std(ddof=1) / np.sqrt(s.size))}
    if name == "llm":
        out.update(fallback_rate=pol.fallback_rate, invented_ids=int(pol.stats_["invented_ids"]),
                   propensity_type=pol.propensity_type, propensity_source=pol.propensity_source)
    return out


def ope_study(args: argparse.Namespace, steps: int, seed: int) -> dict[str, Any]:
    """IPS / SNIPS of the LLM policy (one item per turn) from a uniform log, against its true value."""
    env = gym.make_vec("simrec/Conversation-v0", num_envs=args.envs, world=world(args.items), slate_size=1,
                       max_turns=1)
    pol = make_policy("llm", env, backend=backend_spec(args), n_samples=args.samples, temperature=1.0, rng=seed)
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed)
    resetting = np.zeros(env.num_envs, dtype=bool)
    X, T, A, R, Q = [], [], [], [], []
    for _ in range(steps):
        n_av = env.unwrapped.world.n_available
        a = rng.integers(n_av, size=env.num_envs)
        q = env.unwrapped.expected_reward_items()
        texts = list(zip(info["request"], info["user_text"]))
        nobs, r, te, tr, info = env.step(a[:, None])
        keep = np.flatnonzero(~resetting)
        X.append(obs[keep])
        T += [texts[i] for i in keep]
        A.append(a[keep])
        R.append(r[keep])
        Q.append(q[keep])
        resetting = te | tr
        obs = nobs
    X, A, R, Q = (np.concatenate(v) for v in (X, A, R, Q))
    pi = pol.action_probs(X, texts=T)[:, :, 0]
    log = BanditLog(action=A, reward=R, pscore=np.full(A.size, 1.0 / n_av), context=X, n_actions=n_av)
    truth = float((pi * Q).sum(axis=1).mean())
    rows = []
    for est in (ope.IPS(), ope.SNIPS()):
        with warnings.catch_warnings(record=True) as caught:  # small-sample warnings go into the report
            warnings.simplefilter("always")
            e = est.estimate(log, pi)
        lo, hi = (float(x) for x in e.ci)
        rows.append({"estimator": type(est).__name__, "estimate": float(e.value), "ci_low": lo, "ci_high": hi,
                     "covered": bool(lo <= truth <= hi), "ess": float(e.ess),
                     "warnings": sorted({w.category.__name__ for w in caught})})
    return {"n": int(A.size), "truth": truth, "logger_value": float(Q.mean()), "estimates": rows,
            "fallback_rate": pol.fallback_rate}


def figure(results: list[dict[str, Any]], ope_res: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["policy"] for r in results]
    fig, ax = plt.subplots(1, 3, figsize=(12, 3.6))
    ax[0].bar(names, [r["expected_reward"] for r in results], yerr=[2 * r["expected_reward_se"] for r in results])
    ax[0].set_title("Expected reward per turn")
    ax[1].bar(names, [r["explanation_score"] for r in results], yerr=[2 * r["explanation_score_se"] for r in results],
              color="tab:orange")
    ax[1].set_title("Explanation score")
    est = ope_res["estimates"]
    ax[2].errorbar(range(len(est)), [e["estimate"] for e in est],
                   yerr=[[e["estimate"] - e["ci_low"] for e in est], [e["ci_high"] - e["estimate"] for e in est]],
                   fmt="o", capsize=4)
    ax[2].axhline(ope_res["truth"], color="k", ls="--", label="truth")
    ax[2].axhline(ope_res["logger_value"], color="grey", ls=":", label="uniform logger")
    ax[2].set_xticks(range(len(est)), [e["estimator"] for e in est])
    ax[2].set_title("OPE of the LLM policy")
    ax[2].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(results: list[dict[str, Any]], ope_res: dict[str, Any], args: argparse.Namespace) -> str:
    lines = ["# LLM recommender on simrec/Conversation-v0", "",
             f"{args.items} items, {args.envs} parallel conversations, backend: "
             f"{'scripted (offline)' if not args.base_url else 'OpenAI-compatible server, model ' + args.model}.", "",
             "| policy | turns | expected reward / turn | accepted conversations | explanation score |",
             "|---|---|---|---|---|"]
    for r in results:
        er = f"{r['expected_reward']:.4f} +- {2 * r['expected_reward_se']:.4f}"
        es = f"{r['explanation_score']:.3f} +- {2 * r['explanation_score_se']:.3f}"
        lines.append(f"| {r['policy']} | {r['turns']} | {er} | {r['accept_rate']:.3f} | {es} |")
    llm = next(r for r in results if r["policy"] == "llm")
    lines += ["", f"LLM fallback rate (answers replaced by the retrieval order): {llm['fallback_rate']:.3f}; "
              f"invented ids dropped: {llm['invented_ids']}; propensities: {llm['propensity_source']} "
              f"({llm['propensity_type']}).", "",
              f"## OPE from a uniform log ({ope_res['n']} one-item turns)", "",
              f"Exact value of the LLM policy on the logged contexts: {ope_res['truth']:.4f} "
              f"(uniform logger: {ope_res['logger_value']:.4f}).", "",
              "| estimator | estimate | 95% interval | covers the truth | ESS | warnings |",
              "|---|---|---|---|---|---|"]
    for e in ope_res["estimates"]:
        lines.append(f"| {e['estimator']} | {e['estimate']:.4f} | [{e['ci_low']:.4f}, {e['ci_high']:.4f}] "
                     f"| {e['covered']} | {e['ess']:.0f} | {', '.join(e['warnings']) or '-'} |")
    lines += ["", "![comparison](figure.png)", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (a few seconds)")
    ap.add_argument("--out", default="reports/llm_conversation", help="output folder")
    ap.add_argument("--items", type=int, default=200)
    ap.add_argument("--envs", type=int, default=100)
    ap.add_argument("--samples", type=int, default=4, help="backend answers per prompt (propensities)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--base-url", default=None, help="an OpenAI-compatible server, e.g. http://localhost:8000/v1")
    ap.add_argument("--model", default="local-model")
    ap.add_argument("--api-key-env", default=None, help="NAME of the environment variable holding the API key")
    ap.add_argument("--timeout", type=float, default=30.0)
    args = ap.parse_args(argv)
    if args.quick:
        args.items, args.envs = min(args.items, 60), min(args.envs, 20)
    steps = 10 if args.quick else 40
    results = [run_policy(n, args, steps, args.seed) for n in ("llm", "linucb", "popularity")]
    ope_res = ope_study(args, steps * 2, args.seed + 1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    figure(results, ope_res, out / "figure.png")
    (out / "report.md").write_text(markdown(results, ope_res, args))
    (out / "results.json").write_text(json.dumps({"online": results, "ope": ope_res}, indent=2))
    print(markdown(results, ope_res, args))
    print(f"wrote {out / 'report.md'}")
    return {"online": results, "ope": ope_res}


if __name__ == "__main__":
    main()
