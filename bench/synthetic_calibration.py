"""Calibration of the shipped gender-skew check on freshly drawn synthetic worlds.

    python bench/synthetic_calibration.py train --seeds 101-112 --worlds DIR [--steps 1400] [--threads 2]
    python bench/synthetic_calibration.py evaluate --worlds DIR --record FILE.jsonl [--profile P] [--split tuning:101-104]
    python bench/synthetic_calibration.py run --seeds 101-112 --worlds DIR --record FILE.jsonl [--split tuning:101-104]
    python bench/synthetic_calibration.py replay FILE.jsonl [--reported-only]

Each command takes --suite PATH (default: the shipped gender-skew; suites/gender-skew-photos.clipsafety.yaml
reads the worlds' own photos instead of inverted anchors).

`train` draws each world with clipsafety.synthworld.spec.random_spec(SEED) (each word planted with
probability 1/2 at 60/40, 75/25 or 90/10 toward a random gender, else 50/50) and trains it with
python -m clipsafety.synthworld.train, one world at a time (two trainings on 2 cores slow each other by
an order of magnitude). `evaluate` runs the shipped gender-skew suite, unchanged, on every trained world
not yet recorded and appends one row per word: the planted man share, the verdict, the value and
interval, the suite's sha256 (so rows of another version of the check are never pooled), the profile
and the split (tuning or reported, by the rule written before training). `run` trains and evaluates one world after the other, so the
rows of each world are recorded as soon as it is trained. `replay` prints, for the
checks as shipped now only, the share caught at each planted strength and the share of fair words
flagged, each with its Wilson 95% interval, against the targets (>= 95% caught at 75/25 or stronger,
<= 5% of fair checks flagged).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "suites" / "gender-skew.clipsafety.yaml"
STRENGTHS = (0.5, 0.6, 0.75, 0.9)
CAUGHT_TARGET, FLAGGED_TARGET = 0.95, 0.05


def seed_range(text: str) -> list[int]:
    """'101-104,110' -> [101, 102, 103, 104, 110]."""
    out = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out += list(range(int(lo), int(hi or lo) + 1))
    return out


def world_folder(worlds: Path, seed: int) -> Path:
    return worlds / f"synth-random-{seed}"


def train(args) -> int:
    for seed in seed_range(args.seeds):
        train_world(args, seed)
    return 0


def train_world(args, seed: int) -> Path:
    folder = world_folder(args.worlds, seed)
    if (folder / "card.json").exists():
        print(f"random:{seed}: trained already ({folder})")
        return folder
    command = [sys.executable, "-m", "clipsafety.synthworld.train", "--spec", f"random:{seed}", "--out",
               str(folder), "--seed", str(seed), "--steps", str(args.steps), "--threads", str(args.threads)]
    print(" ".join(command), flush=True)
    subprocess.run(command, check=True)
    return folder


def run(args) -> int:
    """Train and evaluate world after world: each world's rows are on disk before the next one trains."""
    for seed in seed_range(args.seeds):
        train_world(args, seed)
        evaluate(args)
    return 0


def strength(man: float) -> float:
    return round(max(man, 1 - man), 2)


def rows_of(world: Path, seed: int, results, split: str) -> list[dict]:
    import yaml

    rates = {w: float(s["man"]) for w, s in yaml.safe_load((world / "spec.yaml").read_text())["words"].items()}
    suite_sha = next(iter(results.provenance.suites.values())).sha256
    learned = json.loads((world / "card.json").read_text())["word_rates"]
    rows = []
    for case in results.cases:
        if case.prompt_id not in rates:
            continue  # the positive control
        lo, hi = case.interval or (None, None)
        rows.append({"world": f"random:{seed}", "word": case.prompt_id, "man": rates[case.prompt_id],
                     "strength": strength(rates[case.prompt_id]), "outcome": case.outcome, "value": case.value,
                     "interval": [lo, hi], "direction": case.direction, "suite_sha256": suite_sha,
                     "profile": case.profile, "split": split, "passes": results.provenance.encoder_passes,
                     "card_lean": learned[case.prompt_id].get("lean"),
                     "card_lean_unmarked": learned[case.prompt_id].get("lean_unmarked")})
    return rows


def evaluate(args) -> int:
    from clipsafety.run.case import RunConfig
    from clipsafety.run.runner import run_suites

    tuning = set(seed_range(args.split.partition(":")[2])) if args.split else set()
    sha = suite_sha(args.suite)  # a world is done for this version of the suite
    done = ({row["world"] for row in read_rows(args.record) if row["suite_sha256"] == sha}
            if args.record.exists() else set())
    for folder in sorted(args.worlds.glob("synth-random-*")):
        seed = int(folder.name.rsplit("-", 1)[1])
        if f"random:{seed}" in done or not (folder / "card.json").exists():
            continue
        # evidence inversions never enter a verdict: not made here
        results = run_suites([args.suite], RunConfig(model=f"local-dir:{folder}", device="cpu", profile=args.profile,
                                                     cache_dir=args.cache, evidence_seeds=0))
        rows = rows_of(folder, seed, results, "tuning" if seed in tuning else "reported")
        with open(args.record, "a", encoding="utf-8") as handle:  # each world as it finishes: nothing lost
            handle.writelines(json.dumps(row, sort_keys=True) + "\n" for row in rows)
        print(f"random:{seed}: {sum(r['outcome'] == 'failed' for r in rows)} of {len(rows)} words flagged")
    return 0


def caught(row: dict) -> bool:
    """Failed, leaning toward the side the word was planted to (a fair word has no side: any failure)."""
    if row["outcome"] != "failed":
        return False
    if row["strength"] == 0.5:
        return True
    return row["direction"] == ("high" if row["man"] < 0.5 else "low")


def read_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def share(k: int, n: int) -> str:
    from clipsafety.stats.intervals import wilson_interval

    if n == 0:
        return "no cases"
    lo, hi = wilson_interval(k, n)
    return f"{k} of {n} ({k / n:.1%}, 95% interval [{lo:.1%}, {hi:.1%}])"


def suite_sha(path: Path) -> str:
    """The sha256 of a suite file: rows of another version of the check are never pooled with its rows."""
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def replay(args) -> int:
    shipped = suite_sha(args.suite)
    rows = [r for r in read_rows(args.record) if r["suite_sha256"] == shipped]
    if args.reported_only:
        rows = [r for r in rows if r["split"] == "reported"]
    if args.worlds_only:
        keep = {f"random:{seed}" for seed in seed_range(args.worlds_only)}
        rows = [r for r in rows if r["world"] in keep]
    print(f"{len({r['world'] for r in rows})} worlds, {len(rows)} words, {args.suite.name} as shipped "
          f"(sha256 {shipped[:12]}); rows of other versions are not pooled")
    for s in STRENGTHS:
        at = [r for r in rows if r["strength"] == s]
        what = "fair words flagged" if s == 0.5 else f"planted {s:.0%}/{1 - s:.0%} caught"
        print(f"  {what}: {share(sum(caught(r) for r in at), len(at))}; "
              f"inconclusive {sum(r['outcome'] == 'inconclusive' for r in at)}")
    wrong = [f"{r['world']} {r['word']}" for r in rows if r["outcome"] == "failed" and not caught(r)]
    if wrong:
        print(f"  flagged toward the side it was not planted to: {', '.join(wrong)}")
    strong = [r for r in rows if r["strength"] >= 0.75]
    fair = [r for r in rows if r["strength"] == 0.5]
    hits, flagged = sum(caught(r) for r in strong), sum(r["outcome"] == "failed" for r in fair)
    print(f"target >= {CAUGHT_TARGET:.0%} caught at 75/25 or stronger: {share(hits, len(strong))}")
    print(f"target <= {FLAGGED_TARGET:.0%} of fair checks flagged: {share(flagged, len(fair))}")
    missed = [f"{r['world']} {r['word']} ({r['outcome']}, skew {r['value']}, card lean "
              f"{r.get('card_lean_unmarked')})" for r in strong if not caught(r)]
    if missed:
        print(f"  missed at 75/25 or stronger: {'; '.join(missed)}")
    alarms = [f"{r['world']} {r['word']} (skew {r['value']}, card lean {r.get('card_lean_unmarked')})"
              for r in fair if r["outcome"] == "failed"]
    if alarms:
        print(f"  fair words flagged: {'; '.join(alarms)}")
    learned(rows)
    return 0


def signed_toward_man(row: dict) -> float:
    """The row's skew with its side: + toward the man anchor (the suite's low anchor), - toward woman."""
    return (row["value"] or 0.0) * (1 if row["direction"] == "low" else -1)


def learned(rows: list[dict]) -> None:
    """What the model learned, read without inversion (the card's lean on plain renders), beside the check."""
    import numpy as np

    paired = [(signed_toward_man(r), r["card_lean_unmarked"]) for r in rows
              if r.get("card_lean_unmarked") is not None and r["value"] is not None]
    if len(paired) < 3:
        return
    check, card = np.array(paired).T
    print(f"the check's signed skew against the card's lean on plain renders (what the model learned, no "
          f"inversion): Pearson r = {np.corrcoef(check, card)[0, 1]:.2f} over {len(paired)} words")
    for lo, hi in ((0.0, 0.1), (0.1, 0.2), (0.2, 9.9)):
        band = [r for r in rows if r.get("card_lean_unmarked") is not None and lo <= abs(r["card_lean_unmarked"]) < hi]
        print(f"  card lean {lo:.1f} to {hi if hi < 9 else 'more':<4}: flagged {share(sum(r['outcome'] == 'failed' for r in band), len(band))}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train")
    t.add_argument("--seeds", required=True)
    t.add_argument("--worlds", type=Path, required=True)
    t.add_argument("--steps", type=int, default=700)
    t.add_argument("--threads", type=int, default=2)
    e = sub.add_parser("evaluate")
    u = sub.add_parser("run")
    for q in (e, u):
        q.add_argument("--worlds", type=Path, required=True)
        q.add_argument("--record", type=Path, required=True)
        q.add_argument("--profile", help="override the suite's profile (a study of cost; say so with the figures)")
        q.add_argument("--split", help="tuning:SEEDS (the rest are reported), as the rule written before training says")
        q.add_argument("--cache", default=".clipsafety-cache")
    u.add_argument("--seeds", required=True)
    u.add_argument("--steps", type=int, default=700)
    u.add_argument("--threads", type=int, default=2)
    r = sub.add_parser("replay")
    r.add_argument("record", type=Path)
    r.add_argument("--reported-only", action="store_true")
    r.add_argument("--worlds-only", metavar="SEEDS", help="only these worlds' rows, e.g. 111-126")
    for q in (e, u, r):
        q.add_argument("--suite", type=Path, default=SUITE, help="the suite file to run (default: %(default)s)")
    args = p.parse_args(argv)
    return {"train": train, "evaluate": evaluate, "run": run, "replay": replay}[args.command](args)


if __name__ == "__main__":
    raise SystemExit(main())
