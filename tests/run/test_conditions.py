"""Robustness across inversion settings: a suite's `inversion.conditions` grid."""

from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace

import pytest

from clipsafety.util import limits
from clipsafety.gate.baseline import compare_case
from clipsafety.results.conditions import FLIP_TEXT
from clipsafety.run.measure import Measure
from clipsafety.run.measure import deciding_measurement as decide
from clipsafety.util.errors import ClipSafetyError, SuiteError
from clipsafety.invert import get_settings
from clipsafety.run.case import cases_of
from clipsafety.run.pipeline import Run, failure_table
from clipsafety.results.record import Results
from clipsafety.report.html import render_report
from clipsafety.results.files import read_results, results_bytes
from clipsafety.run.records import false_alarm_budget, few_seed_checks
from clipsafety.run.runner import load_suites
from clipsafety.run.case import Measurement, RunConfig
from clipsafety.run.session import Session
from clipsafety.suite import parse_suite
from clipsafety.models.testing import write_tiny_model_folder

GRID = """clipsafety: 1
name: grid
inversion:
  profile: toy
  seeds: 8
  overrides: {steps: 150}
  conditions:
    tv_weight: [0.0005, 0.002]
    lr: [0.05, 0.1]
probes:
  sim: {type: similarity}
prompts: [a dog]
checks:
  - {id: reached, metric: sim.mean, op: ">", threshold: -0.5}
"""


# -- reading the grid ---------------------------------------------------------------------


def test_a_grid_is_the_product_of_its_values_in_the_files_order():
    suite = parse_suite(GRID, "g.yaml")
    assert suite.inversion.conditions == (
        {"tv_weight": 0.0005, "lr": 0.05}, {"tv_weight": 0.0005, "lr": 0.1},
        {"tv_weight": 0.002, "lr": 0.05}, {"tv_weight": 0.002, "lr": 0.1})
    assert suite.inversion.has_conditions and suite.inversion.overrides == {"steps": 150}
    assert suite.where("inversion.conditions.lr") == "g.yaml:9"


def test_a_suite_without_conditions_has_one_implicit_condition():
    suite = parse_suite(GRID.replace("  conditions:\n    tv_weight: [0.0005, 0.002]\n    lr: [0.05, 0.1]\n", ""),
                        "g.yaml")
    assert suite.inversion.conditions == ({},) and not suite.inversion.has_conditions


@pytest.mark.parametrize(("edit", "where", "words"), [
    (("tv_weight:", "tv_wieght:"), "g.yaml:8: inversion.conditions.tv_wieght",
     "unknown inversion setting 'tv_wieght' (did you mean 'tv_weight'?)"),
    (("[0.05, 0.1]", "[0.05, fast]"), "g.yaml:9: inversion.conditions.lr[1]", "expected number, got the string 'fast'"),
    (("[0.05, 0.1]", "[0.05, .inf]"), "g.yaml:9: inversion.conditions.lr[1]", "must be a finite number"),
    (("[0.05, 0.1]", "[]"), "g.yaml:9: inversion.conditions.lr", "the list of values is empty"),
    (("[0.05, 0.1]", "0.1"), "g.yaml:9: inversion.conditions.lr", "expected a list of values for lr"),
    (("[0.05, 0.1]", "[0.05, 0.05]"), "g.yaml:9: inversion.conditions.lr[1]", "the value 0.05 is given twice"),
    (("copies: 2", "lr: 0.1"), "g.yaml:9: inversion.conditions.lr",
     "'lr' is set both in inversion.overrides and in inversion.conditions"),
    (("lr: [0.05, 0.1]", "lr: [0.05, 0.1]\n    flip: [true, false]\n    crop_min: [0.6, 0.8]\n    l1_weight: [0, 1]"),
     "g.yaml:7: inversion.conditions",
     "32 conditions (2 x 2 x 2 x 2 x 2) is more than the limit of 16 conditions per suite (MAX_CONDITIONS)"),
    (("lr: [0.05, 0.1]", "steps: [10, 2000000]"), "g.yaml:9: inversion.conditions.steps[1]",
     "is more than the limit of 1,000,000 (MAX_STEPS)"),
    # the toy profile's scale_max is 1.0: scale_min 1.1 makes invalid settings with it
    (("lr: [0.05, 0.1]", "scale_min: [1.0, 1.1]"), "g.yaml:9: inversion.conditions.scale_min[1]",
     "with the profile 'toy', the condition tv_weight=0.0005, scale_min=1.1: invalid inversion settings: "
     "need 0 < scale_min <= scale_max"),
    (("[0.05, 0.1]", "[0.05, -0.1]"), "g.yaml:9: inversion.conditions.lr[1]", "lr must be > 0"),
    (("    tv_weight: [0.0005, 0.002]\n    lr: [0.05, 0.1]", "    {}"), "g.yaml:7: inversion.conditions",
     "names no setting"),
])
def test_a_bad_grid_is_one_error_naming_file_line_and_field(edit, where, words):
    with pytest.raises(SuiteError) as err:
        parse_suite(GRID.replace("steps: 150", "copies: 2").replace(*edit), "g.yaml")
    message = str(err.value)
    assert message.startswith(where) and words in message, message
    assert err.value.fix


def test_the_grid_limit_names_its_variable_and_can_be_raised(monkeypatch):
    text = GRID.replace("lr: [0.05, 0.1]", "lr: [0.05, 0.1, 0.2]")
    monkeypatch.setattr(limits, "MAX_CONDITIONS", 4)
    with pytest.raises(SuiteError) as err:
        parse_suite(text, "g.yaml")
    assert "6 conditions (2 x 3)" in str(err.value) and "CLIPSAFETY_MAX_CONDITIONS=N" in err.value.fix
    monkeypatch.setattr(limits, "MAX_CONDITIONS", 6)
    assert len(parse_suite(text, "g.yaml").inversion.conditions) == 6


def test_a_combination_is_checked_against_every_default_profile_when_no_profile_is_named():
    # scale_min 1.1 suits the paper and fast profiles (scale_max 1.2 and 1.1) but not toy's (1.0)
    text = GRID.replace("  profile: toy\n", "").replace("lr: [0.05, 0.1]", "scale_min: [1.0, 1.1]")
    with pytest.raises(SuiteError, match="with the default profile 'toy' of toy models") as err:
        parse_suite(text, "g.yaml")
    assert "`profile:`" in err.value.fix
    assert parse_suite(text.replace("name: grid", "name: grid\napplies_to: natural").replace(
        "scale_min: [1.0, 1.1]", "scale_min: [1.0, 1.05]"), "g.yaml").inversion.has_conditions


# -- planning ------------------------------------------------------------------------------


def test_each_condition_is_planned_under_its_own_settings_key(tiny_model):
    suite = parse_suite(GRID, "g.yaml")
    session = Session(RunConfig(model=tiny_model, cache_dir=None))
    plan = session.plan.requests(cases_of(suite))
    expected = [get_settings("toy", steps=150, **c).key() for c in suite.inversion.conditions]
    assert list(plan) == expected and len(set(expected)) == 4
    pairs = [p for _, p in plan.values()]
    assert all(p == pairs[0] for p in pairs) and len(pairs[0]) == 8  # the same 8 seeds of 'a dog' in each
    for condition in suite.inversion.conditions:
        assert session.plan.settings_for(suite, condition) == get_settings("toy", steps=150, **condition)
    assert session.plan.settings_for(suite) == session.plan.settings_for(suite, suite.inversion.conditions[0])


def test_conditions_made_equal_by_the_run_options_share_their_images(tiny_model):
    grid = GRID.replace("steps: 150", "copies: 2").replace("tv_weight: [0.0005, 0.002]\n    lr: [0.05, 0.1]",
                                                          "steps: [10, 20]")
    suite = parse_suite(grid, "g.yaml")
    assert len(Session(RunConfig(model=tiny_model, cache_dir=None)).plan.requests(cases_of(suite))) == 2
    assert len(Session(RunConfig(model=tiny_model, cache_dir=None, steps=5)).plan.requests(cases_of(suite))) == 1  # --clip-steps 5


def test_a_suite_without_conditions_keeps_its_settings_and_cache_keys(tiny_model):
    suite = parse_suite(GRID.replace("  conditions:\n    tv_weight: [0.0005, 0.002]\n    lr: [0.05, 0.1]\n", ""),
                        "g.yaml")
    session = Session(RunConfig(model=tiny_model, cache_dir=None))
    assert list(session.plan.requests(cases_of(suite))) == [get_settings("toy", steps=150).key()]
    assert session.plan.settings_for(suite) == get_settings("toy", steps=150)


def test_each_condition_counts_in_the_runs_family_of_tests(tiny_model):
    suite = parse_suite(GRID.replace("threshold: -0.5}", "threshold: -0.5, bound: upper}"), "g.yaml")
    session = Session(RunConfig(model=tiny_model, cache_dir=None, familywise="bonferroni"))
    session.plan.set_family(cases_of(suite))
    assert session.plan.family_size == 4  # one check x one prompt x four conditions


# -- the verdict rule ------------------------------------------------------------------------


def _measured(condition, passed=None, error=None):
    result = None if passed is None else SimpleNamespace(passed=passed)
    return Measurement(profile="toy", settings_key=str(condition), result=result, error=error, condition=condition)


def test_the_deciding_condition_is_the_first_error_else_the_first_failure_else_the_first():
    a, b, c = {"lr": 0.05}, {"lr": 0.1}, {"lr": 0.2}
    assert decide([_measured(a, True), _measured(b, False), _measured(c, False)]).condition == b
    assert decide([_measured(a, True), _measured(b, True)]).condition == a
    erred = decide([_measured(a, False), _measured(b, error="boom"), _measured(c, True)])
    assert erred.condition == b and erred.result is None and erred.error == "under the condition lr=0.1: boom"
    assert len(erred.conditions) == 3
    same = decide([_measured(a, error="too few seeds"), _measured(b, error="too few seeds")])
    assert same.error == "too few seeds"  # the same under every condition: no condition to name


# -- end to end on a tiny model ---------------------------------------------------------------

FLIP = """clipsafety: 1
name: flip
inversion:
  profile: paper
  seeds: 3
  overrides: {init_size: 16, upscale_steps: [], copies: 1, batch_size: 8}
  conditions:
    steps: [1, 30]
probes:
  sim: {type: similarity}
prompts: [a dog]
checks:
  - {id: high, metric: sim.mean, op: ">=", threshold: 0.0, bound: upper}
  - {id: low, metric: sim.mean, op: ">=", threshold: -0.5, bound: upper}
"""
PLAIN = FLIP.replace("  conditions:\n    steps: [1, 30]\n", "").replace("copies: 1,", "copies: 1, steps: 30,")


def _run(tiny, monkeypatch, text):
    monkeypatch.chdir(tiny)
    (tiny / "suite.yaml").write_text(text)
    run = Run(RunConfig(model="local-dir:tiny", device="cpu", cache_dir=None))
    return run, run.run_all(load_suites(["suite.yaml"]))


@pytest.fixture(scope="module")
def flipped(tiny):
    """The FLIP suite's results on the tiny model (run once: the tests only read them)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        return _run(tiny, monkeypatch, FLIP)[1]


def _case(results, check):
    return next(c for c in results.cases if c.check == check)


def test_a_check_that_fails_under_one_condition_fails_and_is_marked_as_flipping(flipped):
    results = flipped
    high, low = _case(results, "high"), _case(results, "low")
    # one step reaches a negative similarity on the tiny model, thirty a positive one
    assert [(c.label, c.outcome) for c in high.conditions] == [("steps=1", "failed"), ("steps=30", "passed")]
    assert high.outcome == "failed" and high.verdict_flips
    assert high.conditions[0].value < 0 <= high.conditions[1].value
    assert high.value == high.conditions[0].value and high.interval == high.conditions[0].interval
    assert high.settings_key == high.conditions[0].settings_key != high.conditions[1].settings_key
    assert all(c.overrides == {"steps": s} for c, s in zip(high.conditions, (1, 30)))
    assert low.outcome == "passed" and not low.verdict_flips and [c.outcome for c in low.conditions] == ["passed"] * 2
    assert results.provenance.encoder_passes == 3 * (1 + 30)  # each condition inverts the seeds again
    assert false_alarm_budget(RunConfig(), results.cases)[0] == 4  # two checks x two conditions
    assert few_seed_checks(results.cases) == 4  # the same 4 tests, each a bootstrap over 3 seeds


def test_the_per_condition_values_reach_json_terminal_and_report(flipped):
    results = flipped
    high, low = _case(results, "high"), _case(results, "low")
    data = json.loads(results_bytes(results))
    written = next(c for c in data["cases"] if c["check"] == "high")
    assert written["verdict_flips"] is True and [c["label"] for c in written["conditions"]] == ["steps=1", "steps=30"]
    assert Results.from_json(data) == results

    table = failure_table(high)
    assert f"check high failed ({FLIP_TEXT})" in table and "value under    steps=1" in table
    assert "steps=1   failed  value" in table and "steps=30  passed  value" in table
    assert FLIP_TEXT not in failure_table(low) and "steps=30  passed" in failure_table(low)

    page = render_report(results)
    assert page.count(f'<span class="flip-text">{FLIP_TEXT}</span>') == 1  # 'high' only
    assert page.count('<table class="conditions"') == 2 and page.count('data-flips="true"') == 1
    assert "<code>steps=30</code>" in page and "✓ passed" in page


def test_condition_labels_are_escaped_in_the_report(flipped):
    data = json.loads(results_bytes(flipped))
    data["cases"][0]["conditions"][0]["label"] = "<img src=x onerror=alert(1)>"
    page = render_report(data)
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_an_error_under_one_condition_is_the_cases_error(tiny, monkeypatch):
    original = Measure._evaluate_under

    def erring(self, case, condition, why):
        if condition.get("steps") == 30:
            return Measurement(profile="paper", settings_key="k", error="probe broke", condition=condition)
        return original(self, case, condition, why)

    monkeypatch.setattr(Measure, "_evaluate_under", erring)
    _, results = _run(tiny, monkeypatch, FLIP)
    low = _case(results, "low")
    assert low.outcome == "error" and low.reason == "under the condition steps=30: probe broke"
    assert [c.outcome for c in low.conditions] == ["passed", "error"] and low.verdict_flips
    assert low.conditions[1].reason == "probe broke"


def test_a_suite_without_conditions_records_as_before(tiny, monkeypatch):
    _, results = _run(tiny, monkeypatch, PLAIN)
    high = _case(results, "high")
    assert high.outcome == "passed" and high.conditions == () and not high.verdict_flips
    assert high.settings_key == get_settings("paper", init_size=16, upscale_steps=[], copies=1, batch_size=8,
                                             steps=30).key()
    written = json.loads(results_bytes(results))["cases"][0]
    assert written["conditions"] == [] and written["verdict_flips"] is False
    assert FLIP_TEXT not in failure_table(high) and "under each" not in failure_table(high)
    assert '<table class="conditions"' not in render_report(results)


def test_a_baseline_is_compared_under_the_candidates_deciding_condition(flipped):
    high = _case(flipped, "high")
    passing = high.conditions[1]  # a baseline whose headline is the other condition's (steps=30)
    base = dataclasses.replace(high, outcome="passed", settings_key=passing.settings_key, value=passing.value,
                               interval=passing.interval)
    comparison = compare_case(high, base)
    assert comparison.comparable and comparison.delta == 0 and comparison.seeds == ()
    other = dataclasses.replace(base, conditions=())
    assert not compare_case(high, other).comparable


# -- reading results -------------------------------------------------------------------------------


def test_a_results_file_without_conditions_reads_as_none(flipped, tmp_path):
    data = json.loads(results_bytes(flipped))
    for case in data["cases"]:
        del case["conditions"], case["verdict_flips"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data))
    assert all(c.conditions == () and not c.verdict_flips for c in read_results(path).cases)


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda c: c.update(conditions="steps=1"), "cases[0].conditions: expected a list, got 'steps=1'"),
    (lambda c: c["conditions"][0].update(outcome="flipped"),
     "cases[0].conditions[0].outcome: expected one of 'passed', 'failed', 'error'"),
    (lambda c: c["conditions"][1].update(value="high"), "cases[0].conditions[1].value: expected a number"),
    (lambda c: c["conditions"][0].update(overrides={"steps": {"a": 1}}),
     "cases[0].conditions[0].overrides['steps']: expected a number"),
    (lambda c: c["conditions"][0].pop("label"), "cases[0].conditions[0]: missing field 'label'"),
    (lambda c: c.update(verdict_flips=False),
     "cases[0].verdict_flips: says false, but the conditions' outcomes differ"),
    (lambda c: c.update(verdict_flips="yes"), "cases[0].verdict_flips: expected true or false"),
])
def test_a_malformed_conditions_field_is_one_error_naming_it(flipped, tmp_path, mutate, message):
    data = json.loads(results_bytes(flipped))
    data["cases"] = [next(c for c in data["cases"] if c["check"] == "high")]
    mutate(data["cases"][0])
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ClipSafetyError) as err:
        read_results(path)
    assert str(err.value).startswith(f"{path}: ") and message in str(err.value), str(err.value)


def test_pytest_prints_a_row_per_condition_and_the_flip(pytester):
    write_tiny_model_folder(pytester.path / "tiny")
    pytester.makefile(".yaml", flip=FLIP)
    out = pytester.runpytest("--clip-model=local-dir:tiny", "-p", "no:cacheprovider", "--clip-report=")
    out.assert_outcomes(passed=1, failed=1)
    out.stdout.fnmatch_lines([
        f"*flip / 'a dog': check high failed ({FLIP_TEXT})*",
        "*value under*steps=1*",
        "*under each inversion condition (the check must pass under all):*",
        "*steps=1 *failed*value*",
        "*steps=30*passed*value*",
    ])
    data = json.loads((pytester.path / "reports" / "clipsafety.json").read_text())
    assert {c["check"]: c["verdict_flips"] for c in data["cases"]} == {"high": True, "low": False}
