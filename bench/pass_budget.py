"""How few encoder passes give the shipped toy suites' verdicts? (#15 part 2)

    python bench/pass_budget.py --models toyclip-fair toyclip-biased local-dir:/tmp/calib/calib0 \
        --candidates steps=75 steps=100,copies=4 early_stop=true steps=100,early_stop=true
    python bench/pass_budget.py --models toyclip-biased --values \
        --candidates profile=fast,seeds=4 profile=paper,init_size=8,seeds=4   # #15 part 3
    python bench/pass_budget.py --reference steps=150,copies=8 --models local-dir:/work/calib/calib0 \
        --candidates steps=100,copies=3 steps=100,copies=2                      # against the budget before #15

Runs the shipped toy suites once with their own settings, or with the
`--reference` overrides (the reference), and once per candidate (overrides
merged into every toy suite's `inversion.overrides`; `seeds=N` sets the seed count, `profile=P` another
profile with the candidate's overrides only), on every model, through the library pipeline, and
prints per candidate: encoder passes per image against the reference, whether
every verdict is identical, and how many candidate values fall inside the
reference's 95% interval. Uses the normal inversion cache, so a rerun costs
only what changed. CPU-heavy: run it alone (the reference takes about 5 minutes
per model on 2 idle cores at the shipped 100 x 3, 16-19 minutes per fresh world
at 150 x 8).
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
import tempfile
import time
from pathlib import Path

import yaml

from clipsafety.run.runner import run_suites
from clipsafety.run.case import RunConfig

TOY_SUITES = ("toy-colour-fidelity", "toy-planted-bias", "toy-hazard")


def parse_candidate(text: str) -> dict:
    """'steps=100,copies=4,early_stop=true' -> {'steps': 100, 'copies': 4, 'early_stop': True}.

    A value may be a YAML list: 'steps=425,upscale_steps=[113,225]' (a comma splits only
    before the next 'name=')."""
    out = {}
    for item in filter(None, re.split(r",(?=\s*\w+\s*=)", text)):
        key, _, value = item.partition("=")
        out[key.strip()] = yaml.safe_load(value)
    return out


def suites_for(model: str, suites_dir: Path, names: tuple[str, ...] = TOY_SUITES) -> dict[str, dict]:
    """The shipped toy suites; for a calibration world (a local-dir folder with truth.json), the colour
    suite plus the shipped bias and hazard checks on the world's own words (bench/calibration.py), since
    "a doctor" means nothing to a world trained on other role words."""
    def shipped(name: str) -> dict:
        return yaml.safe_load((suites_dir / f"{name}.clipsafety.yaml").read_text())

    folder = Path(model.removeprefix("local-dir:")) if model.startswith("local-dir:") else None
    if folder is not None and (folder / "truth.json").is_file():
        from calibration import COMPARISON_PREFIXES, world_suite  # bench/calibration.py, beside this script

        truth = json.loads((folder / "truth.json").read_text())
        world = world_suite(truth)
        # the settings of the bias suite in `suites_dir` (a reference's), and only the shipped checks:
        # calibration.py's "unpaired-" and other-control checks are comparisons, not the shipped logic
        world["inversion"] = shipped("toy-planted-bias")["inversion"]
        world["checks"] = [c for c in world["checks"] if not c["id"].startswith(COMPARISON_PREFIXES)]
        kept = {p for c in world["checks"] for p in c.get("prompts", [])}
        world["prompts"] = [p for p in world["prompts"] if p["id"] in kept or set(p.get("tags", [])) & kept]
        return {"toy-colour-fidelity": shipped("toy-colour-fidelity"), "world": world}
    return {name: shipped(name) for name in names}


def write_suites(folder: Path, overrides: dict, suites: dict[str, dict]) -> list[Path]:
    paths = []
    for name, data in suites.items():
        data = copy.deepcopy(data)
        inversion = data.setdefault("inversion", {})
        settings = dict(overrides)
        if "seeds" in settings:
            inversion["seeds"] = settings.pop("seeds")
        if "profile" in settings:  # another profile's own recipe: the suite's overrides were for its profile
            inversion["profile"] = settings.pop("profile")
            inversion["overrides"] = {}
        inversion.setdefault("overrides", {}).update(settings)
        path = folder / f"{name}.clipsafety.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        paths.append(path)
    return paths


def run(model: str, overrides: dict, suites_dir: Path, cache: str,
        names: tuple[str, ...] = TOY_SUITES) -> tuple[dict, int, int, float]:
    """{case id: (outcome, value, interval)}, total passes, images, seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_suites(Path(tmp), overrides, suites_for(model, suites_dir, names))
        started = time.perf_counter()
        results = run_suites(paths, RunConfig(model=model, cache_dir=cache))
        seconds = time.perf_counter() - started
    cases, images = {}, {}
    for case in results.cases:
        key = f"{case.suite}::{case.check}[{case.prompt_id}]"
        cases[key] = (case.outcome, case.value, case.interval)
        for seed in case.seeds:
            images[seed.image] = seed.passes
    return cases, sum(images.values()), len(images), seconds


def compare(reference: dict, candidate: dict) -> tuple[int, int, int, list[str]]:
    """(same verdicts, values inside the reference interval, cases, differing case ids)."""
    same = inside = 0
    differ = []
    for key, (outcome, value, interval) in reference.items():
        c_outcome, c_value, _ = candidate.get(key, (None, None, None))
        if c_outcome == outcome:
            same += 1
        else:
            differ.append(f"{key}: {outcome} -> {c_outcome}")
        low, high = interval or (None, None)
        if low is not None and high is not None and c_value is not None and low <= c_value <= high:
            inside += 1
    return same, inside, len(reference), differ


def print_values(cases: dict) -> None:
    for key, (outcome, value, interval) in cases.items():
        low, high = interval or (None, None)
        fmt = lambda x: "-" if x is None else f"{x:.3f}"  # noqa: E731
        print(f"|  | {key}: {outcome} {fmt(value)} [{fmt(low)}, {fmt(high)}] | | | | | |", flush=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models", nargs="+", default=["toyclip-fair", "toyclip-biased"])
    p.add_argument("--candidates", nargs="+", default=["steps=75", "steps=100,copies=4", "early_stop=true"])
    p.add_argument("--suites", type=Path, default=Path(__file__).resolve().parent.parent / "suites")
    p.add_argument("--cache", default=".clipsafety-cache")
    p.add_argument("--toy-suites", nargs="+", default=list(TOY_SUITES), choices=TOY_SUITES,
                   help="which shipped suites to run on the bundled models (tests/quality/test_toy_suites.py runs the "
                        "planted-bias and hazard suites on toyclip-biased)")
    p.add_argument("--values", action="store_true", help="also print every case's outcome, value and interval")
    p.add_argument("--reference", default="",
                   help="overrides that make the reference from the suites, e.g. 'steps=150,copies=8' (the budget "
                        "before #15); candidates apply to the suites as they are, not on top of these")
    args = p.parse_args(argv)
    reference = parse_candidate(args.reference)
    print("| model | settings | passes/image | x fewer | verdicts same | values in ref. interval | seconds |")
    print("|---|---|---|---|---|---|---|")
    for model in args.models:
        names = tuple(args.toy_suites)
        ref, ref_passes, ref_images, ref_s = run(model, reference, args.suites, args.cache, names)
        per_ref = ref_passes / max(ref_images, 1)
        label = args.reference or "suites' own"
        print(f"| {model} | {label} (reference) | {per_ref:.0f} | 1.0 | - | - | {ref_s:.0f} |", flush=True)
        if args.values:
            print_values(ref)
        for text in args.candidates:
            cand, passes, images, seconds = run(model, parse_candidate(text), args.suites, args.cache, names)
            same, inside, n, differ = compare(ref, cand)
            per = passes / max(images, 1)
            print(f"| {model} | {text} | {per:.0f} | {per_ref / max(per, 1):.1f} | {same}/{n} | {inside}/{n} "
                  f"| {seconds:.0f} |", flush=True)
            for line in differ:
                print(f"|  | differs: {line} | | | | | |", flush=True)
            if args.values:
                print_values(cand)
    return 0


if __name__ == "__main__":
    sys.exit(main())
