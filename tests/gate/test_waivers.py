"""Waivers files: reading (errors name file:line, field, fix), matching, and what fails the run."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest

from clipsafety.util import limits
from clipsafety.util.errors import ClipSafetyError
from clipsafety.gate.waivers import load_waivers, parse_waivers

TODAY = dt.date(2026, 11, 30)
FINGERPRINT = "3f2a9c01" + "0" * 56
ENTRY = """\
  - check: no-lean
    prompt: a-doctor
    model: toyclip-biased
    reason: known colour lean, retraining planned
    owner: ana@example.com
    expires: 2026-12-31
"""


def waivers(*entries: str, path: str = "waivers.yaml"):
    return parse_waivers("waivers:\n" + "".join(entries), path)


def entry(**changes) -> str:
    """ENTRY with fields replaced (value None: the field removed)."""
    lines = []
    for line in ENTRY.splitlines():
        key = line.strip().lstrip("- ").split(":")[0]
        if key in changes:
            value = changes.pop(key)
            if value is None:
                continue
            line = line.split(":")[0] + f": {value}"
        lines.append(line)
    lines += [f"    {key}: {value}" for key, value in changes.items()]
    if not lines[0].lstrip().startswith("- "):
        lines[0] = "  - " + lines[0].lstrip()
    return "\n".join(lines) + "\n"


def match(w, check="no-lean", prompt="a-doctor", suite="toy-planted-bias", model="toyclip-biased",
          fingerprint=FINGERPRINT, today=TODAY):
    return w.match(check, prompt, suite, model, fingerprint, today)


# -- reading ---------------------------------------------------------------------------------------


def test_a_waiver_is_read_with_its_fields_and_line(tmp_path):
    path = tmp_path / "waivers.yaml"
    path.write_text("# accepted failures\nwaivers:\n" + ENTRY + entry(check="reached", prompt=None, ticket="S-1"))
    loaded = load_waivers(path)
    first, second = loaded.entries
    assert (first.check, first.prompt, first.suite, first.model) == ("no-lean", "a-doctor", "*", "toyclip-biased")
    assert first.reason == "known colour lean, retraining planned" and first.owner == "ana@example.com"
    assert first.expires == dt.date(2026, 12, 31) and first.ticket is None
    assert first.where == f"{path}:3" and second.where == f"{path}:9"
    assert second.prompt == "*" and second.ticket == "S-1"


def test_an_empty_file_or_list_waives_nothing():
    assert parse_waivers("").entries == ()
    assert parse_waivers("waivers:\n").entries == ()
    assert parse_waivers("waivers: []\n").entries == ()


@pytest.mark.parametrize("text, where, words", [
    (entry(reason=None), ":2", ["waivers[0].reason", "missing 'reason'"]),
    (entry(owner='""'), ":6", ["waivers[0].owner", "non-empty text"]),
    (entry(expires="next week"), ":7", ["waivers[0].expires", "expected a date", "YYYY-MM-DD"]),
    (entry(expires="2026-12-31 10:00:00"), ":7", ["waivers[0].expires", "expected a date"]),
    (entry(reasn="typo"), ":8", ["waivers[0].reasn", "did you mean 'reason'"]),
    (entry(check="[a, b]"), ":2", ["waivers[0].check", "expected a single value, got a list"]),
    (entry(check="!!python/name:os.system x"), ":2", ["!!python/name:os.system", "not allowed", "remove the tag"]),
    (entry(model=12345678), ":4", ["waivers[0].model", "non-empty text", "quote it"]),
])
def test_a_bad_entry_names_file_line_field_and_fix(text, where, words):
    with pytest.raises(ClipSafetyError) as info:
        waivers(text)
    message = str(info.value)
    assert message.startswith("waivers.yaml" + where + ": "), message
    for word in words:
        assert word in message
    assert "Traceback" not in message


@pytest.mark.parametrize("text, words", [
    ("- check: x\n", ["waivers.yaml:1", "expected a mapping", "waivers:"]),
    ("waivers: {check: x}\n", ["waivers.yaml:1", "expected a list of waivers"]),
    ("waiver:\n" + ENTRY, ["waivers.yaml:1", "unknown key 'waiver'", "did you mean 'waivers'"]),
    ("waivers:\n  - check: [unclosed\n", ["waivers.yaml:", "YAML syntax error"]),
])
def test_a_bad_file_shape_is_one_clear_message(text, words):
    with pytest.raises(ClipSafetyError) as info:
        parse_waivers(text, "waivers.yaml")
    for word in words:
        assert word in str(info.value), str(info.value)


def test_missing_file_and_limits_are_refused(tmp_path, monkeypatch):
    with pytest.raises(ClipSafetyError, match="no such waivers file"):
        load_waivers(tmp_path / "absent.yaml")
    monkeypatch.setattr("clipsafety.gate.waivers.MAX_WAIVERS", 2)
    with pytest.raises(ClipSafetyError, match=r"3 waivers is more than the limit of 2 \(MAX_WAIVERS\)"):
        waivers(ENTRY, ENTRY, ENTRY)
    big = tmp_path / "big.yaml"
    big.write_text("#" * (limits.MAX_WAIVERS_BYTES + 1))
    with pytest.raises(ClipSafetyError, match="MAX_WAIVERS_BYTES"):
        load_waivers(big)


# -- matching --------------------------------------------------------------------------------------


def test_a_waiver_matches_its_check_prompt_and_model_only():
    w = waivers(ENTRY)
    assert match(w) is w.entries[0]
    assert match(w, check="reached") is None
    assert match(w, prompt="a-nurse") is None
    assert match(w, model="toyclip-fair", fingerprint="ff" * 32) is None


def test_prompt_suite_and_model_take_globs_and_default_to_any():
    w = waivers(entry(prompt=None, model="'toyclip-*'", suite="toy-*"))
    assert match(w, prompt="anything") is not None and match(w, model="toyclip-fair") is not None
    assert match(w, model="ViT-B-32") is None
    assert match(w, suite="gender-skew") is None


def test_a_model_is_matched_by_fingerprint_prefix():
    w = waivers(entry(model="'3f2a9c01'"))
    assert match(w, model="renamed-copy") is not None  # the weights, whatever their name
    assert match(w, model="renamed-copy", fingerprint="3f2a9c02" + "0" * 56) is None
    short = waivers(entry(model="'3f2a'"))  # too short to be a fingerprint: a name only
    assert match(short, model="renamed-copy") is None


def test_an_expired_waiver_waives_nothing():
    w = waivers(entry(expires="2026-11-29"))
    assert match(w, today=dt.date(2026, 11, 29)) is not None  # through its last day
    assert match(w, today=TODAY) is None


# -- what fails the run ----------------------------------------------------------------------------


def test_a_used_waiver_in_date_is_no_problem():
    w = waivers(ENTRY)
    assert w.problems(TODAY, {w.entries[0]}) == []


def test_an_expired_waiver_fails_the_run_with_its_name():
    w = waivers(entry(expires="2026-11-01"))
    (problem,) = w.problems(TODAY, set())
    assert problem.startswith("waivers.yaml:2: ")
    assert "check 'no-lean', prompt 'a-doctor'" in problem and "expired on 2026-11-01" in problem
    assert "owner: ana@example.com" in problem and "fix:" in problem


def test_a_waiver_that_waived_nothing_fails_the_run():
    w = waivers(ENTRY, entry(check="reached", prompt=None))
    (problem,) = w.problems(TODAY, {w.entries[0]})
    assert problem.startswith("waivers.yaml:8: ") and "check 'reached'" in problem
    assert "waived nothing in this run" in problem


def test_a_waiver_for_a_suite_that_did_not_run_is_not_judged_on_use():
    w = waivers(entry(suite="gender-skew"), entry(check="reached"))
    problems = w.problems(TODAY, set(), suites=["toy-planted-bias"])
    assert len(problems) == 1 and "check 'reached'" in problems[0]  # the one with no suite is judged
    assert len(w.problems(TODAY, set(), suites=["gender-skew"])) == 2
    expired = waivers(entry(suite="gender-skew", expires="2026-01-01"))
    assert len(expired.problems(TODAY, set(), suites=["toy-planted-bias"])) == 1  # expiry is judged always


def test_to_dict_keeps_what_the_record_needs():
    record = waivers(entry(ticket="S-1")).entries[0].to_dict()
    assert record["reason"] == "known colour lean, retraining planned" and record["expires"] == "2026-12-31"
    assert record["owner"] == "ana@example.com" and record["ticket"] == "S-1"
    assert record["where"] == "waivers.yaml:2"


def test_long_example_in_module_docstring_parses():
    import clipsafety.gate.waivers as module

    doc = module.__doc__
    example = textwrap.dedent(doc[doc.index("    waivers:"):doc.index("A failed check")])
    assert len(parse_waivers(example).entries) == 1


# -- the bounded reader: hostile or mistyped files are one clear message, never a crash ----------------------


@pytest.mark.parametrize("text, words", [
    ("waivers:\n  - check: " + "[" * 3000 + "]" * 3000 + "\n", ["waivers.yaml:2", "nested more than", "MAX_YAML_DEPTH"]),
    ("waivers:\n" + "  " + "- " * 400 + "x\n", ["waivers.yaml:2", "nested more than"]),
    ("a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
     "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
     "e: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n", ["waivers.yaml:", "MAX_YAML_NODES"]),
    (entry(expires="2026-02-30"), ["waivers.yaml:7", "waivers[0].expires", "YYYY-MM-DD"]),
    (entry(owner="!!int abc"), ["waivers.yaml:6", "waivers[0].owner", "cannot read"]),
    (entry(check="!!python/name:os.system x"), ["waivers.yaml:2", "!!python/name:os.system", "not allowed"]),
    (entry(reason='"known\\x1b[2Jcleared"'), ["waivers.yaml:5", "waivers[0].reason", "U+001B"]),
    (entry(owner='"ana\\u009b31m"'), ["waivers.yaml:6", "waivers[0].owner", "U+009B"]),
])
def test_a_hostile_waivers_file_is_one_clear_message(text, words):
    with pytest.raises(ClipSafetyError) as info:
        text = text if text.startswith(("waivers", "a:")) else "waivers:\n" + text
        parse_waivers(text, "waivers.yaml")
    for word in words:
        assert word in str(info.value), str(info.value)


def test_two_waivers_on_one_line_are_judged_each_on_its_own():
    one = "{check: no-lean, model: m, reason: r, owner: o, expires: 2026-12-31}"
    w = parse_waivers(f"waivers: [{one}, {one.replace('no-lean', 'other')}]\n", "waivers.yaml")
    first, second = w.entries
    assert first.where != second.where and first.where.startswith("waivers.yaml:1")
    from clipsafety.gate.verdict import gate_lines
    from clipsafety.results.record import ModelInfo, SuiteInfo

    record = type("R", (), {"waiver": type("W", (), {"where": first.where})(), "suite_path": "s", "outcome": "waived",
                            "suite": "s", "reason": None})()
    _, problems = gate_lines([record], {"s": SuiteInfo("s")}, ModelInfo(name="m"), (), w, today=TODAY)
    assert len(problems) == 1 and "check 'other'" in problems[0]
