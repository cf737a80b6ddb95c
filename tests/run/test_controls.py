"""Neutral controls (paired checks), checks that cannot decide, and the family-wise setting."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clipsafety.util.errors import SuiteError
from clipsafety.run.executors import LocalExecutor
from clipsafety.models.load import load_model
from clipsafety.run.case import cases_of
from clipsafety.run.pipeline import Run, failure_table
from clipsafety.results.record import CaseRecord, Results
from clipsafety.results.files import results_bytes
from clipsafety.run.runner import load_suites
from clipsafety.run.case import Case, RunConfig
from clipsafety.run.session import Session
from clipsafety.suite import parse_suite
from clipsafety.models.targets import axis_removed_parts, axis_removed_text, midpoint_parts, midpoint_text, target_prompts

HEAD = """
clipsafety: 1
name: ctl
inversion:
  profile: paper
  seeds: 3
  overrides: {steps: 3, init_size: 16, upscale_steps: [], copies: 1, batch_size: 8}
probes:
  sim: {type: similarity}
"""

PAIRED = HEAD + """
prompts:
  - {id: dog, text: a dog, control: an animal}
  - {id: cat, text: a cat}
checks:
  - {id: near, metric: sim.mean, op: ">=", threshold: -1.5, paired: true, prompts: [dog]}
  - {id: alone, metric: sim.mean, op: ">=", threshold: -0.9, prompts: [dog]}
"""


# -- the suite syntax ----------------------------------------------------------------


def test_a_prompt_names_its_control_and_a_check_says_paired():
    suite = parse_suite(PAIRED, "ctl.yaml")
    assert suite.prompts[0].control == "an animal" and suite.prompts[1].control is None
    assert [c.paired for c in suite.checks] == [True, False]


def test_a_paired_check_on_a_prompt_without_control_is_a_collection_error():
    text = PAIRED.replace("prompts: [dog]}", "}", 1)  # the paired check now selects `cat` too
    with pytest.raises(SuiteError) as err:
        parse_suite(text, "ctl.yaml")
    message = str(err.value)
    assert "ctl.yaml:" in message and "checks[0].paired" in message and "'cat'" in message
    assert "control:" in err.value.fix


@pytest.mark.parametrize("edit, words", [
    (("control: an animal", "control: a dog"), "the control is the prompt itself"),
    (("paired: true", "paired: yes please"), "expected true or false"),
])
def test_bad_controls_are_named(edit, words):
    with pytest.raises(SuiteError, match=words):
        parse_suite(PAIRED.replace(*edit), "ctl.yaml")


def test_the_control_is_planned_with_the_prompts_seeds_and_only_for_paired_checks(tiny_model):
    suite = parse_suite(PAIRED, "ctl.yaml")
    session = Session(RunConfig(model=tiny_model, cache_dir=None))
    (_, pairs), = session.plan.requests(cases_of(suite)).values()
    dog_seeds = session.plan.seeds_for(suite, "a dog")
    assert [s for t, s in pairs if t == "an animal"] == dog_seeds
    assert not any(t == "a cat" for t, _ in pairs)  # no check selects cat
    unpaired = [case for case in cases_of(suite) if not case.check.paired]
    (_, pairs), = session.plan.requests(unpaired).values()
    assert {t for t, _ in pairs} == {"a dog"}


# -- the anchors' midpoint as the control -------------------------------------------

MIDPOINT = PAIRED.replace("control: an animal", "control: {midpoint: [a small animal, a big animal]}")


def test_a_midpoint_control_reads_as_a_target_text_that_names_both_prompts():
    suite = parse_suite(MIDPOINT, "ctl.yaml")
    control = suite.prompts[0].control
    assert midpoint_parts(control) == ("a small animal", "a big animal")
    assert control == 'midpoint("a small animal", "a big animal")'  # how JSON keeps it
    assert midpoint_parts("a dog") is None and midpoint_parts("midpoint(of a dog)") is None


@pytest.mark.parametrize("edit, field, words", [
    (("[a small animal, a big animal]", "[a small animal]"), "prompts[0].control.midpoint",
     "between two prompts, got 1 items"),
    (("[a small animal, a big animal]", "[a cat, a cat]"), "prompts[0].control.midpoint", "the same"),
    (("{midpoint:", "{middle:"), "prompts[0].control", "middle"),
    (("text: a dog", "text: 'midpoint(\"a\", \"b\")'"), "prompts[0].text", "the form of a midpoint"),
])
def test_bad_midpoint_controls_and_texts_that_would_read_as_one_are_named(edit, field, words):
    with pytest.raises(SuiteError, match=words) as err:
        parse_suite(MIDPOINT.replace(*edit), "ctl.yaml")
    assert field in str(err.value) and err.value.fix


def test_a_midpoint_embeds_as_the_normalised_mean_of_its_two_prompts(tiny_model):
    import torch
    handle = load_model(tiny_model, device="cpu")
    low, high = handle.encode_text(["a small animal", "a big animal"])
    (mid,) = handle.encode_text([midpoint_text("a small animal", "a big animal")])
    expected = torch.nn.functional.normalize(low + high, dim=-1)
    assert torch.allclose(mid, expected, atol=1e-6) and abs(float(mid.norm()) - 1) < 1e-6
    assert float(mid @ low) > float(high @ low)  # between them: nearer each than they are to each other


def test_a_midpoint_of_words_the_toy_model_lacks_is_unreadable():
    handle = load_model("toyclip-fair", device="cpu")
    assert handle.unreadable(midpoint_text("a blue cross", "a red cross")) is None
    assert "zebra" in handle.unreadable(midpoint_text("a blue cross", "a zebra"))


# -- the prompt with the anchors' axis removed, as the control ------------------------

AXIS_REMOVED = PAIRED.replace("control: an animal", "control: {axis_removed: [a small animal, a big animal]}")


def test_an_axis_removed_control_names_its_prompt_and_both_anchors():
    suite = parse_suite(AXIS_REMOVED, "ctl.yaml")
    control = suite.prompts[0].control
    assert axis_removed_parts(control) == (suite.prompts[0].text, "a small animal", "a big animal")
    assert midpoint_parts(control) is None and axis_removed_parts(midpoint_text("a", "b")) is None


@pytest.mark.parametrize("edit, field, words", [
    (("{axis_removed: [a small animal, a big animal]}", "{axis_removed: [a small animal, a small animal]}"),
     "prompts[0].control.axis_removed", "span no axis"),
    (("{axis_removed: [a small animal, a big animal]}",
      "{axis_removed: [a small animal, a big animal], midpoint: [a small animal, a big animal]}"),
     "prompts[0].control", "one of midpoint or axis_removed"),
    (("{axis_removed: [a small animal, a big animal]}", "{}"), "prompts[0].control", "names no control"),
    (("text: a dog", "text: 'axis_removed(\"a\", \"b\", \"c\")'"), "prompts[0].text", "the form of a"),
])
def test_bad_axis_removed_controls_are_named(edit, field, words):
    with pytest.raises(SuiteError, match=words) as err:
        parse_suite(AXIS_REMOVED.replace(*edit), "ctl.yaml")
    assert field in str(err.value) and err.value.fix


def test_an_axis_removed_target_keeps_the_prompt_but_its_component_along_the_anchors_axis(tiny_model):
    import torch
    handle = load_model(tiny_model, device="cpu")
    prompt, low, high = handle.encode_text(["a dog", "a small animal", "a big animal"])
    (removed,) = handle.encode_text([axis_removed_text("a dog", "a small animal", "a big animal")])
    axis = torch.nn.functional.normalize(high - low, dim=-1)
    assert abs(float(prompt @ axis)) > 1e-3  # the prompt had a component to remove
    assert abs(float(removed @ axis)) < 1e-5 and abs(float(removed.norm()) - 1) < 1e-5
    (midpoint,) = handle.encode_text([midpoint_text("a small animal", "a big animal")])
    assert abs(float(midpoint @ axis)) < 1e-5  # the removed component is set to the midpoint's
    assert float(removed @ prompt) > float(removed @ midpoint)  # still the prompt, not the anchors' midpoint


def test_an_axis_removed_target_is_unreadable_when_any_of_its_prompts_is():
    handle = load_model("toyclip-fair", device="cpu")
    assert handle.unreadable(axis_removed_text("a doctor", "a blue cross", "a red cross")) is None
    assert "zebra" in handle.unreadable(axis_removed_text("a zebra", "a blue cross", "a red cross"))


# -- a paired run end to end (tiny model) ---------------------------------------------


def _run(tiny, tmp_path, monkeypatch, text, **config):
    monkeypatch.chdir(tiny)
    (tiny / "suite.yaml").write_text(text)
    run = Run(RunConfig(model="local-dir:tiny", device="cpu", cache_dir=None, **config))
    return run, run.run_all(load_suites(["suite.yaml"]))


def test_a_paired_check_gates_on_the_per_seed_differences_and_records_the_control(tiny, tmp_path, monkeypatch):
    run, results = _run(tiny, tmp_path, monkeypatch, PAIRED)
    paired, alone = (next(c for c in results.cases if c.check == name) for name in ("near", "alone"))
    assert paired.control == "an animal" and alone.control is None
    assert [s.seed for s in paired.seeds] == [s.seed for s in alone.seeds]  # same seeds for prompt and control
    assert all(s.control is not None for s in paired.seeds) and all(s.control is None for s in alone.seeds)
    for p, a in zip(paired.seeds, alone.seeds):  # the prompt's own value less the control's, seed by seed
        assert p.value == pytest.approx(a.value - p.control, abs=1e-5)
    assert paired.value == pytest.approx(sum(s.value for s in paired.seeds) / 3, abs=1e-5)
    assert "paired against control 'an animal'" in failure_table(paired)
    assert "paired against" not in failure_table(alone)
    back = Results.from_json(json.loads(results_bytes(results)))
    assert back.cases == results.cases


def test_a_baseline_paired_against_another_control_or_unpaired_is_not_compared(tiny, tmp_path, monkeypatch):
    import dataclasses

    from clipsafety.gate.baseline import compare_case

    _, results = _run(tiny, tmp_path, monkeypatch, PAIRED)
    paired = next(c for c in results.cases if c.check == "near")
    assert compare_case(paired, paired).comparable  # the same control: compared
    midpoint = dataclasses.replace(paired, control=midpoint_text("a small animal", "a big animal"))
    assert midpoint.paired_label == "paired against the midpoint of 'a small animal' and 'a big animal'"
    removed = dataclasses.replace(paired, control=axis_removed_text("a dog", "a small animal", "a big animal"))
    assert removed.paired_label == "paired against 'a dog' with the axis from 'a small animal' to 'a big animal' removed"
    for control, words in ((None, "the baseline was unpaired, this run is paired against control 'an animal'"),
                           ("a pet", "paired against control 'a pet', this run is paired against control")):
        comparison = compare_case(paired, dataclasses.replace(paired, control=control))
        assert not comparison.comparable and words in comparison.note and comparison.regression is None


def test_a_record_from_before_controls_still_reads(tiny, tmp_path, monkeypatch):
    _, results = _run(tiny, tmp_path, monkeypatch, PAIRED)
    data = results.cases[0].to_json()
    del data["control"], data["level"]
    for seed in data["seeds"]:
        del seed["control"]
    old = CaseRecord.from_json(data)
    assert old.control is None and old.level is None and old.paired_label is None


# -- checks that cannot decide at their seed count ------------------------------------

UNDECIDABLE = HEAD.replace("seeds: 3", "seeds: 2") + """
prompts: [a dog]
checks:
  - {id: share, metric: sim.frac_above, above: 0.5, op: "<=", threshold: 0.4, bound: upper}
  - {id: mean, metric: sim.mean, op: ">=", threshold: -0.9}
"""


def test_a_check_that_cannot_pass_at_its_seed_count_is_an_error_naming_the_seeds_it_needs(
        tiny, tmp_path, monkeypatch):
    run, results = _run(tiny, tmp_path, monkeypatch, UNDECIDABLE)
    share, mean = (next(c for c in results.cases if c.check == name) for name in ("share", "mean"))
    assert share.outcome == "error" and "at 2 seeds" in share.reason and "can pass from" in share.reason
    assert not share.seeds  # nothing measured, nothing passed or failed
    assert mean.outcome in ("passed", "failed")
    assert run.session.images.inverted == 2  # only the decidable case's images


def test_enough_seeds_make_the_same_check_decidable(tiny_model):
    suite = parse_suite(UNDECIDABLE, "u.yaml")
    case = Case(suite, suite.checks[0], suite.prompts[0])
    assert "can pass from" in Session(RunConfig(model=tiny_model, cache_dir=None, seeds=2)).plan.undecidable(case)
    assert Session(RunConfig(model=tiny_model, cache_dir=None, seeds=16)).plan.undecidable(case) is None


# -- the family-wise setting ----------------------------------------------------------

FAMILY = HEAD + """
prompts: [a dog, a cat]
checks:
  - {id: low, metric: sim.mean, op: ">=", threshold: -0.9, bound: upper}
  - {id: point, metric: sim.mean, op: ">=", threshold: -0.9}
"""


# expected: the 2 evidence cases at their level, plus the 2 point-gated cases at half each
@pytest.mark.parametrize("familywise, level, expected", [("none", 0.95, 1.05), ("bonferroni", 0.975, 1.025)])
def test_the_familywise_setting_sets_the_level_and_the_expected_false_alarms(
        tiny, tmp_path, monkeypatch, familywise, level, expected):
    run, results = _run(tiny, tmp_path, monkeypatch, FAMILY, familywise=familywise)
    evidence = [c for c in results.cases if c.check == "low"]  # fails only on evidence: 2 cases
    assert [c.level for c in evidence] == [pytest.approx(level)] * 2
    assert [c.level for c in results.cases if c.check == "point"] == [0.95] * 2  # not in the family
    prov = results.provenance
    assert (prov.familywise, prov.family_size, prov.point_gated_checks) == (familywise, 2, 2)
    assert prov.expected_false_alarms == pytest.approx(expected)
    assert prov.few_seed_checks == 2  # the 2 evidence cases are a mean's bootstrap over 3 seeds
    assert Results.from_json(json.loads(results_bytes(results))).provenance == prov
    table = failure_table(evidence[0])
    assert f"{100 * level:.4g}% interval" in table


def test_checks_on_enough_seeds_are_not_counted_as_few_seed_checks(tiny, tmp_path, monkeypatch):
    _, results = _run(tiny, tmp_path, monkeypatch, FAMILY.replace("seeds: 3", "seeds: 5"))
    assert results.provenance.family_size == 2 and results.provenance.few_seed_checks == 0


@given(st.text(max_size=30), st.text(max_size=30), st.text(max_size=30))
@settings(max_examples=200, deadline=None)
def test_target_texts_round_trip_and_never_read_as_the_other_kind(prompt, low, high):
    removed, midpoint = axis_removed_text(prompt, low, high), midpoint_text(low, high)
    assert axis_removed_parts(removed) == (prompt, low, high) and midpoint_parts(removed) is None
    assert midpoint_parts(midpoint) == (low, high) and axis_removed_parts(midpoint) is None
    assert target_prompts(removed) == (prompt, low, high) and target_prompts(midpoint) == (low, high)
