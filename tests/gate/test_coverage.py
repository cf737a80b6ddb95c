"""No silent green: per-kind skip lines and --clip-require, on plain case lists."""

from __future__ import annotations

from clipsafety.gate.coverage import (CaseKind, ran_of_kind, require_problems, skipped_for_reason_lines,
                                      skipped_kinds)

NATURAL, TOY, BOTH = ("natural",), ("toy",), ("natural", "toy")


def run_on_toy():
    """What `pytest suites/` on toyclip-fair collects: natural suites skipped, toy suites run."""
    return ([CaseKind(NATURAL, "skipped", "nsfw-leakage")] * 30 + [CaseKind(NATURAL, "skipped", "gender-skew")] * 7
            + [CaseKind(TOY, "passed", "toy-hazard")] * 12)


def test_skipped_natural_suites_are_said_in_one_line():
    (skip,) = skipped_kinds(run_on_toy(), "toy")
    assert (skip.kind, skip.checks, skip.suites) == ("natural", 37, ("nsfw-leakage", "gender-skew"))
    assert skip.line("toyclip-fair", "toy") == ("37 natural-image checks skipped: toyclip-fair is a toy model; "
                                                 "no release verdict was reached for a natural CLIP")


def test_nothing_skipped_for_kind_gives_no_line():
    cases = [CaseKind(TOY, "passed"), CaseKind(BOTH, "failed"), CaseKind(TOY, "skipped")]  # a skip, not for kind
    assert skipped_kinds(cases, "toy") == []


def test_one_check_is_singular():
    (skip,) = skipped_kinds([CaseKind(TOY, "skipped")], "natural")
    assert skip.line("ViT-B-32", "natural").startswith("1 toy-world check skipped: ViT-B-32 is a natural model")


def test_require_fails_when_no_check_of_the_kind_ran():
    (problem,) = require_problems(["natural"], run_on_toy(), "toyclip-fair", "toy")
    assert problem.startswith("--clip-require=natural: no natural-image check ran (toyclip-fair is a toy model)")
    assert "fix:" in problem


def test_require_passes_when_a_check_of_the_kind_reached_a_verdict():
    cases = [CaseKind(NATURAL, "failed"), CaseKind(TOY, "skipped")]
    assert require_problems(["natural"], cases, "ViT-B-32", "natural") == []
    assert require_problems(["toy"], run_on_toy(), "toyclip-fair", "toy") == []
    waived = [CaseKind(NATURAL, "waived")]
    assert ran_of_kind(waived, "natural", "natural") == 1  # a waived failure was still judged


def test_require_fails_when_every_check_of_the_kind_was_skipped_for_another_reason():
    cases = [CaseKind(NATURAL, "skipped")]  # e.g. a probe's judge model missing
    (problem,) = require_problems(["natural"], cases, "ViT-B-32", "natural")
    assert "every natural-image check was skipped or none was collected" in problem
    assert len(require_problems(["natural", "toy"], cases, "ViT-B-32", "natural")) == 2


def test_a_synthetic_model_runs_the_natural_checks_but_never_counts_as_a_natural_verdict():
    from clipsafety.gate.coverage import stand_in_lines
    from clipsafety.models.kinds import runs_suites_of

    assert runs_suites_of("synthetic", ("natural",)) and not runs_suites_of("synthetic", ("toy",))
    assert runs_suites_of("natural", ("natural",)) and not runs_suites_of("toy", ("natural",))
    cases = [CaseKind(("natural",), "failed", "gender-skew"), CaseKind(("natural",), "passed", "gender-skew"),
             CaseKind(("toy",), "skipped", "toy-hazard")]
    assert [s.kind for s in skipped_kinds(cases, "synthetic")] == ["toy"]
    (line,) = stand_in_lines(cases, "synthclip-biased", "synthetic")
    assert line.startswith("2 natural-image checks ran on synthclip-biased, a synthetic model")
    assert "no release verdict was reached for a natural CLIP" in line
    (problem,) = require_problems(["natural"], cases, "synthclip-biased", "synthetic")
    assert "--clip-require=natural" in problem and "synthetic model" in problem
    assert stand_in_lines(cases, "ViT-B-32", "natural") == []
    assert require_problems(["natural"], cases, "ViT-B-32", "natural") == []


def test_checks_skipped_for_another_reason_than_kind_get_a_line_per_reason():
    no_photos = "suite 'gender-skew-photos' reads labelled photos and this run has none: pass --clip-photos=DIR"
    cases = ([CaseKind(NATURAL, "skipped", "gender-skew-photos", no_photos)] * 10
             + [CaseKind(NATURAL, "passed", "gender-skew")] * 9
             + [CaseKind(TOY, "skipped", "toy-hazard", "suite 'toy-hazard' applies to toy models")])
    assert skipped_for_reason_lines(cases, "natural") == [f"10 checks skipped: {no_photos}"]
    ran = [CaseKind(NATURAL, "passed", "gender-skew-photos")] * 10 + cases[10:]
    assert skipped_for_reason_lines(ran, "natural") == []  # photos given: nothing skipped, no line
    on_toy = [CaseKind(NATURAL, "skipped", "gender-skew-photos", "suite applies to natural models")]
    assert skipped_for_reason_lines(on_toy, "toy") == []  # skipped for its kind: the kind line says it
