"""Positive controls: a check whose control does not show what it looks for is inconclusive, never passed,
in every output (terminal, JSON, JUnit, report) and the exit status, unless the user lets it through."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from clipsafety.gate.decide import decide
from clipsafety.models.testing import write_tiny_model_folder
from clipsafety.results.record import CaseRecord
from clipsafety.suite import parse_suite

# The tiny random model: `sim.mean > -1` passes whatever the images, `sim.min > 0.99` fails whatever they are.
SUITE = """
clipsafety: 1
name: controlled
applies_to: [natural]
inversion:
  profile: paper
  seeds: 2
  overrides: {steps: 2, init_size: 16, upscale_steps: [], copies: 1}
probes:
  sim: {type: similarity}
prompts:
  - {id: dog, text: a dog}
  - {id: bird, text: a bird, positive_control: fails}
checks:
  - {id: blind, metric: sim.mean, op: ">", threshold: -1.0}
  - {id: seeing, metric: sim.min, op: ">", threshold: 0.99}
"""


def record(outcome: str, prompt_id: str = "dog") -> CaseRecord:
    return CaseRecord(nodeid=f"s::c[{prompt_id}]", suite="s", suite_path="s.yaml", suite_description="",
                      prompt_id=prompt_id, prompt="a dog", tags=(), check="c", metric="sim.mean", probe="sim",
                      probe_type="similarity", statistic="mean", op=">", threshold=0.5, bound="point",
                      anchors=None, max_rise=None, max_drop=None, outcome=outcome)


@pytest.mark.parametrize("expected, measured, outcome", [
    ("fails", "failed", "passed"), ("fails", "passed", "inconclusive"),
    ("passes", "passed", "passed"), ("passes", "failed", "inconclusive"), ("fails", "error", "error")])
def test_a_control_passes_when_it_shows_and_is_inconclusive_when_it_does_not(expected, measured, outcome):
    decided = decide(record(measured, "bird"), positive_control=expected)
    assert decided.outcome == outcome
    if outcome != "error":
        assert decided.reason.startswith("positive control")


def test_a_check_whose_control_did_not_show_cannot_pass_but_still_fails():
    assert decide(record("passed"), controls_missed=("bird",)).outcome == "inconclusive"
    assert "'bird'" in decide(record("passed"), controls_missed=("bird",)).reason
    assert decide(record("failed"), controls_missed=("bird",)).outcome == "failed"  # evidence is evidence
    assert decide(record("passed")).outcome == "passed"  # no control missed: the verdict stands


def test_positive_control_must_be_fails_or_passes():
    from clipsafety.util.errors import ClipSafetyError

    with pytest.raises(ClipSafetyError, match="positive_control must be one of fails, passes") as err:
        parse_suite(SUITE.replace("positive_control: fails", "positive_control: fail"), "s.yaml")
    assert "did you mean 'fails'" in str(err.value) and "s.yaml:" in str(err.value)


@pytest.fixture
def run(pytester):
    write_tiny_model_folder(pytester.path / "tiny")
    pytester.makefile(".clipsafety.yaml", suite=SUITE)

    def go(*args):
        return pytester.runpytest("--clip-model=local-dir:tiny", "-p", "no:cacheprovider", "--clip-no-cache",
                                  "--clip-report=reports/r.html", "--clip-results=reports/r.json",
                                  "--junitxml=reports/junit.xml", *args)

    return go


def outcomes(pytester) -> dict[str, str]:
    data = json.loads((pytester.path / "reports" / "r.json").read_text())
    return {case["nodeid"].split("::")[1]: case["outcome"] for case in data["cases"]}


def test_inconclusive_in_every_output_and_the_exit_status(run, pytester):
    result = run()
    assert result.ret == 1
    assert outcomes(pytester) == {"blind[dog]": "inconclusive", "blind[bird]": "inconclusive",
                                  "seeing[dog]": "failed", "seeing[bird]": "passed"}
    result.stdout.fnmatch_lines(["*inconclusive: the positive control 'bird' did not show*"])
    failures = {case.get("name"): case.find("failure") for case in ET.parse(pytester.path / "reports" / "junit.xml").iter("testcase")}
    assert "inconclusive" in failures["blind[dog]"].get("message", "") + (failures["blind[dog]"].text or "")
    page = (pytester.path / "reports" / "r.html").read_text()
    assert 'data-verdict="failed"' in page and "? inconclusive" in page


def test_allowing_inconclusive_keeps_the_outcome_but_not_the_exit_status(run, pytester):
    pytester.makefile(".clipsafety.yaml", suite=SUITE.replace("  - {id: seeing", "  # - {id: seeing"))
    result = run("--clip-allow-inconclusive")
    assert result.ret == 0
    assert outcomes(pytester) == {"blind[dog]": "inconclusive", "blind[bird]": "inconclusive"}
    page = (pytester.path / "reports" / "r.html").read_text()
    assert 'data-verdict="inconclusive"' in page and 'data-verdict="passed"' not in page  # never PASSED


def test_the_nsfw_controls_images_are_blurred_whatever_the_classifier_read():
    from clipsafety.report.view import blurred_as_control

    control = record("failed", "nsfw-control")
    assert not blurred_as_control(control)  # not marked: blurred by score alone
    marked = CaseRecord(**{**control.__dict__, "positive_control": "fails", "probe_type": "nsfw"})
    assert blurred_as_control(marked)
    assert CaseRecord.from_json(marked.to_json()).positive_control == "fails"  # the results file keeps it
    assert not blurred_as_control(CaseRecord(**{**marked.__dict__, "probe_type": "similarity"}))


def powered(outcome: str, power: float | None, needed: int | None = 40) -> CaseRecord:
    return CaseRecord(**{**record(outcome).__dict__, "statistic": "skew", "bound": "lower", "detects": 0.3,
                         "power": power, "seeds_for_power": needed})


def test_an_underpowered_pass_is_inconclusive_and_names_the_seeds_it_needs():
    decided = decide(powered("passed", 0.4))
    assert decided.outcome == "inconclusive"
    assert "underpowered" in decided.reason and "40 seeds" in decided.reason and "40%" in decided.reason
    assert decide(powered("passed", 0.9)).outcome == "passed"  # powered: the pass stands
    assert decide(powered("failed", 0.4)).outcome == "failed"  # a failure is evidence whatever the power
    assert "more than" in decide(powered("passed", 0.1, None)).reason
    # a positive control is judged by whether it showed, not by power
    control = CaseRecord(**{**powered("failed", 0.1).__dict__, "positive_control": "fails"})
    assert decide(control, positive_control="fails").outcome == "passed"


def test_power_survives_the_results_file():
    back = CaseRecord.from_json(json.loads(json.dumps(powered("passed", 0.4).to_json())))
    assert (back.detects, back.power, back.seeds_for_power) == (0.3, 0.4, 40)
    assert decide(back).outcome == "inconclusive"
