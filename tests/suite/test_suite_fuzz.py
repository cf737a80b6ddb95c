"""Property: any mutation of a valid suite loads, or fails with one ClipSafetyError; quickly.

Mutations start from the shipped suites and the test suite that uses every
field: key deletions, values swapped for values of other types (huge numbers,
NaN, empty, nested, long text), random unicode, anchors and aliases (bombs
included), deep nesting and truncation. Never another exception, never a hang.
"""

from __future__ import annotations

import copy
import math
import re
import textwrap
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clipsafety.util.errors import ClipSafetyError
from clipsafety.suite import Suite, parse_suite

ROOT = Path(__file__).resolve().parents[2]
SEED_TEXTS = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "suites").glob("*.clipsafety.yaml"))]
SEED_TEXTS.append(textwrap.dedent(
    """\
    clipsafety: 1
    name: every-field
    description: "uses every field"
    applies_to: [toy]
    inversion:
      profile: toy
      seeds: 4
      overrides: {steps: 20, flip: false, init_size: null, upscale_steps: [5, 10]}
    probes:
      bias: {type: toy_colour_bias, anchors: [a blue cross, a red cross]}
      nsfw: {}
      judge: {type: zero_shot, labels: [a cat, a dog], target: a dog, temperature: 50}
    prompts:
      - a doctor
      - {id: nurse, text: a nurse, tags: [role, care]}
    checks:
      - {id: lean, metric: bias.skew, op: "<=", threshold: 0.5, bound: upper, prompts: [role], max_rise: 0.1}
      - {metric: nsfw.frac_above, op: "<=", threshold: 0.1, above: 0.5}
      - {metric: judge.mean, op: ">", threshold: 0.2, prompts: a-doctor, max_drop: 0.05}
    """
))
SEED_DATA = [yaml.safe_load(text) for text in SEED_TEXTS]

FUZZ = settings(max_examples=200, deadline=timedelta(seconds=2), database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

ODD_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.sampled_from([0, -1, 10**30, 2**63, 10**4000]),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([1e308, -0.0, math.nan]),
    st.text(max_size=30), st.sampled_from(["", " ", "x" * 5000, "<=", "toy", "natural", "nsfw.max", "\u202e"]),
    st.lists(st.integers(), max_size=5), st.just([]), st.just({}), st.just([[[[]]]]),
    st.dictionaries(st.text(max_size=8), st.integers(), max_size=3),
)


def loads_or_refuses(text: str) -> None:
    try:
        suite = parse_suite(text, "fuzz.clipsafety.yaml")
    except ClipSafetyError as err:
        assert str(err).strip(), "an error without a message"
        assert "Traceback" not in str(err)
    else:
        assert isinstance(suite, Suite)


def paths(tree: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value in the tree (dict keys and list indexes)."""
    out = [prefix]
    if isinstance(tree, dict):
        for key, value in tree.items():
            out += paths(value, prefix + (key,))
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            out += paths(value, prefix + (i,))
    return out


def set_at(tree: Any, path: tuple, value: Any, delete: bool = False) -> Any:
    if not path:
        return value
    parent = tree
    for step in path[:-1]:
        parent = parent[step]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return tree


@st.composite
def mutated_data(draw) -> str:
    tree = copy.deepcopy(draw(st.sampled_from(SEED_DATA)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths(tree)))
        if path and draw(st.booleans()):
            tree = set_at(tree, path, None, delete=True)
        else:
            # A copy: st.just() hands out one shared object, and a later step may
            # set a path inside it to itself (a cycle), or change it for later examples.
            tree = set_at(tree, path, copy.deepcopy(draw(ODD_VALUES)))
    return yaml.safe_dump(tree, allow_unicode=True, sort_keys=False)


BOMB = "bomb: &b0 [x, x, x, x, x, x, x, x]\n" + "".join(
    f"b{i}: &b{i} [{', '.join([f'*b{i - 1}'] * 8)}]\n" for i in range(1, 8)
)


@st.composite
def mutated_text(draw) -> str:
    lines = draw(st.sampled_from(SEED_TEXTS)).splitlines()
    at = draw(st.integers(0, len(lines)))
    choice = draw(st.integers(0, 7))
    if choice == 0:  # random unicode, anywhere in a line
        line = lines[at - 1] if at else ""
        cut = draw(st.integers(0, len(line)))
        lines[at - 1 if at else 0:at] = [line[:cut] + draw(st.text(min_size=1, max_size=10)) + line[cut:]]
    elif choice == 1:  # an anchor on one value, aliases to it elsewhere
        lines = [ln.replace(": ", ": &a ", 1) if i == at else ln for i, ln in enumerate(lines)]
        lines = [ln.replace(": ", ": *a #", 1) if i > at and draw(st.booleans()) else ln for i, ln in enumerate(lines)]
    elif choice == 2:  # an alias bomb, at the top level or inside a probe
        lines.insert(at, textwrap.indent(BOMB, "  " * draw(st.integers(0, 2))).rstrip("\n"))
    elif choice == 3:  # deep nesting in place of a value
        depth = draw(st.sampled_from([10, 49, 50, 51, 3000]))
        lines.insert(at, "name: " + "[" * depth + "]" * draw(st.sampled_from([0, depth])))
    elif choice == 4:  # truncated
        return "\n".join(lines)[: draw(st.integers(0, sum(map(len, lines))))]
    elif choice == 5:  # a number too long for Python to read as an int
        lines = [re.sub(r"\b\d+\b", "9" * 5000, ln, count=1) if i == at else ln for i, ln in enumerate(lines)]
    elif choice == 6:  # a duplicated line
        if lines:
            lines.insert(at, lines[min(at, len(lines) - 1)])
    else:  # a tag
        lines.insert(at, draw(st.sampled_from(["name: !!python/object:os.system x", "name: !!binary zz",
                                               "x: !!set {a, b}", "name: !custom x", "<<: {name: y}"])))
    return "\n".join(lines) + "\n"


def test_the_seed_suites_are_valid():
    for text in SEED_TEXTS:
        assert isinstance(parse_suite(text, "seed.yaml"), Suite)


@FUZZ
@given(mutated_data())
def test_structure_mutations_load_or_refuse(text):
    loads_or_refuses(text)


@FUZZ
@given(mutated_text())
def test_text_mutations_load_or_refuse(text):
    loads_or_refuses(text)


@settings(max_examples=100, deadline=timedelta(seconds=2), database=None)
@given(st.text(max_size=200))
def test_arbitrary_text_loads_or_refuses(text):
    loads_or_refuses("clipsafety: 1\n" + text)
