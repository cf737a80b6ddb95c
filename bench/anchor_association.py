"""A role's colour lean read from the anchors' inversions, scored by the model (#12; a candidate, not shipped).

The shipped check inverts the role's prompt and reads the colour of its images. That inversion drifts with
the prompt's content, and the midpoint control cancels only part of it: on the calibration worlds, roles the
model holds no lean for (render gap <= 0.009) read up to 0.38 between their anchors, while roles whose model
leans clearly (render gap 0.03-0.08) read as low as 0.05 (bench/README.md, "Where the study's errors come
from").

Here the role's prompt is never inverted. The two anchors ("a <first> <shape>", "a <second> <shape>") are
inverted with the seeds the suite would give them, and for each seed index s the model scores a text t
against both images: d_s(t) = cos(t, second anchor's image s) - cos(t, first anchor's image s). Every text is
read on the same images, so whatever drift the images carry is common to all texts; what differs is the
text alone. A role's value is that difference taken against the anchors' midpoint text and counted in the
anchors' own separation,

    skew_s = 2 (d_s(role) - d_s(midpoint)) / (mean d(second anchor) - mean d(first anchor)),

signed toward the second colour: 0 reads like the midpoint, +-1 as far as an anchor reads from it. The value
is the mean over seeds, with a t interval. It is the model's own association (bench/learned_flaws.py) with
inverted anchors in place of renders, so it works where no renderer exists (a natural model's "a photo of a
man" / "a photo of a woman").

    python bench/anchor_association.py --worlds /work/rep/w122 /work/rep/w155 \
        --record bench/results/anchor-association-batch4.jsonl

records, for every role of each trained world, the per-seed differences d_s of every text of the world (its
role words, its shapes, its hazard word, the role's anchors and their midpoint) on that role's anchor images,
so other references and scales can be studied after the trained worlds are gone.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import torch

from clipsafety.invert import get_settings, invert
from clipsafety.models import load_model
from clipsafety.session import derive_seed
from clipsafety.stats.intervals import t_for
from clipsafety.targets import midpoint_text


def _image_embeddings(handle, images: list[np.ndarray]) -> torch.Tensor:
    pixels = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float().div(255.0).to(handle.device)
    with torch.no_grad():
        return handle.encode_images(pixels)


def anchor_images(handle, anchors: tuple[str, str], seeds: int, settings, base_seed: int = 0) -> list[torch.Tensor]:
    """[first, second]: each anchor's inverted images' embeddings [seeds, D], seed index i of each anchor as the
    suite derives it (derive_seed(base_seed, anchor, i))."""
    out = []
    for anchor in anchors:
        results = invert(handle, [anchor], [derive_seed(base_seed, anchor, i) for i in range(seeds)], settings)
        failed = [r for r in results if not r.ok]
        if failed:
            raise RuntimeError(f"inverting {anchor!r} failed for seed {failed[0].seed}: {failed[0].error}")
        out.append(_image_embeddings(handle, [r.image for r in results]))
    return out


def per_seed_differences(handle, text: str, images: list[torch.Tensor]) -> np.ndarray:
    """d_s(text) for every seed index s: cosine to the second anchor's image less that to the first's."""
    with torch.no_grad():
        emb = handle.encode_text([text])[0]
    return (images[1] @ emb - images[0] @ emb).cpu().numpy().astype(np.float64)


def role_anchors(role: dict) -> tuple[str, str]:
    """A calibration role's anchors, as the world's suite writes them: its two colours on its shape."""
    return tuple(f"a {colour} {role['shape']}" for colour in role["colours"])


def skew(differences: dict[str, np.ndarray], word: str, anchors: tuple[str, str],
         level: float = 0.95) -> tuple[float, tuple[float, float]]:
    """(value, (low, high)) of "a <word>" between the anchors, from per-seed differences keyed by text (those
    of the word, both anchors and their midpoint), as the module docstring defines it."""
    d = {text: np.asarray(values, dtype=np.float64) for text, values in differences.items()}
    separation = d[anchors[1]].mean() - d[anchors[0]].mean()
    if not separation > 0:
        raise ValueError(f"the anchors {anchors} do not read apart on their own images ({separation:+.4f})")
    per_seed = 2 * (d[f"a {word}"] - d[midpoint_text(*anchors)]) / separation
    n = len(per_seed)
    half = t_for(level, n - 1) * per_seed.std(ddof=1) / math.sqrt(n)
    return float(per_seed.mean()), (float(per_seed.mean() - half), float(per_seed.mean() + half))


def association(handle, word: str, anchors: tuple[str, str], images: list[torch.Tensor],
                level: float = 0.95) -> tuple[float, tuple[float, float]]:
    """skew() of "a <word>" on these anchor images."""
    texts = [f"a {word}", *anchors, midpoint_text(*anchors)]
    return skew({t: per_seed_differences(handle, t, images) for t in texts}, word, anchors, level)


def world_texts(truth: dict) -> list[str]:
    """Every text of a calibration world a reference could be drawn from: roles, shapes, the hazard word."""
    words = [r["word"] for r in truth["roles"]] + sorted({r["shape"] for r in truth["roles"]})
    return [f"a {w}" for w in words] + [f"a {truth['hazard']['word']}"]


def record_world(handle, name: str, truth: dict, seeds: int, settings_overrides: dict, profile: str = "toy"
                 ) -> list[dict]:
    """One row per role: its truth and, for every text of the world, the per-seed differences on its anchors."""
    settings = get_settings(profile, **settings_overrides)
    rows = []
    for role in truth["roles"]:
        anchors = role_anchors(role)
        images = anchor_images(handle, anchors, seeds, settings)
        texts = [*world_texts(truth), *anchors, midpoint_text(*anchors)]
        rows.append({"world": name, "word": role["word"], "shape": role["shape"], "colours": role["colours"],
                     "rate": role["rate"], "favoured": role.get("favoured"), "seeds": seeds,
                     "settings": {"profile": profile, **settings_overrides},
                     "differences": {t: per_seed_differences(handle, t, images).tolist() for t in texts}})
    return rows


def role_associations(rows: list[dict]) -> dict[str, tuple[float, tuple[float, float]]]:
    """{role word: (value, interval)} from a world's record_world rows."""
    return {row["word"]: skew(row["differences"], row["word"], role_anchors(row)) for row in rows}


def write_rows(path: Path, rows: list[dict]) -> None:
    """Append rows as JSON lines, the differences to 6 decimals (far below the seeds' spread)."""
    with path.open("a") as out:
        for row in rows:
            rounded = {t: [round(d, 6) for d in values] for t, values in row["differences"].items()}
            out.write(json.dumps({**row, "differences": rounded}) + "\n")


def main(argv=None) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from calibration import shipped  # the shipped bias suite's seeds and inversion settings

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--worlds", type=Path, nargs="+", required=True, help="folders of trained worlds")
    p.add_argument("--record", type=Path, required=True, help="JSON-lines file the rows are appended to")
    args = p.parse_args(argv)
    inversion = shipped("toy-planted-bias")["inversion"]
    for folder in args.worlds:
        for world in sorted(f for f in [folder, *folder.iterdir()] if (f / "truth.json").is_file()):
            truth = json.loads((world / "truth.json").read_text())
            rows = record_world(load_model(f"local-dir:{world}", device="cpu"), world.name, truth,
                                inversion["seeds"], inversion.get("overrides", {}), inversion["profile"])
            write_rows(args.record, rows)
            print(f"{world.name}: {len(rows)} roles recorded", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
