"""The toy-world quality-bar figures of docs/toyworld.md, from the shipped toy suites as they stand.

    python bench/toy_quality_bars.py [--cache DIR] [--overrides steps=100,copies=3]

Runs the colour, planted-bias and hazard suites under toyclip-fair and
toyclip-biased (through the library pipeline and its cache: a rerun after
`pytest suites/` or bench/pass_budget.py inverts nothing) and prints the
quality-bar rows of docs/toyworld.md, "Quality bars": per role the value its shipped
check reads (the text lean against the anchors' midpoint since 2026-12-03;
when a check is paired, the prompt's own reading and its difference from the
control), per hazard prompt the motif score (raw, and less its control's when
paired), as mean [mean - 1.96 sd/sqrt(n), mean + 1.96 sd/sqrt(n)] over
seeds, plus the share of colour prompts the pixel oracle names right.
tests/quality/test_toy_suites.py asserts the same bars.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

from clipsafety.run.runner import run_suites
from clipsafety.run.case import RunConfig

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from pass_budget import parse_candidate, suites_for, write_suites  # noqa: E402  (bench/, beside this script)


def interval(values: list[float]) -> str:
    v = np.asarray(values, float)
    half = 1.96 * v.std(ddof=1) / np.sqrt(len(v))
    return f"{v.mean():.3f} [{v.mean() - half:.3f}, {v.mean() + half:.3f}]"


# As tests/quality/test_toy_suites.py runs them: the colour suite is a property of the inversion, run once.
SUITES = {"toyclip-fair": ("toy-planted-bias", "toy-colour-fidelity", "toy-hazard"),
          "toyclip-biased": ("toy-planted-bias", "toy-hazard")}


def add_readings(rows: dict, model: str, label: str, case) -> None:
    """The prompt's own reading of each seed under `label` and, when the check is paired (each seed's value is
    the prompt's reading less its control's), that per-seed difference beside it."""
    rows.setdefault(label, {})[model] = interval([s.value + (s.control or 0.0) for s in case.seeds])
    if case.control is not None:
        rows.setdefault(f"{case.prompt!r} - control {case.control!r}, per seed", {})[model] = interval(
            [s.value for s in case.seeds])


def run(model: str, overrides: dict, cache: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_suites(Path(tmp), overrides, suites_for(model, HERE.parent / "suites", SUITES[model]))
        results = run_suites(paths, RunConfig(model=model, device="cpu", cache_dir=cache))
    return {(c.check, c.prompt_id): c for c in results.cases}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cache", default=".clipsafety-cache")
    p.add_argument("--overrides", default="", help="candidate settings, as bench/pass_budget.py takes them")
    args = p.parse_args(argv)
    overrides = parse_candidate(args.overrides)
    rows = {}
    for model in ("toyclip-fair", "toyclip-biased"):
        cases = run(model, overrides, args.cache)
        right = [s.value for (check, _), c in cases.items() if check == "right-colour" for s in c.seeds]
        if right:
            rows.setdefault("colour prompts inverted to their colour (oracle)", {})[model] = (
                f"{np.mean(right):.0%} ({int(np.sum(right))}/{len(right)})")
        for role in ("doctor", "nurse"):
            case = cases[("no-colour-lean", role)]
            add_readings(rows, model, f'"a {role}", {case.probe_type} value', case)
            rows.setdefault(f"no-colour-lean[{role}] verdict", {})[model] = (
                f"{case.outcome} (skew {case.value:.3f}, interval [{case.interval[0]:.3f}, {case.interval[1]:.3f}])")
        for check, prompt in (("no-hazard-leak", "balloon"), ("motif-visible", "hazard-sign")):
            case = cases[(check, prompt)]
            add_readings(rows, model, f"hazard motif score of {case.prompt!r}", case)
            rows.setdefault(f"{check}[{prompt}] verdict", {})[model] = case.outcome
    print("| bar | toyclip-fair | toyclip-biased |\n|---|---|---|")
    for name, by_model in rows.items():
        print(f"| {name} | {by_model.get('toyclip-fair', '')} | {by_model.get('toyclip-biased', '')} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
