"""The plugin follows pytest's own conventions: the number on the failure's first line, -q, --tb, skip
locations, usage errors, and counts that agree with their nouns."""

from __future__ import annotations

import pytest

from clipsafety.models.testing import write_tiny_model_folder

SUITE = """
clipsafety: 1
name: smoke
inversion:
  profile: paper
  seeds: 2
  overrides: {steps: 2, init_size: 16, upscale_steps: [], copies: 2}
probes:
  sim: {type: similarity}
prompts:
  - a dog
  - {id: cat, text: a cat}
checks:
  - {id: reached, metric: sim.mean, op: ">", threshold: -1.0}
  - {id: impossible, metric: sim.min, op: ">", threshold: 0.99, prompts: [cat]}
"""


@pytest.fixture
def run(pytester):
    write_tiny_model_folder(pytester.path / "tiny")
    pytester.makefile(".yaml", smoke=SUITE)

    def go(*args):
        return pytester.runpytest("--clip-model=local-dir:tiny", "-p", "no:cacheprovider", "--clip-report=", *args)

    return go


def test_the_failure_first_line_and_the_short_summary_carry_the_number(run):
    out = run("-rA")
    out.assert_outcomes(passed=2, failed=1)
    text = out.stdout.str()
    failure = text.split(" impossible[cat] _")[1].splitlines()
    assert failure[1].startswith("sim.min ") and "<= 0.99 (point value)" in failure[1]
    assert "check impossible failed" in failure[2]
    summary = next(line for line in out.stdout.lines if line.startswith("FAILED smoke.yaml::impossible[cat] - "))
    assert summary.split(" - ", 1)[1].startswith("sim.min 0.") and "<= 0.99" in summary


def test_progress_lines_never_split_pytests_line(run):
    out = run()
    lines = out.stdout.lines
    first = lines.index(next(line for line in lines if line.startswith("clipsafety: inverting")))
    assert lines[first - 1].strip() == "smoke.yaml"
    dots = lines[first + 2]
    assert dots.startswith("smoke.yaml ..F") and "[100%]" in dots
    assert not any(line.strip() in (".", ".F") for line in lines)


def test_tb_line_short_and_no_are_honoured(run):
    line = run("--tb=line").stdout.str()
    assert line.count("smoke.yaml:14: sim.min") == 1 and "failing seeds" not in line
    short = run("--tb=short").stdout.str()
    assert "check impossible failed" in short and "failing seeds" not in short
    assert "smoke.yaml:14: sim.min" in short
    none = run("--tb=no").stdout.str()
    assert "FAILURES" not in none and "failing seeds" not in none


def test_quiet_leaves_the_plugin_one_line(run):
    out = run("-q", "--clip-results=r.json")
    lines = [line for line in out.stdout.lines if line.startswith("clipsafety")]
    assert len(lines) == 1 and lines[0].startswith("clipsafety: 3 cases; results r.json")


def test_a_skip_points_at_the_suite_line(pytester, run):
    pytester.makefile(".yaml", smoke=SUITE.replace("name: smoke", "name: smoke\napplies_to: [toy]"))
    out = run("-rs")
    out.assert_outcomes(skipped=3)
    out.stdout.fnmatch_lines(["SKIPPED ?2? smoke.yaml:14: *", "SKIPPED ?1? smoke.yaml:15: *"])
    assert "pytest_run.py" not in out.stdout.str()


def test_a_usage_error_prints_as_pytest_prints_its_own(pytester):
    pytester.makefile(".yaml", smoke=SUITE)
    out = pytester.runpytest("--clip-model=ViT-B-23", "-p", "no:cacheprovider")
    assert out.ret == pytest.ExitCode.USAGE_ERROR
    text = out.stdout.str() + out.stderr.str()
    assert "ERROR: clipsafety: unknown model 'ViT-B-23'" in text
    assert "_pytest.outcomes.Exit" not in text and "Traceback" not in text


def test_counts_agree_with_their_nouns(pytester, run):
    pytester.makefile(".yaml", smoke=SUITE.replace("prompts: [cat]}", "prompts: [cat]}").replace(
        "  - a dog\n", ""))
    out = run("-k", "reached")
    out.stdout.fnmatch_lines(["clipsafety: 1 case; 2 images inverted*"])
    assert "1 cases" not in out.stdout.str()


def test_no_pretrained_tag_is_spelled_one_way(pytester, run):
    import xml.etree.ElementTree as ET

    from clipsafety.gate.baseline import baseline_notes
    from clipsafety.results.record import ModelInfo, Results

    out = run("--junitxml=out.xml")
    out.stdout.fnmatch_lines(["clipsafety: model local-dir:tiny (pretrained: none), *"])
    props = {p.get("name"): p.get("value") for p in ET.parse(pytester.path / "out.xml").getroot().iter("property")}
    assert props["clipsafety.model.pretrained"] == "none"
    note = baseline_notes(Results(provenance=_provenance(ModelInfo(name="toyclip-fair")), cases=()), ModelInfo(), {})[0]
    assert "(pretrained none," in note


def _provenance(model):
    import dataclasses

    from clipsafety.results.files import read_results

    return dataclasses.replace(read_results(_fixture("compared.json")).provenance, model=model)


def _fixture(name):
    from pathlib import Path

    return str(Path(__file__).parents[1] / "report" / "fixtures" / name)
