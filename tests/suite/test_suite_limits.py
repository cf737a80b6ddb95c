"""Hostile or mistyped suites are refused fast, with file:line, and within named limits."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest

from clipsafety.util import limits
from clipsafety.util.errors import SuiteError
from clipsafety.suite import is_suite_file, load_suite, parse_suite
from clipsafety.suite.bounded_yaml import compose
from clipsafety.util.text import has_hidden_characters, visible_text

CORPUS = Path(__file__).parents[1] / "malformed_suites"

SUITE = textwrap.dedent(
    """\
    clipsafety: 1
    name: limits
    probes:
      nsfw: {}
    prompts:
      - a doctor
    checks:
      - {metric: nsfw.max, op: "<=", threshold: 0.5}
    """
)


def alias_levels(levels: int, width: int = 9) -> str:
    """A YAML flow list whose aliases expand to about width**levels values."""
    lines = [f"l0: &l0 [{', '.join(['x'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


# -- expanded nodes and depth -------------------------------------------------------------


@pytest.mark.parametrize("name", ["alias_bomb_in_probe_setting.yaml", "deep_nesting.yaml"])
def test_bombs_are_refused_in_well_under_a_second(name):
    started = time.process_time()  # CPU time: other processes on the machine do not count
    with pytest.raises(SuiteError):
        load_suite(CORPUS / name)
    assert time.process_time() - started < 0.2


def test_aliases_count_at_every_use():
    # 9 + 9*10 + ... : three levels of nine expand to 820 values, well under the limit
    assert compose(alias_levels(3), "a.yaml") is not None
    with pytest.raises(SuiteError, match=r"a.yaml:5: the suite expands to more than 20,000 YAML values"):
        compose(alias_levels(9), "a.yaml")


def test_node_limit_counts_plain_values_too(monkeypatch):
    monkeypatch.setattr(limits, "MAX_YAML_NODES", 100)
    assert compose("[" + ", ".join(["x"] * 98) + "]", "a.yaml") is not None
    with pytest.raises(SuiteError, match="more than 100 YAML values"):
        compose("[" + ", ".join(["x"] * 100) + "]", "a.yaml")


def test_depth_limit_is_exact():
    depth = limits.MAX_YAML_DEPTH
    assert compose("[" * depth + "]" * depth, "a.yaml") is not None
    with pytest.raises(SuiteError, match=f"nested more than {depth} levels deep"):
        compose("[" * (depth + 1) + "]" * (depth + 1), "a.yaml")


def test_an_alias_adds_its_anchors_depth_where_it_is_used():
    depth = limits.MAX_YAML_DEPTH
    anchor = "a: &deep " + "[" * (depth - 1) + "]" * (depth - 1) + "\n"  # fits at depth 2
    assert compose(anchor + "b: *deep\n", "a.yaml") is not None
    with pytest.raises(SuiteError, match=r"a.yaml:2: the YAML is nested more than"):
        compose(anchor + "b: [*deep]\n", "a.yaml")


def test_a_suite_larger_than_the_byte_limit_is_refused_unread(tmp_path, monkeypatch):
    path = tmp_path / "big.clipsafety.yaml"
    path.write_text(SUITE + "#" * 500 + "\n")
    monkeypatch.setattr(limits, "MAX_SUITE_BYTES", 400)
    with pytest.raises(SuiteError, match="larger than the limit of 400 bytes"):
        load_suite(path)
    path.write_text(SUITE)
    assert load_suite(path).name == "limits"


# -- prompts, checks and seeds -------------------------------------------------------------


def test_prompt_and_check_limits(monkeypatch):
    monkeypatch.setattr(limits, "MAX_PROMPTS", 2)
    monkeypatch.setattr(limits, "MAX_CHECKS", 1)
    assert parse_suite(SUITE.replace("  - a doctor\n", "  - a doctor\n  - a nurse\n"), "s.yaml")
    with pytest.raises(SuiteError, match=r"s.yaml:6: prompts: 3 prompts is more than the limit of 2 \(MAX_PROMPTS\)"):
        parse_suite(SUITE.replace("  - a doctor\n", "  - a doctor\n  - a nurse\n  - a cook\n"), "s.yaml")
    with pytest.raises(SuiteError, match=r"2 checks is more than the limit of 1 \(MAX_CHECKS\)"):
        parse_suite(SUITE + '  - {metric: nsfw.mean, op: "<=", threshold: 0.5}\n', "s.yaml")


def test_seed_limit_can_be_raised_deliberately(monkeypatch):
    text = SUITE.replace("probes:", "inversion: {seeds: 2000}\nprobes:")
    with pytest.raises(SuiteError, match="CLIPSAFETY_MAX_SEEDS=N"):
        parse_suite(text, "s.yaml")
    monkeypatch.setattr(limits, "MAX_SEEDS", 5000)
    assert parse_suite(text, "s.yaml").inversion.seeds == 2000


# -- overrides against the profile they will meet -----------------------------------------------


def test_overrides_that_suit_every_default_profile_load():
    text = SUITE.replace("probes:", "inversion: {overrides: {steps: 10, scale_min: 1.0}}\nprobes:")
    assert parse_suite(text, "s.yaml").inversion.overrides == {"steps": 10, "scale_min": 1.0}


def test_a_named_profile_is_the_only_one_checked():
    # scale_min 1.1 exceeds the toy profile's scale_max (1.0) but not the paper profile's (1.2)
    text = SUITE.replace("probes:", "inversion: {profile: paper, overrides: {scale_min: 1.1}}\nprobes:")
    assert parse_suite(text, "s.yaml").inversion.profile == "paper"
    only_natural = SUITE.replace("probes:", "applies_to: natural\ninversion: {overrides: {scale_min: 1.1}}\nprobes:")
    assert parse_suite(only_natural, "s.yaml").applies_to == ("natural",)
    with pytest.raises(SuiteError, match="with the profile 'toy': invalid inversion settings"):
        parse_suite(text.replace("profile: paper", "profile: toy"), "s.yaml")


# -- files: encoding, characters, names ------------------------------------------------------


def test_non_utf8_suite_error_names_the_line(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("clipsafety: 1\nname: x\ndescription: caf\xe9\n".encode("latin-1"))
    with pytest.raises(SuiteError, match=r"latin1.yaml:3: the suite file is not UTF-8 text \(byte 0xE9 on line 3"):
        load_suite(path)


def test_a_raw_control_character_in_the_file_is_named_by_its_line(tmp_path):
    path = tmp_path / "nul.yaml"
    path.write_text(SUITE.replace("a doctor", "a doctor\x00"))
    with pytest.raises(SuiteError, match=r"nul.yaml:6: the file contains the character U\+0000"):
        load_suite(path)


def test_bidi_and_zero_width_characters_load_and_show_escaped():
    suite = parse_suite(SUITE.replace("a doctor", '"a \u202eesrun\u200b"'), "s.yaml")
    text = suite.prompts[0].text
    assert text == "a \u202eesrun\u200b" and has_hidden_characters(text)
    assert visible_text(text) == "a <U+202E>esrun<U+200B>"


@pytest.mark.parametrize("char", ["\u202e", "\u2066", "\u200b", "\u200d", "\ufeff", "\u00ad", "\x1b", "\u2028", "\u3164"])
def test_visible_text_escapes_every_hidden_kind(char):
    assert visible_text(f"a{char}b") == f"a<U+{ord(char):04X}>b"


def test_visible_text_leaves_ordinary_text_alone():
    for text in ["a doctor", "un médecin", "طبيب", "医生", "line\nbreak\ttab", "👩‍⚕️"[0]]:
        assert visible_text(text) == text


@pytest.mark.parametrize("text", ["", "- a list\n", "name: x\n", "just text\n"])
def test_a_file_named_as_a_suite_is_collected_whatever_it_holds(tmp_path, text):
    path = tmp_path / "x.clipsafety.yaml"
    path.write_text(text)
    assert is_suite_file(path)
    with pytest.raises(SuiteError, match="x.clipsafety.yaml:1: "):
        load_suite(path)


def test_empty_and_non_mapping_named_suites_are_collection_errors(pytester):
    pytester.makefile(".clipsafety.yaml", empty="# only a comment\n", alist="- a doctor\n")
    pytester.makefile(".yaml", unrelated="- a doctor\n")
    result = pytester.runpytest("--collect-only", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*alist.clipsafety.yaml:1: the top level of a suite must be a mapping*",
                                 "*empty.clipsafety.yaml:1: the suite file is empty*"])
    assert "unrelated" not in result.stdout.str()
    assert result.ret != 0


def test_inversion_settings_suggest_names_the_shared_way():
    from clipsafety.util.errors import ClipSafetyError
    from clipsafety.invert.settings import get_settings

    with pytest.raises(ClipSafetyError, match=r"unknown inversion profile 'papr' \(did you mean 'paper'\?\)"):
        get_settings("papr")
    with pytest.raises(ClipSafetyError, match=r"unknown inversion setting 'stpes' \(did you mean 'steps'\?\)"):
        get_settings("toy", stpes=3)
    assert get_settings("toy", steps=3).steps == 3


# -- a limit raised by an environment variable with a junk value --------------------------------------------------


@pytest.mark.parametrize("variable", ["CLIPSAFETY_MAX_SEEDS", "CLIPSAFETY_MAX_CONDITIONS", "CLIPSAFETY_MAX_MODEL_PARAMS"])
def test_a_junk_limit_leaves_unrelated_test_runs_alone_and_stops_a_clipsafety_run(pytester, monkeypatch, variable):
    monkeypatch.setenv(variable, "abc")
    pytester.makepyfile(test_unit="def test_ok():\n    pass\n")
    unrelated = pytester.runpytest_subprocess("-p", "no:cacheprovider", "test_unit.py")
    assert unrelated.ret == 0, unrelated.stderr.str()
    pytester.makefile(".yaml", smoke="clipsafety: 1\nname: s\napplies_to: [toy]\nprobes:\n  sim: {type: similarity}\n"
                      "prompts: [a doctor]\nchecks:\n  - {id: sim, metric: sim.mean, op: '>', threshold: -1}\n")
    suite = pytester.runpytest_subprocess("-p", "no:cacheprovider", "smoke.yaml", "--clip-no-cache")
    assert suite.ret == pytest.ExitCode.USAGE_ERROR
    text = suite.stdout.str() + suite.stderr.str()
    assert f"{variable}='abc'" in text and "fix:" in text and "Traceback" not in text
