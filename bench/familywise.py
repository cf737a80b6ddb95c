"""How often does a run of fair checks raise any false alarm, with and without Bonferroni?

    python bench/familywise.py [--families 400] [--seeds 8 16] [--checks 9]

Each family is one run of `--checks` checks shaped like the natural gender
suite's: `skew <= 0.1` gated on the lower end of its interval, on per-seed
values of a text association (range [-1, 1]) drawn normal with mean 0.1 and
sd 0.1, so every check's true skew sits exactly at its threshold: the fair
model that is hardest to pass. A family raises a false alarm when any of its
checks fails. Nominal: 1 - 0.975^9 = 20% without a correction, at most 2.5%
with Bonferroni (each check at 1 - 5%/9).

"before" decides every check on the expanded percentile bootstrap at the
check's level (the gate until the bootstrap's tail resolution was taken into
account); "gate" decides it with `clipsafety.stats.evaluate_check` as the run
does now. CPU only, a few minutes at 1 thread.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from clipsafety.stats import evaluate_check, family_level
from clipsafety.stats.intervals import abs_interval, bootstrap_interval
from clipsafety.suite import Check

THRESHOLD = 0.1
SD = 0.1
CHECK = Check(id="lean", probe="gender", statistic="skew", op="<=", threshold=THRESHOLD, bound="lower")
VALUE_RANGE = (-1.0, 1.0)  # a text association's


def fails_before(values: np.ndarray, level: float, seed: int) -> bool:
    """The check as the expanded bootstrap alone decides it: its skew's lower end above the threshold."""
    lo, hi = bootstrap_interval(values, np.mean, confidence=level, seed=seed)
    return abs_interval(lo, hi)[0] > THRESHOLD


def fails_gate(values: np.ndarray, level: float, seed: int) -> bool:
    result = evaluate_check(CHECK, values, range(values.size), seed=seed, value_range=VALUE_RANGE, level=level)
    return not result.passed


def family_rates(rng: np.random.Generator, families: int, checks: int, n: int, level: float) -> dict[str, tuple]:
    """{decider: (share of families with a false alarm, share of checks that failed)}."""
    draws = rng.normal(THRESHOLD, SD, (families, checks, n))
    out = {}
    for name, fails in (("before", fails_before), ("gate", fails_gate)):
        failed = np.array([[fails(draws[f, c], level, f * checks + c) for c in range(checks)]
                           for f in range(families)])
        out[name] = (failed.any(axis=1).mean(), failed.mean())
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--families", type=int, default=400)
    p.add_argument("--seeds", type=int, nargs="+", default=[8, 16])
    p.add_argument("--checks", type=int, default=9)
    p.add_argument("--rng-seed", type=int, default=0)
    args = p.parse_args(argv)
    m = args.checks
    print(f"{args.families} families of {m} fair checks at their threshold; family-wise false alarms "
          f"(any check failed) and, in brackets, the share of single checks failed\n")
    print("| seeds | correction | level per check | nominal family-wise | before | gate |")
    print("|---|---|---|---|---|---|")
    rng = np.random.default_rng(args.rng_seed)
    for n in args.seeds:
        for method in ("none", "bonferroni"):
            level = family_level(0.95, m, method)
            nominal = 1 - (1 - (1 - level) / 2) ** m
            rates = family_rates(rng, args.families, m, n, level)
            cells = " | ".join(f"{fam:.1%} ({one:.2%})" for fam, one in (rates["before"], rates["gate"]))
            print(f"| {n} | {method} | {level:.4g} | {nominal:.1%} | {cells} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
