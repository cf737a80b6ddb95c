"""Property: any mutation of a valid waivers file reads, or fails with one ClipSafetyError naming the
file; quickly. And what it reads is what the run may trust: every waiver has its required fields as
text without control characters, a real date, and a `where` of its own.

Mutations: values swapped for values of other types (huge numbers, NaN, empty, nested, dates that
do not exist, !!tags), random unicode and control characters, anchors, aliases and bombs, deep
nesting, truncation, and several waivers on one line. Never another exception, never a hang.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import textwrap
from datetime import timedelta

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clipsafety.gate.waivers import REQUIRED, Waivers, parse_waivers
from clipsafety.util.errors import ClipSafetyError
from clipsafety.util.text import CONTROL_CHARACTER

SEED = textwrap.dedent("""\
    waivers:
      - check: no-lean
        suite: toy-planted-bias
        prompt: a-doctor
        model: toyclip-biased
        reason: known colour lean, retraining planned
        owner: ana@example.com
        expires: 2026-12-31
        ticket: SAFETY-123
      - {check: "no-*", model: 3f2a9c01, reason: r, owner: o, expires: 2027-01-01}
    """)
SEED_DATA = yaml.safe_load(SEED)

FUZZ = settings(max_examples=200, deadline=timedelta(seconds=2), database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

ODD_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.sampled_from([0, -1, 10**30, 10**4000]),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([1e308, math.nan]),
    st.text(max_size=30), st.sampled_from(["", " ", "x" * 5000, "\x1b[2J", "a\x9bb", "\u202e", "2026-02-30"]),
    st.dates(), st.datetimes(), st.lists(st.integers(), max_size=5), st.just([]), st.just({}), st.just([[[[]]]]),
    st.dictionaries(st.text(max_size=8), st.integers(), max_size=3),
)
RAW_VALUES = st.sampled_from(["2026-02-30", "!!int abc", "!!float x", "!!timestamp 2026-13-01", "!!binary ~~",
                              "!!python/name:os.system x", "'a\\x1b'", '"a\\x1bb"', '"\\ud800"', "&a x", "*a",
                              "[" * 60, "[" * 3000 + "]" * 3000, "{a: &b [*b]}", "<<: {a: 1}", "9" * 5000])


def reads_or_refuses(text: str) -> Waivers | None:
    try:
        read = parse_waivers(text, "fuzz-waivers.yaml")
    except ClipSafetyError as err:
        message = str(err)
        assert message.strip() and "fuzz-waivers.yaml" in message, message
        return None
    assert isinstance(read, Waivers)
    for waiver in read.entries:
        for field in REQUIRED[:-1]:
            value = getattr(waiver, field)
            assert isinstance(value, str) and value.strip() and not CONTROL_CHARACTER.search(value)
        assert type(waiver.expires) is dt.date
    assert len({w.where for w in read.entries}) == len(read.entries)  # use is tracked by where
    return read


@st.composite
def mutated_data(draw) -> str:
    tree = copy.deepcopy(SEED_DATA)
    for _ in range(draw(st.integers(1, 3))):
        entries = tree.get("waivers") if isinstance(tree, dict) else None
        if not isinstance(entries, list) or not entries or not isinstance(entries[0], dict):
            break
        entry = entries[draw(st.integers(0, len(entries) - 1))]
        if not isinstance(entry, dict) or not entry:
            break
        key = draw(st.sampled_from(sorted(entry, key=str)))
        if draw(st.booleans()):
            del entry[key]
        else:
            entry[key] = copy.deepcopy(draw(ODD_VALUES))
    return yaml.safe_dump(tree, allow_unicode=True, sort_keys=False)


@st.composite
def mutated_text(draw) -> str:
    lines = SEED.splitlines()
    at = draw(st.integers(1, len(lines) - 1))
    choice = draw(st.integers(0, 4))
    if choice == 0:  # a raw value: a tag, a date that does not exist, a control character, nesting
        key = lines[at].split(":")[0]
        lines[at] = f"{key}: {draw(RAW_VALUES)}" if ":" in lines[at] else lines[at]
    elif choice == 1:  # random unicode, anywhere in a line
        cut = draw(st.integers(0, len(lines[at])))
        lines[at] = lines[at][:cut] + draw(st.text(min_size=1, max_size=10)) + lines[at][cut:]
    elif choice == 2:  # truncated
        return "\n".join(lines)[: draw(st.integers(0, len(SEED)))]
    elif choice == 3:  # the flow-style waiver repeated on one line
        flow = lines[-1].strip()[2:]
        return "waivers: [" + ", ".join([flow] * draw(st.integers(2, 4))) + "]\n"
    else:  # an alias bomb
        bomb = "b0: &b0 [x, x, x, x, x, x, x, x]\n" + "".join(
            f"b{i}: &b{i} [{', '.join([f'*b{i - 1}'] * 8)}]\n" for i in range(1, 7))
        return bomb + SEED
    return "\n".join(lines) + "\n"


@FUZZ
@given(mutated_data())
def test_a_mutated_waivers_file_reads_or_is_refused_with_one_message(text):
    reads_or_refuses(text)


@FUZZ
@given(mutated_text())
def test_a_mutated_waivers_text_reads_or_is_refused_with_one_message(text):
    reads_or_refuses(text)


@FUZZ
@given(st.text(max_size=200))
def test_any_text_reads_or_is_refused_with_one_message(text):
    reads_or_refuses(text)


def test_the_seed_reads():
    assert len(reads_or_refuses(SEED).entries) == 2
