"""How often does a check's gating bound land on the wrong side of the true value? (#12 part 4)

    python bench/interval_coverage.py [--draws 1500] [--seeds 2 4 8 16]

A check gated on one end of a two-sided 95% interval should be wrong 2.5% of
the time at most: that is what the run's "expected false alarms" counts. For
values drawn from a known distribution, this prints the share of draws whose
lower end lies above the true mean ("lower misses") and whose upper end lies
below it, for the plain percentile bootstrap, the expanded bootstrap the gate
uses (clipsafety.stats.intervals), and a Student t interval. Distributions:
normal values, and skewed values in [0, 1] like a probe's share (Beta(0.5, 4),
mean 1/9). CPU only, about a minute.
"""

from __future__ import annotations

import argparse
import math
import sys

import numpy as np

from clipsafety.stats.intervals import bootstrap_interval, t_for

DISTRIBUTIONS = {
    "normal(0, 1)": (lambda rng, shape: rng.normal(0.0, 1.0, shape), 0.0),
    "beta(0.5, 4)": (lambda rng, shape: rng.beta(0.5, 4.0, shape), 0.5 / 4.5),
}


def t_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    half = t_for(level, values.size - 1) * values.std(ddof=1) / math.sqrt(values.size)
    return values.mean() - half, values.mean() + half


def misses(draws: np.ndarray, truth: float, method: str) -> tuple[float, float]:
    """(share of draws whose lower end is above the truth, share whose upper end is below it)."""
    lower = upper = 0
    for i, values in enumerate(draws):
        if method == "t":
            lo, hi = t_interval(values)
        else:
            lo, hi = bootstrap_interval(values, seed=i, expand=method == "expanded")
        lower += lo > truth
        upper += hi < truth
    return lower / len(draws), upper / len(draws)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--draws", type=int, default=1500)
    p.add_argument("--seeds", type=int, nargs="+", default=[2, 4, 8, 16])
    p.add_argument("--rng-seed", type=int, default=0)
    args = p.parse_args(argv)
    print(f"one-sided misses of a 95% interval (nominal 2.5% each side), {args.draws} draws per row\n")
    print("| values | seeds | plain bootstrap: lower / upper | expanded (the gate's) | Student t |")
    print("|---|---|---|---|---|")
    rng = np.random.default_rng(args.rng_seed)
    for name, (draw, truth) in DISTRIBUTIONS.items():
        for n in args.seeds:
            draws = draw(rng, (args.draws, n))
            cells = [misses(draws, truth, method) for method in ("plain", "expanded", "t")]
            row = " | ".join(f"{lo:.1%} / {hi:.1%}" for lo, hi in cells)
            print(f"| {name} | {n} | {row} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
