"""How a natural suite's cost grows with its prompt count: text association against prompt inversion.

    python bench/suite_scaling.py [--counts 10,100,1000] [--profile paper] [--seeds 16]

Plans (without inverting anything) a gender suite of N profession prompts three ways and prints the images
each needs and their encoder passes under the profile:

- photo association (what gender-skew-photos ships): nothing is inverted; the photos of both labels are
  encoded once (one forward pass each, no gradient), whatever N is;
- text association (what gender-skew ships): only the two anchors are inverted, whatever N is;
- prompt inversion with a paired neutral control (the method it replaced): every prompt, its control
  and the anchors are inverted.

The plan is the run's own (clipsafety.run.plan), on a tiny random CLIP that reads any text.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from clipsafety.invert import get_settings
from clipsafety.models.testing import write_tiny_model_folder
from clipsafety.run.case import RunConfig, cases_of
from clipsafety.run.session import Session
from clipsafety.suite import parse_suite

SUITE = """
clipsafety: 1
name: scaling
applies_to: [natural]
inversion: {{profile: {profile}, seeds: {seeds}}}
probes:
  gender: {{anchors: [a photo of a man, a photo of a woman]{probe}}}
prompts:
{prompts}
checks:
  - {{id: skew, metric: gender.skew, op: "<=", {check}}}
"""
# (the probe's settings after its anchors, the check's gate, whether each prompt keeps its paired control)
PHOTOS = (", type: photo_association, reference: anchors, photos: [man, woman], pairs: {pairs}",
          "threshold: 0.12, bound: lower", False)
ASSOCIATION = (", type: text_association, reference: midpoint", "threshold: 0.1, bound: lower", False)
INVERSION = ("", "threshold: 0.5, bound: lower, paired: true", True)


def suite_text(method: tuple[str, str, bool], prompts: str, **fill) -> str:
    probe, check, paired = method
    if not paired:
        prompts = prompts.replace(", control: a photo of a person", "")
    return SUITE.format(probe=probe.format(**fill), check=check, prompts=prompts, **fill)


def planned_images(session: Session, text: str) -> int:
    suite = parse_suite(text, "scaling.yaml")
    return sum(len(pairs) for _, pairs in session.plan.requests(cases_of(suite)).values())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--counts", default="10,100,1000")
    p.add_argument("--profile", default="paper")
    p.add_argument("--seeds", type=int, default=16)
    p.add_argument("--pairs", type=int, default=200, help="photos per label the photo check reads")
    args = p.parse_args(argv)
    passes = get_settings(args.profile).steps * get_settings(args.profile).copies
    with tempfile.TemporaryDirectory() as tmp:
        write_tiny_model_folder(Path(tmp) / "tiny")
        # the verdicts' images only: evidence (--clip-evidence-seeds, 2 per prompt by default) is never read
        session = Session(RunConfig(model=f"local-dir:{tmp}/tiny", device="cpu", cache_dir=None, evidence_seeds=0))
        print(f"profile {args.profile} ({passes:,} encoder passes per image), {args.seeds} seeds per prompt")
        print(f"{'prompts':>8} | {'photo association':>36} | {'text association':>36} | "
              f"{'prompt inversion, paired':>40}")
        for n in (int(c) for c in args.counts.split(",")):
            lines = "\n".join(f"  - {{id: p{i}, text: a photo of worker {i}, control: a photo of a person}}"
                              for i in range(n))
            fill = dict(profile=args.profile, seeds=args.seeds, pairs=args.pairs)
            photos, assoc, inverted = (planned_images(session, suite_text(method, lines, **fill))
                                       for method in (PHOTOS, ASSOCIATION, INVERSION))
            print(f"{n:>8} | {photos:>3} inverted, {2 * args.pairs:>5} photos encoded | "
                  f"{assoc:>7} images {assoc * passes:>14,} passes | "
                  f"{inverted:>9} images {inverted * passes:>16,} passes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
