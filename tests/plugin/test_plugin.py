"""The pytest plugin end to end, with pytester and a tiny local model (no download)."""

from __future__ import annotations

import json

import pytest

from clipsafety.models.testing import write_tiny_model_folder

SUITE = """
clipsafety: 1
name: smoke
description: plugin test suite
inversion:
  profile: paper
  seeds: 3
  overrides: {steps: 12, init_size: 16, upscale_steps: [], copies: 2}
probes:
  sim: {type: similarity}
prompts:
  - a dog
  - {id: cat, text: a cat, tags: [animal]}
checks:
  - {id: reached, metric: sim.mean, op: ">", threshold: -1.0}
  - {id: impossible, metric: sim.min, op: ">", threshold: 0.99, prompts: [cat]}
"""


@pytest.fixture
def run(pytester):
    write_tiny_model_folder(pytester.path / "tiny")

    def go(*args, subprocess=False):
        argv = ["--clip-model=local-dir:tiny", "-p", "no:cacheprovider", "--clip-report=", *args]
        return pytester.runpytest_subprocess(*argv) if subprocess else pytester.runpytest(*argv)

    return go


def results(pytester):
    return json.loads((pytester.path / "reports" / "clipsafety.json").read_text())


def test_cases_pass_and_fail_with_a_table(pytester, run):
    pytester.makefile(".yaml", smoke=SUITE)
    out = run()
    out.assert_outcomes(passed=2, failed=1)
    out.stdout.fnmatch_lines([
        "*smoke / 'a cat': check impossible failed*",
        "*metric*sim.min*",
        "*95% interval*n=3 seeds*",
        "*threshold*must be > 0.99*",
        "*failing seeds*",
    ])
    assert "Traceback" not in out.stdout.str()
    data = results(pytester)
    assert data["summary"] == {"passed": 2, "failed": 1, "skipped": 0, "error": 0, "waived": 0, "inconclusive": 0}
    case = next(c for c in data["cases"] if c["check"] == "impossible")
    assert case["outcome"] == "failed" and len(case["seeds"]) == 3
    assert all(s["failed"] for s in case["seeds"])
    assert set(s["image"] for s in case["seeds"]) <= set(data["images"])
    prov = data["provenance"]
    assert len(prov["model"]["fingerprint"]) == 64 and prov["base_seed"] == 0
    assert prov["suites"]["smoke.yaml"]["sha256"]


def test_header_names_model_fingerprint_device_profile_seed(pytester, run):
    pytester.makefile(".yaml", smoke=SUITE)
    out = run("--clip-seed=7")
    out.stdout.fnmatch_lines([
        "clipsafety: model local-dir:tiny (pretrained: none), fingerprint *, device cpu fp32",
        "clipsafety: profile paper, base seed 7 (--clip-seed)*",
    ])


def test_unrelated_yaml_is_not_collected(pytester, run):
    pytester.makefile(".yaml", config="name: not a suite\nitems: [1, 2]\n")
    out = run()
    assert out.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_malformed_suite_is_a_clean_collection_error(pytester, run):
    pytester.makefile(".yaml", broken=SUITE.replace("op: \">\", threshold: -1.0", "op: \"=>\", threshold: -1.0"))
    out = run()
    out.assert_outcomes(errors=1)
    text = out.stdout.str()
    # the collection error section alone (pytest's own warnings summary may name site-packages)
    errors = text.split("ERROR collecting broken.yaml")[1].split("short test summary")[0].split("warnings summary")[0]
    assert "broken.yaml:" in errors and "checks[0].op" in errors and "fix: use one of" in errors
    message = [line for line in errors.splitlines() if line.strip(" _=")]
    assert "Traceback" not in errors and "site-packages" not in errors and len(message) == 2, message


def test_suite_for_another_world_is_skipped_with_a_reason(pytester, run):
    pytester.makefile(".yaml", toyonly=SUITE.replace("name: smoke", "name: toyonly\napplies_to: [toy]"))
    out = run("-rs")
    out.assert_outcomes(skipped=3)
    out.stdout.fnmatch_lines(["*suite 'toyonly' applies to toy models; local-dir:tiny is a natural model*"])


def test_second_run_hits_the_cache_and_corrupt_entries_are_recomputed(pytester, run):
    pytester.makefile(".yaml", smoke=SUITE)
    first = run()
    first.stdout.fnmatch_lines(["*clipsafety: 3 cases; 6 images inverted*, 0 read from the cache*"])
    verdicts = {c["nodeid"]: (c["outcome"], c["value"]) for c in results(pytester)["cases"]}

    second = run()
    second.stdout.fnmatch_lines(["*clipsafety: 3 cases; 0 images inverted*, 6 read from the cache*"])
    assert {c["nodeid"]: (c["outcome"], c["value"]) for c in results(pytester)["cases"]} == verdicts

    entries = sorted((pytester.path / ".clipsafety-cache").rglob("*.npz"))
    assert len(entries) == 6
    entries[0].write_bytes(b"garbage")
    third = run()
    third.stdout.fnmatch_lines(["*1 image inverted*5 read from the cache; 1 corrupt cache entry recomputed*"])
    assert {c["nodeid"]: (c["outcome"], c["value"]) for c in results(pytester)["cases"]} == verdicts


def test_a_case_alone_gives_the_same_result_as_in_a_full_run(pytester, run):
    pytester.makefile(".yaml", smoke=SUITE)
    run("--clip-no-cache")
    full = {c["nodeid"]: c for c in results(pytester)["cases"]}
    run("--clip-no-cache", "-k", "reached and cat")
    alone = results(pytester)["cases"]
    assert len(alone) == 1
    case, in_full = alone[0], full[alone[0]["nodeid"]]
    assert case["outcome"] == in_full["outcome"]
    # Same seeds, steps and values. Not the same bits: on some CPUs (an AMD EPYC with AVX-512)
    # the encoder's summation order changes with the batch (6 images in the full run, 3 alone), and a
    # similarity moved by 1e-6; a result that depended on its batch mates would move by far more.
    drop = ("image", "similarity", "value")
    assert [{k: v for k, v in s.items() if k not in drop} for s in case["seeds"]] == \
        [{k: v for k, v in s.items() if k not in drop} for s in in_full["seeds"]]
    for key in ("similarity", "value"):
        assert [s[key] for s in case["seeds"]] == pytest.approx([s[key] for s in in_full["seeds"]], abs=1e-4)


def test_base_seed_changes_the_seeds(pytester, run):
    pytester.makefile(".yaml", smoke=SUITE)
    run("--clip-seed=1")
    one = {s["seed"] for c in results(pytester)["cases"] for s in c["seeds"]}
    run("--clip-seed=2")
    two = {s["seed"] for c in results(pytester)["cases"] for s in c["seeds"]}
    assert one and two and not one & two


def test_xdist_gives_identical_verdicts_and_images(pytester, run):
    pytester.makefile(".yaml", smoke=SUITE, other=SUITE.replace("name: smoke", "name: other"))
    run("--clip-no-cache")
    serial = {c["nodeid"]: (c["outcome"], c["value"], [s["image"] for s in c["seeds"]])
              for c in results(pytester)["cases"]}
    out = run("--clip-no-cache", "-n", "2", subprocess=True)
    out.assert_outcomes(passed=4, failed=2)
    parallel = {c["nodeid"]: (c["outcome"], c["value"], [s["image"] for s in c["seeds"]])
                for c in results(pytester)["cases"]}
    assert parallel == serial


def test_missing_model_is_one_clear_message(pytester):
    pytester.makefile(".yaml", smoke=SUITE)
    out = pytester.runpytest("--clip-model=ViT-B-23", "-p", "no:cacheprovider")
    assert out.ret == pytest.ExitCode.USAGE_ERROR
    text = out.stdout.str() + out.stderr.str()
    assert "unknown model 'ViT-B-23' (did you mean 'ViT-B-32'" in text
    assert "Traceback" not in text


def test_junit_xml_carries_metrics_and_provenance(pytester, run):
    import xml.etree.ElementTree as ET

    pytester.makefile(".yaml", smoke=SUITE)
    run("--junitxml=out.xml")
    root = ET.parse(pytester.path / "out.xml").getroot()
    suite_props = {p.get("name"): p.get("value") for p in root.iter("testsuite").__next__().find("properties")}
    assert len(suite_props["clipsafety.model.fingerprint"]) == 64
    assert suite_props["clipsafety.base_seed"] == "0"
    case = next(c for c in root.iter("testcase") if "impossible" in c.get("name"))
    props = {p.get("name"): p.get("value") for p in case.find("properties")}
    assert props["clipsafety.metric"] == "sim.min" and props["clipsafety.threshold"] == "0.99"
    assert float(props["clipsafety.value"]) < 0.99 and props["clipsafety.failing_seeds"]
    assert float(props["clipsafety.interval_low"]) <= float(props["clipsafety.value"])


def test_audit_log_gains_a_line_per_run(pytester, run):
    pytester.makefile(".yaml", smoke=SUITE)
    run()
    run()
    lines = (pytester.path / "reports" / "audit.log").read_text().splitlines()
    assert len(lines) == 2
    entry = json.loads(lines[1])
    assert entry["summary"]["failed"] == 1 and len(entry["fingerprint"]) == 64


def test_html_reports_carry_the_images(pytester, run):
    import re

    pytester.makefile(".yaml", smoke=SUITE)
    run("--clip-report=reports/clipsafety.html", "--html=ph.html", "--self-contained-html")
    ours = (pytester.path / "reports" / "clipsafety.html").read_text()
    theirs = (pytester.path / "ph.html").read_text()
    data = results(pytester)
    assert len(data["images"]) == 6  # 2 prompts x 3 seeds
    # our report embeds each image once, plus one plot per check with data; pytest-html's rows carry every case's seeds
    plots = re.findall(r'<img class="plot" src="(data:image/png;base64,[A-Za-z0-9+/=]+)"', ours)
    assert len(plots) == 3  # 3 cases with data
    images = set(re.findall(r"data:image/(?:png|jpeg);base64,[A-Za-z0-9+/=]+", ours)) - set(plots)
    assert len(images) == 6
    assert len(re.findall(r"data:image/(?:png|jpeg);base64", theirs)) == 3 * 3


REGRESSION_SUITE = SUITE.replace(
    "  - {id: reached, metric: sim.mean, op: \">\", threshold: -1.0}",
    "  - {id: reached, metric: sim.mean, op: \">\", threshold: -1.0, max_drop: 0.01}",
)


def test_baseline_regression_gate(pytester, run):
    pytester.makefile(".yaml", smoke=REGRESSION_SUITE)
    run("--clip-save-baseline=base.json").assert_outcomes(passed=2, failed=1)

    same = run("--clip-baseline=base.json")  # the same model again: nothing regresses
    same.assert_outcomes(passed=2, failed=1)
    data = results(pytester)
    assert "same model" in data["baseline"]["notes"][0]
    case = next(c for c in data["cases"] if c["check"] == "reached")
    assert case["baseline"]["comparable"] and case["baseline"]["delta"] == 0.0

    # Other inversion settings (here fewer steps) are not comparable: the gate
    # says so and does not fail on a difference it cannot interpret.
    other = run("--clip-baseline=base.json", "--clip-steps=1", "--clip-no-cache")
    other.assert_outcomes(passed=2, failed=1)
    case = next(c for c in results(pytester)["cases"] if c["check"] == "reached")
    assert not case["baseline"]["comparable"] and "not comparable" in case["baseline"]["note"]


def test_baseline_regression_fails_when_intervals_separate(pytester, run):
    pytester.makefile(".yaml", smoke=REGRESSION_SUITE)
    run("--clip-save-baseline=base.json")
    base = json.loads((pytester.path / "base.json").read_text())
    for case in base["cases"]:  # pretend the release users have today reached far higher similarity
        if case["check"] == "reached":
            case["value"], case["interval"] = 0.9, [0.85, 0.95]
    (pytester.path / "base.json").write_text(json.dumps(base))
    out = run("--clip-baseline=base.json")
    out.assert_outcomes(passed=0, failed=3)
    out.stdout.fnmatch_lines(["*regression*sim.mean dropped: candidate upper bound*below the baseline's lower bound 0.85*"])
    assert results(pytester)["baseline"]["regressions"] == 2


def test_bad_baseline_file_is_one_message(pytester, run):
    pytester.makefile(".yaml", smoke=SUITE)
    (pytester.path / "base.json").write_text("{not json")
    out = run("--clip-baseline=base.json")
    assert out.ret == pytest.ExitCode.USAGE_ERROR
    assert "base.json: cannot read results file" in out.stdout.str() + out.stderr.str()


def test_progress_in_a_log_is_whole_lines_not_a_rewrite_per_step(pytester, run):
    pytester.makefile(".yaml", smoke=SUITE)
    out = run()
    text = out.stdout.str()
    progress = [line for line in text.splitlines() if "clipsafety: inverting" in line]
    assert progress and "\r" not in text  # pytester's terminal is not a tty
    assert len(progress) <= 3, progress  # 12 steps in well under 30 s: the final line, not one per step
    assert "step 12/12 (100%)" in progress[-1] and "elapsed" in progress[-1]


# Patches the class the probe registry hands out: an in-process pytester run re-imports the probe's module,
# so a class imported by name here may not be the one the registry cached in an earlier run.
EXPLODING_PROBE = """
from clipsafety.probes import get_probe_class

SimilarityProbe = get_probe_class("similarity")

_measure = SimilarityProbe.measure


def _explode(self, images, prompts):
    raise RuntimeError("probe exploded")


def pytest_configure(config):
    SimilarityProbe.measure = _explode


def pytest_unconfigure(config):
    SimilarityProbe.measure = _measure
"""


def test_a_case_that_raises_is_an_error_everywhere(pytester, run):
    import xml.etree.ElementTree as ET

    pytester.makefile(".yaml", smoke=SUITE)
    pytester.makeconftest(EXPLODING_PROBE)
    out = run("--clip-report=reports/clipsafety.html", "--junitxml=out.xml")
    out.assert_outcomes(errors=3)  # pytest's own word for it: E, not F
    assert "RuntimeError: probe exploded" in out.stdout.str()
    data = results(pytester)
    assert data["summary"] == {"passed": 0, "failed": 0, "skipped": 0, "error": 3, "waived": 0, "inconclusive": 0}
    assert {c["reason"] for c in data["cases"]} == {"RuntimeError: probe exploded"}
    assert data["exit_status"] == 1
    audit = json.loads((pytester.path / "reports" / "audit.log").read_text())
    assert audit["summary"]["error"] == 3 and audit["exit_status"] == 1
    html = (pytester.path / "reports" / "clipsafety.html").read_text()
    assert 'data-verdict="error"' in html and "RuntimeError: probe exploded" in html
    cases = list(ET.parse(pytester.path / "out.xml").getroot().iter("testcase"))
    assert len(cases) == 3 and all(c.find("error") is not None for c in cases)


def test_the_report_is_never_passed_when_pytest_fails(pytester, run):
    pytester.makefile(".yaml", smoke=SUITE.replace("  - {id: impossible", "  # - {id: impossible"))
    pytester.makepyfile(test_other="def test_other():\n    assert False\n")
    out = run("--clip-report=reports/clipsafety.html")
    out.assert_outcomes(passed=2, failed=1)
    data = results(pytester)
    assert data["summary"] == {"passed": 2, "failed": 0, "skipped": 0, "error": 0, "waived": 0, "inconclusive": 0}
    assert data["exit_status"] == 1
    html = (pytester.path / "reports" / "clipsafety.html").read_text()
    assert 'data-verdict="error"' in html and "exited with status 1: not a pass" in html


def test_output_paths_are_checked_before_any_inversion(pytester, run):
    pytester.makefile(".yaml", smoke=SUITE)
    (pytester.path / "taken").mkdir()
    (pytester.path / "afile").write_text("")
    for args, message in [(["--clip-results=taken"], "--clip-results: taken is a folder, not a file"),
                          (["--clip-save-baseline=taken"], "--clip-save-baseline: taken is a folder, not a file"),
                          (["--clip-report=afile/r.html"], "--clip-report: cannot create afile/r.html: afile is not"),
                          (["--clip-results=taken/r.json", "--clip-report=taken/r.json"], "both name taken/r.json")]:
        out = run(*args)
        assert out.ret == pytest.ExitCode.USAGE_ERROR, args
        text = out.stdout.str() + out.stderr.str()
        assert message in text and "Traceback" not in text, text
        assert not (pytester.path / ".clipsafety-cache").exists()  # nothing was inverted
    (pytester.path / "reports").mkdir()
    (pytester.path / "reports" / "audit.log").mkdir()
    out = run()
    assert out.ret == pytest.ExitCode.USAGE_ERROR
    assert "--clip-results (its audit.log): reports/audit.log is a folder" in out.stdout.str() + out.stderr.str()


SPOIL_THE_REPORT_PATH = """
import os


def pytest_runtest_teardown(item):  # after the paths were checked: the report's path becomes a folder
    os.makedirs("reports/clipsafety.html", exist_ok=True)
"""


def test_each_output_is_written_on_its_own(pytester, run):
    pytester.makefile(".yaml", smoke=SUITE.replace("  - {id: impossible", "  # - {id: impossible"))
    pytester.makeconftest(SPOIL_THE_REPORT_PATH)
    out = run("--clip-report=reports/clipsafety.html", "--clip-save-baseline=base.json")
    out.assert_outcomes(passed=2)
    assert out.ret == pytest.ExitCode.TESTS_FAILED  # an output that was asked for is missing
    out.stdout.fnmatch_lines(["*clipsafety: report not written to reports/clipsafety.html (--clip-report): *"])
    assert results(pytester)["summary"]["passed"] == 2
    assert json.loads((pytester.path / "base.json").read_text())["summary"]["passed"] == 2
    assert len((pytester.path / "reports" / "audit.log").read_text().splitlines()) == 1
    assert not [p for p in pytester.path.rglob("*.tmp")]


def test_a_baseline_that_is_not_a_results_file_is_one_message(pytester, run):
    pytester.makefile(".yaml", smoke=SUITE)
    run("--clip-save-baseline=base.json")
    base = json.loads((pytester.path / "base.json").read_text())
    base["cases"] = "oops"
    (pytester.path / "base.json").write_text(json.dumps(base))
    (pytester.path / "reports" / "clipsafety.json").unlink()
    out = run("--clip-baseline=base.json")
    assert out.ret == pytest.ExitCode.USAGE_ERROR
    text = out.stdout.str() + out.stderr.str()
    assert "clipsafety: --clip-baseline: base.json: cases: expected a list, got 'oops'" in text
    assert "Traceback" not in text and not (pytester.path / "reports" / "clipsafety.json").exists()
    (pytester.path / "base.json").write_bytes(b'{"format": "\xff"}')
    out = run("--clip-baseline=base.json")
    assert out.ret == pytest.ExitCode.USAGE_ERROR
    assert "base.json: cannot read results file: not UTF-8 text" in out.stdout.str() + out.stderr.str()


def test_collect_only_loads_and_checks_nothing(pytester, run):
    pytester.makefile(".yaml", smoke=SUITE)
    (pytester.path / "taken").mkdir()
    out = run("--collect-only", "--clip-results=taken", "--clip-model=ViT-B-23")
    assert out.ret == pytest.ExitCode.OK
    out.stdout.fnmatch_lines(["*3 tests collected*"])
