"""Calibrate a simulator to a real log: the Open Bandit Dataset sample, end to end.

    python examples/calibrate_obd.py                          # the sample shipped in tests/data/obd
    python examples/calibrate_obd.py path/to/obd/random/all -o out/obd

1. read the log (OBD layout: one (item, position, click) row per impression slot, positions 0-based);
2. analyse it: time split, examination by position with intervals, a test of whether positions
   differ, held-out perplexity against CTR baselines, and what the data cannot distinguish;
3. fit the position-based model on the training part and save the calibrated world (.npz);
4. run a Gymnasium env on that world, and write the fidelity report (held-out real log vs a log
   simulated from the world under the same logging policy, with OPE of a few targets).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import gymnasium as gym
import numpy as np

import simrec  # noqa: F401  (registers the environments)
from simrec.calibrate import analyze_position_log, fidelity_report, fit_world, time_split
from simrec.data import read_obd
from simrec.sim import World

SAMPLE = Path(__file__).resolve().parents[1] / "tests" / "data" / "obd" / "random" / "all"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("log", nargs="?", default=str(SAMPLE), help="OBD folder or all.csv")
    ap.add_argument("-o", "--out", default="reports/calibrate_obd", help="output folder")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    log = read_obd(args.log)
    print(f"{log}: {int(log.reward.sum())} clicks, {log.meta['time_start']} .. {log.meta['time_end']}")

    analysis = analyze_position_log(log, train_frac=0.8)
    (out / "analysis.md").write_text(analysis.to_markdown())
    print(analysis.examination.round(3).to_string())
    for line in analysis.conclusions:
        print("-", line)

    train, test = time_split(log, 0.8)
    world_file = fit_world(train, "pbm", n_users=5000, rng=0, save=out / "obd.npz")
    world_path = out / "obd.npz"
    world = World.from_calibration(world_path)
    print(f"calibrated world: {world.n_items} items, {world.config.slate_size} slots, {world.n_users} users "
          f"-> {world_path} (click model {world_file.click_model})")

    env = gym.make("simrec/Bandit-v0", world={"from": str(world_path)}, horizon=1000)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    clicks = sum(env.step(int(rng.integers(world.n_items)))[1] for _ in range(1000))
    print(f"uniform random policy in the calibrated Bandit-v0: {clicks:.0f} clicks in 1000 rounds "
          f"(the log's top-slot CTR: {log.reward[log.position == 0].mean():.4f})")

    rep = fidelity_report(world_path, test, train, rng=0, out_dir=out)
    print(rep.ctr_by_position.round(4).to_string())
    print(rep.ope[["world_truth", "IPS_real", "IPS_real_low", "IPS_real_high", "truth_in_IPS_ci"]].to_string())
    print(f"fidelity report: {out / 'fidelity.html'}; analysis: {out / 'analysis.md'}")


if __name__ == "__main__":
    main()
