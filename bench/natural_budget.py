"""Inversion budgets on the natural path: which budgets keep each other's verdicts, case by case?

    python bench/natural_budget.py --model synthclip-biased --model local-dir:DIR \
        --budget fast --budget fast:200 --budget fast:100 [--suite gender-skew] [--record FILE.jsonl]

A budget is PROFILE or PROFILE:STEPS, as --clip-profile and --clip-steps give it: the profile's
settings under the suite's own overrides, with the step count set when STEPS is given (a suite that
overrides its steps keeps them under a bare PROFILE, so name the steps to compare step counts). Each model runs the named natural suites (default
gender-skew) once per budget through the library pipeline, with the suites' own seed counts, and
the script prints, per model, one row per case with each budget's verdict and value, and per
budget the encoder passes per image, the run's wall time, and the cases whose verdict differs from
the first budget's. `--record` appends one JSON row per model, budget and case (nothing is lost
when a later model is interrupted). On a 48 px synthetic model no profile upscales (the images
start at the model's input size), so what this measures is the step count, not the resolution
schedule a 224 px CLIP goes through. Evidence images (--clip-evidence-seeds) are not made: no check
reads them, so the passes and times are those of the images the verdicts rest on. Progress goes to
stderr: the run's progress line (a whole line a minute when stderr is a log), and a line per budget.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from clipsafety.run.case import RunConfig
from clipsafety.run.progress import ProgressLine, format_duration
from clipsafety.run.runner import run_suites

SUITES = Path(__file__).resolve().parents[1] / "suites"
NATURAL = ("gender-skew", "concept-blending", "nsfw-leakage")


def parse_budget(text: str) -> tuple[str, int | None]:
    profile, _, steps = text.partition(":")
    return profile, int(steps) if steps else None


def run_budget(model: str, budget: str, paths: list[Path], cache: str | None):
    profile, steps = parse_budget(budget)
    # evidence images are never read by a check: left out, so the passes are the verdicts' own
    config = RunConfig(model=model, device="cpu", profile=profile, steps=steps, cache_dir=cache, evidence_seeds=0)
    line = ProgressLine(lambda text: print(text, end="", file=sys.stderr, flush=True), isatty=sys.stderr.isatty(),
                        log_every=60.0)
    print(f"{model} under {budget}: started", file=sys.stderr, flush=True)
    start = time.time()
    results = run_suites(paths, config, progress=line.update)
    line.finish()
    wall = time.time() - start
    print(f"{model} under {budget}: done in {format_duration(wall)}", file=sys.stderr, flush=True)
    return results, wall


def row(model: str, budget: str, case, results, wall: float) -> dict:
    return {"model": model, "budget": budget, "suite": case.suite, "check": case.check, "prompt": case.prompt_id,
            "outcome": case.outcome, "value": case.value, "interval": list(case.interval or ()),
            "passes": results.provenance.encoder_passes, "wall_s": round(wall, 1),
            "passes_per_image": passes_per_image(case)}


def passes_per_image(case) -> int | None:
    passes = [s.passes for s in case.seeds if getattr(s, "passes", None)]
    return max(passes) if passes else None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", action="append", required=True, help="a bundled name or local-dir:PATH")
    p.add_argument("--budget", action="append", required=True, help="PROFILE or PROFILE:STEPS; the first is the reference")
    p.add_argument("--suite", action="append", choices=NATURAL, help="natural suites to run (default: gender-skew)")
    p.add_argument("--cache", default=".clipsafety-cache", help="image cache (a budget's images are cached under its own key)")
    p.add_argument("--record", type=Path, help="append JSON rows here")
    args = p.parse_args(argv)
    paths = [SUITES / f"{name}.clipsafety.yaml" for name in (args.suite or ["gender-skew"])]
    flips_total = 0
    for model in args.model:
        verdicts: dict[str, dict[tuple, tuple]] = {}
        summary = []
        for budget in args.budget:
            results, wall = run_budget(model, budget, paths, args.cache)
            rows = [row(model, budget, case, results, wall) for case in results.cases]
            if args.record:
                with open(args.record, "a", encoding="utf-8") as handle:
                    handle.writelines(json.dumps(r, sort_keys=True) + "\n" for r in rows)
            verdicts[budget] = {(r["suite"], r["check"], r["prompt"]): (r["outcome"], r["value"]) for r in rows}
            summary.append((budget, max((r["passes_per_image"] or 0) for r in rows), results.provenance.encoder_passes,
                            wall))
        reference = args.budget[0]
        print(f"\n{model}")
        print("  " + f"{'case':<40}" + "".join(f"{b:>24}" for b in args.budget))
        for key in sorted(verdicts[reference]):
            cells = []
            for b in args.budget:
                outcome, value = verdicts[b].get(key, ("missing", None))
                cells.append(f"{outcome} {value:.3f}" if value is not None else outcome)
            print("  " + f"{'/'.join(key[1:]):<40}" + "".join(f"{c:>24}" for c in cells))
        for budget, per_image, passes, wall in summary:
            flipped = [k for k in verdicts[reference] if verdicts[budget].get(k, ("missing",))[0] != verdicts[reference][k][0]]
            flips_total += len(flipped) if budget != reference else 0
            print(f"  {budget:<12} {per_image:>7,} passes per image  {passes:>11,} passes in all  {wall:7.0f} s  "
                  f"verdicts differing from {reference}: {', '.join('/'.join(k[1:]) for k in flipped) or 'none'}")
    print(f"\nverdicts that differ from the first budget's, all models: {flips_total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
