"""Does an anchored ratio's interval cover the truth when the anchors' separation is itself noisy?

    python bench/anchor_spread.py [--draws 1000] [--seeds 16]

A text association divides each seed's lean (prompt less reference) by the
anchors' mean separation over the same seeds. "fixed anchors" bootstraps the
per-seed values with that separation held fixed, so it leaves out the
separation's own seed noise. "joint" resamples the seeds of the lean and of the
separation together and recomputes the ratio on every replicate (expanded
percentiles as the gate's). "per-seed terms" is what the probe returns: each
seed's value also carries its separation's deviation, scaled by the ratio
(clipsafety.probes.association.association_values), bootstrapped as the gate does. Simulated: leans
normal(0.05, 0.05) and separations normal(1, sd) per seed, so the true skew
2 * 0.05 / 1 = 0.1 sits at the shipped threshold, for separations whose
standard error is 5-30% of the separation. Prints the share of draws whose
lower end lies above the truth (nominal 2.5%). CPU only, about a minute.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from clipsafety.probes.association import association_values
from clipsafety.util.errors import ProbeError
from clipsafety.stats.intervals import DEFAULT_LEVEL, bootstrap_interval, expanded_tail

LEAN, LEAN_SD, TRUTH = 0.05, 0.05, 0.1
RESAMPLES = 4000


def joint_lower(lean: np.ndarray, separation: np.ndarray, seed: int) -> float:
    """Lower end of the joint bootstrap of 2 mean(lean) / mean(separation) over seeds."""
    n = lean.size
    idx = np.random.default_rng(seed).integers(0, n, (RESAMPLES, n))
    replicates = 2 * lean[idx].mean(axis=1) / separation[idx].mean(axis=1)
    return float(np.percentile(replicates, 100 * expanded_tail(DEFAULT_LEVEL, n)))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--draws", type=int, default=1000)
    p.add_argument("--seeds", type=int, default=16)
    p.add_argument("--rng-seed", type=int, default=5)
    args = p.parse_args(argv)
    n, rng = args.seeds, np.random.default_rng(args.rng_seed)
    print(f"lower end of a 95% interval above the true skew (nominal 2.5%), {args.draws} draws, {n} seeds\n")
    print("| separation's standard error | fixed anchors | joint | per-seed terms (the gate's) |")
    print("|---|---|---|---|")
    for share in (0.05, 0.1, 0.2, 0.3):
        fixed = joint = terms = refused = 0
        for i in range(args.draws):
            lean, sep = rng.normal(LEAN, LEAN_SD, n), rng.normal(1.0, share * np.sqrt(n), n)
            fixed += bootstrap_interval(2 * lean / sep.mean(), seed=i)[0] > TRUTH
            joint += joint_lower(lean, sep, i) > TRUTH
            try:
                values = association_values(lean, np.zeros(n), -sep / 2, sep / 2)
            except ProbeError:  # the probe refuses anchors this close: an error, never a false alarm
                refused += 1
                continue
            terms += bootstrap_interval(values, seed=i)[0] > TRUTH
        refusals = f" ({refused} refused)" if refused else ""
        print(f"| {share:.0%} | {fixed / args.draws:.1%} | {joint / args.draws:.1%} | "
              f"{terms / args.draws:.1%}{refusals} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
