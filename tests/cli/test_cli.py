"""The command line: run, compare, report, models, and clean errors."""

from __future__ import annotations

import json

import pytest

from clipsafety.cli import main
from clipsafety.models.testing import write_tiny_model_folder

SUITE = """
clipsafety: 1
name: cli
inversion:
  profile: paper
  seeds: 2
  overrides: {steps: 8, init_size: 16, upscale_steps: [], copies: 2}
probes:
  sim: {type: similarity}
prompts: [a dog, a cat]
checks:
  - {id: reached, metric: sim.mean, op: ">", threshold: -1.0, max_drop: 0.5}
  - {id: impossible, metric: sim.min, op: ">", threshold: 0.99, prompts: [a-cat]}
"""


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "suite.yaml").write_text(SUITE)
    write_tiny_model_folder(tmp_path / "tiny")
    return tmp_path


def test_run_writes_results_and_report_and_fails_on_a_failed_check(workdir, capsys):
    code = main(["run", "suite.yaml", "--clip-model=local-dir:tiny", "--clip-results=out/r.json",
                 "--clip-report=out/r.html"])
    assert code == 1
    out = capsys.readouterr()
    assert "2 passed, 1 failed, 0 skipped, 0 error" in out.out
    assert "FAILED" in out.err and "impossible[a-cat]" in out.err
    progress = [line for line in out.err.splitlines() if "clipsafety: inverting" in line]
    assert progress and len(progress) <= 3 and "\r" not in out.err  # captured stderr is a log
    assert "step 8/8 (100%)" in progress[-1]
    data = json.loads((workdir / "out" / "r.json").read_text())
    assert data["summary"]["failed"] == 1 and len(data["images"]) == 4
    assert (workdir / "out" / "r.html").stat().st_size > 1000
    assert len((workdir / "out" / "audit.log").read_text().splitlines()) == 1


def _verdicts(path):
    return [(c["nodeid"], c["outcome"], c["value"], c["seeds"]) for c in json.loads(path.read_text())["cases"]]


def test_run_gives_the_same_verdicts_as_pytest_would(pytester):
    pytester.makefile(".yaml", suite=SUITE)
    write_tiny_model_folder(pytester.path / "tiny")
    assert main(["run", "suite.yaml", "--clip-model=local-dir:tiny", "--clip-results=cli.json", "--clip-report="]) == 1
    # pytest itself, recomputing every image (no cache) on the same suite
    out = pytester.runpytest("suite.yaml", "--clip-model=local-dir:tiny", "--clip-results=pytest.json",
                             "--clip-report=", "--clip-no-cache", "-p", "no:cacheprovider")
    out.assert_outcomes(passed=2, failed=1)
    cli, by_pytest = _verdicts(pytester.path / "cli.json"), _verdicts(pytester.path / "pytest.json")
    assert cli == by_pytest and len(cli) == 3
    assert [outcome for _, outcome, _, _ in cli] == ["failed", "passed", "passed"]  # sorted by node id


def test_run_saves_and_gates_against_a_baseline_as_pytest_does(pytester, capsys):
    pytester.makefile(".yaml", suite=SUITE.replace("max_drop: 0.5", "max_drop: 0.01"))
    write_tiny_model_folder(pytester.path / "tiny")
    args = ["run", "suite.yaml", "--clip-model=local-dir:tiny", "--clip-report="]
    assert main([*args, "--clip-save-baseline=base.json", "--clip-results=first.json"]) == 1
    saved = json.loads((pytester.path / "base.json").read_text())
    assert saved["baseline"] is None
    assert _verdicts(pytester.path / "base.json") == _verdicts(pytester.path / "first.json")
    for case in saved["cases"]:  # pretend the release users have today reached far higher similarity
        if case["check"] == "reached":
            case["value"], case["interval"] = 0.9, [0.85, 0.95]
    (pytester.path / "base.json").write_text(json.dumps(saved))
    capsys.readouterr()
    assert main([*args, "--clip-baseline=base.json", "--clip-results=cli.json"]) == 1
    out = capsys.readouterr().out
    assert "0 passed, 3 failed, 0 skipped, 0 error, 2 regressions against the baseline" in out
    cli = json.loads((pytester.path / "cli.json").read_text())
    assert cli["baseline"]["regressions"] == 2 and cli["baseline"]["path"] == "base.json"
    by_pytest = pytester.runpytest("suite.yaml", "--clip-model=local-dir:tiny", "--clip-baseline=base.json",
                                   "--clip-results=pytest.json", "--clip-report=", "-p", "no:cacheprovider")
    by_pytest.assert_outcomes(passed=0, failed=3)
    by_pytest.stdout.fnmatch_lines(["*changes against the baseline (2 regressions)*",
                                    "*check*prompt*baseline*candidate*delta*verdict*",
                                    "REGRESSION*reached*passed -> failed (past max_drop 0.01)"])
    assert _verdicts(pytester.path / "cli.json") == _verdicts(pytester.path / "pytest.json")
    assert json.loads((pytester.path / "pytest.json").read_text())["baseline"] == cli["baseline"]


def test_report_rerenders_from_results(workdir, capsys):
    main(["run", "suite.yaml", "--clip-model=local-dir:tiny", "--clip-results=r.json", "--clip-report="])
    assert main(["report", "r.json", "--out", "again.html"]) == 0
    assert "data:image" in (workdir / "again.html").read_text()


def test_compare_flags_regressions_of_a_statistic(workdir, capsys):
    main(["run", "suite.yaml", "--clip-model=local-dir:tiny", "--clip-results=base.json", "--clip-report="])
    assert main(["compare", "base.json", "base.json", "--clip-report", "same.html"]) == 0
    base = json.loads((workdir / "base.json").read_text())
    for case in base["cases"]:
        if case["check"] == "reached":
            case["value"], case["interval"] = -0.9, [-0.95, -0.85]  # a far worse candidate
    (workdir / "worse.json").write_text(json.dumps(base))
    capsys.readouterr()
    assert main(["compare", "base.json", "worse.json", "--clip-report", "cmp.html", "--clip-results", "cmp.json"]) == 1
    out = capsys.readouterr().out
    assert out.count("REGRESSION") == 2 and out.count("passed -> failed (past max_drop 0.5)") == 2
    assert "2 regressions over 3 cases" in out
    assert json.loads((workdir / "cmp.json").read_text())["baseline"]["regressions"] == 2


def test_compare_gates_verdict_changes_and_missing_cases_with_no_suite_setting(workdir, capsys):
    """pytest-benchmark's compare-fail: passed -> failed, new and failing, and a baseline case the candidate
    lacks are regressions, though no check sets max_rise or max_drop."""
    main(["run", "suite.yaml", "--clip-model=local-dir:tiny", "--clip-results=base.json", "--clip-report=",
          "--clip-steps=2"])
    base = json.loads((workdir / "base.json").read_text())
    for case in base["cases"]:
        case["max_drop"] = None  # no statistic gate anywhere
    (workdir / "base.json").write_text(json.dumps(base))
    candidate = json.loads(json.dumps(base))
    worse, gone = (c for c in candidate["cases"] if c["check"] == "reached")
    assert worse["outcome"] == "passed"
    worse["outcome"], worse["reason"] = "failed", "sim.mean below the threshold"
    new = json.loads(json.dumps(worse))
    new["nodeid"], new["check"] = new["nodeid"].replace("reached", "fresh"), "fresh"
    candidate["cases"] = [c for c in candidate["cases"] if c is not gone] + [new]
    (workdir / "cand.json").write_text(json.dumps(candidate))
    capsys.readouterr()
    assert main(["compare", "base.json", "cand.json", "--clip-report=", "--clip-results=cmp.json"]) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    head = next(line for line in lines if line.startswith(" ") and "verdict" in line)
    assert all(word in head for word in ("check", "prompt", "baseline", "candidate", "delta", "verdict"))
    rows = [line for line in lines if line.startswith("REGRESSION")]
    assert len(rows) == 3
    worse_text, gone_text = repr(worse["prompt"]), repr(gone["prompt"])
    assert any("reached" in r and worse_text in r and "passed -> failed" in r and "+0" in r for r in rows)
    assert any("fresh" in r and "new -> failed" in r for r in rows)
    assert any("reached" in r and gone_text in r and "passed -> missing" in r for r in rows)
    assert "3 regressions over 3 cases" in out
    saved = json.loads((workdir / "cmp.json").read_text())["baseline"]
    assert saved["regressions"] == 3 and [c["prompt"] for c in saved["missing"]] == [gone["prompt"]]


def test_compare_update_baseline_writes_the_candidate_explicitly(workdir, capsys):
    main(["run", "suite.yaml", "--clip-model=local-dir:tiny", "--clip-results=base.json", "--clip-report=",
          "--clip-steps=2"])
    candidate = json.loads((workdir / "base.json").read_text())
    candidate["cases"] = candidate["cases"][1:]
    (workdir / "cand.json").write_text(json.dumps(candidate))
    assert main(["compare", "base.json", "cand.json", "--clip-report="]) == 1
    assert main(["compare", "base.json", "cand.json", "--clip-report=", "--update-baseline"]) == 0
    assert "baseline updated: base.json" in capsys.readouterr().out
    assert len(json.loads((workdir / "base.json").read_text())["cases"]) == 2
    assert main(["compare", "base.json", "cand.json", "--clip-report="]) == 0


def test_errors_are_one_line_and_exit_2(workdir, capsys):
    (workdir / "bad.yaml").write_text("clipsafety: 1\nname: bad\nprompts: []\n")
    assert main(["run", "bad.yaml", "--clip-model=local-dir:tiny"]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml:1: checks: missing required key 'checks'" in err and "Traceback" not in err
    assert main(["report", "missing.json"]) == 2
    assert "cannot read results file" in capsys.readouterr().err


def test_a_case_that_raises_is_an_error_everywhere(workdir, capsys, monkeypatch):
    from clipsafety.probes.similarity import SimilarityProbe

    def explode(self, images, prompts):
        raise RuntimeError("probe exploded")

    monkeypatch.setattr(SimilarityProbe, "measure", explode)
    code = main(["run", "suite.yaml", "--clip-model=local-dir:tiny", "--clip-results=out/r.json",
                 "--clip-report=out/r.html"])
    assert code == 1
    out = capsys.readouterr()
    assert "0 passed, 0 failed, 0 skipped, 3 error" in out.out and "Traceback" not in out.err
    assert out.err.count("ERROR") == 3
    data = json.loads((workdir / "out" / "r.json").read_text())
    assert data["summary"] == {"passed": 0, "failed": 0, "skipped": 0, "error": 3, "waived": 0, "inconclusive": 0}
    assert {c["reason"] for c in data["cases"]} == {"RuntimeError: probe exploded"}
    audit = json.loads((workdir / "out" / "audit.log").read_text())
    assert audit["summary"]["error"] == 3
    html = (workdir / "out" / "r.html").read_text()
    assert 'data-verdict="error"' in html and "RuntimeError: probe exploded" in html


@pytest.mark.parametrize("option", ["--clip-results", "--clip-report", "--clip-save-baseline"])
def test_an_output_path_that_is_a_folder_stops_the_run_before_any_inversion(workdir, capsys, option):
    (workdir / "taken").mkdir()
    assert main(["run", "suite.yaml", "--clip-model=local-dir:tiny", f"{option}=taken"]) == 2
    err = capsys.readouterr().err
    assert f"{option}: taken is a folder, not a file" in err and "Traceback" not in err
    assert not (workdir / ".clipsafety-cache").exists()  # nothing was inverted


def test_an_output_under_a_file_or_two_outputs_on_one_path_are_refused(workdir, capsys):
    (workdir / "afile").write_text("x")
    assert main(["run", "suite.yaml", "--clip-model=local-dir:tiny", "--clip-report=afile/r.html"]) == 2
    assert "--clip-report: cannot create afile/r.html: afile is not a folder" in capsys.readouterr().err
    assert main(["run", "suite.yaml", "--clip-model=local-dir:tiny", "--clip-results=x.json",
                 "--clip-save-baseline=x.json"]) == 2
    assert "--clip-results and --clip-save-baseline both name x.json" in capsys.readouterr().err
    (workdir / "reports").mkdir()
    (workdir / "reports" / "audit.log").mkdir()
    assert main(["run", "suite.yaml", "--clip-model=local-dir:tiny"]) == 2
    assert "--clip-results (its audit.log): reports/audit.log is a folder" in capsys.readouterr().err
    assert not (workdir / ".clipsafety-cache").exists()


def test_an_unusable_cache_stops_the_run_before_any_inversion(workdir, capsys):
    (workdir / "afile").write_text("not a folder")
    assert main(["run", "suite.yaml", "--clip-model=local-dir:tiny", "--clip-cache=afile"]) == 2
    err = capsys.readouterr().err
    assert "the inversion cache cannot be used" in err and "Traceback" not in err
    assert not (workdir / "reports").exists()  # nothing was measured, nothing written


def test_report_and_compare_check_their_outputs_and_inputs(workdir, capsys):
    main(["run", "suite.yaml", "--clip-model=local-dir:tiny", "--clip-results=r.json", "--clip-report="])
    (workdir / "dir").mkdir()
    capsys.readouterr()
    assert main(["report", "r.json", "--clip-report", "dir"]) == 2
    assert "--clip-report: dir is a folder, not a file" in capsys.readouterr().err
    assert main(["compare", "r.json", "r.json", "--out", "c.html", "--json", "dir"]) == 2  # the short spellings
    assert "--clip-results: dir is a folder, not a file" in capsys.readouterr().err
    assert not (workdir / "c.html").exists()
    bad = json.loads((workdir / "r.json").read_text())
    bad["cases"][0]["seeds"] = "zz"
    (workdir / "bad.json").write_text(json.dumps(bad))
    (workdir / "latin1.json").write_bytes(b'{"format": "caf\xe9"}')
    for argv in (["report", "bad.json"], ["compare", "r.json", "bad.json"], ["compare", "bad.json", "r.json"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "bad.json: cases[0].seeds: expected a list, got 'zz'" in err and "Traceback" not in err
    assert main(["report", "latin1.json"]) == 2
    assert "latin1.json: cannot read results file: not UTF-8 text" in capsys.readouterr().err
    assert sorted(p.name for p in workdir.iterdir() if p.name.endswith(".tmp")) == []


PASSING_ONLY = SUITE.replace("  - {id: impossible", "  # - {id: impossible").replace("overrides: {steps: 8",
                                                                                     "overrides: {steps: 2")


@pytest.mark.parametrize("kind, code", [("toy", 1), ("natural", 0)])
def test_run_fails_when_a_required_kind_never_ran(workdir, capsys, kind, code):
    (workdir / "suite.yaml").write_text(PASSING_ONLY)
    assert main(["run", "suite.yaml", "--clip-model=local-dir:tiny", "--clip-results=out/r.json",
                 "--clip-report=", f"--clip-require={kind}"]) == code
    out = capsys.readouterr().out
    assert ("--clip-require=toy: no toy-world check ran" in out) == (kind == "toy")
    assert len(json.loads((workdir / "out" / "r.json").read_text())["gate"]["problems"]) == code


def test_run_waives_a_failure_named_in_the_waivers_file(workdir, capsys):
    (workdir / "w.yaml").write_text("waivers:\n  - {check: impossible, model: 'local-dir:*', reason: known, "
                                    "owner: me, expires: 2999-01-01}\n")
    assert main(["run", "suite.yaml", "--clip-model=local-dir:tiny", "--clip-results=out/r.json",
                 "--clip-report=", "--clip-waivers=w.yaml", "--clip-steps=2", "--clip-allow-reduced-budget"]) == 0
    assert "2 passed, 0 failed, 0 skipped, 0 error, 1 waived" in capsys.readouterr().out


def test_help_shows_every_option_including_those_that_write_a_percent_sign(pytester, capsys):
    """argparse %-formats help text: a literal "95%" in an option's help once crashed both `clipsafety run
    --help` and `pytest --help` with a TypeError."""
    with pytest.raises(SystemExit) as done:
        main(["run", "--help"])
    assert done.value.code == 0
    assert "each check's 95% interval" in " ".join(capsys.readouterr().out.split())
    result = pytester.runpytest_subprocess("--help")
    assert result.ret == 0
    assert "each check's 95% interval" in " ".join(result.stdout.str().split())


def test_version_and_exit_codes_in_help(capsys):
    from clipsafety import __version__
    from clipsafety.cli import EXIT_CODES

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"clipsafety {__version__}"
    for argv in (["--help"], ["run", "--help"]):
        with pytest.raises(SystemExit):
            main(argv)
        out = capsys.readouterr().out
        assert "exit codes" in out and all(f"  {code:<5}" in out for code, _, _ in EXIT_CODES)


def test_readme_carries_the_same_exit_code_table():
    from pathlib import Path

    from clipsafety.cli import exit_code_markdown

    readme = (Path(__file__).parents[2] / "README.md").read_text().splitlines()
    start = readme.index("| code | `pytest suites/` | `clipsafety run`, `compare`, `report`, `models` |")
    assert readme[start + 2:start + 2 + len(exit_code_markdown())] == exit_code_markdown()


def test_run_k_selects_cases_as_pytest_does(workdir, capsys):
    assert main(["run", "suite.yaml", "--clip-model=local-dir:tiny", "--clip-results=r.json", "--clip-report=",
                 "--clip-steps=2", "--clip-allow-reduced-budget", "-k", "reached and not a-dog"]) == 0
    assert [c["nodeid"] for c in json.loads((workdir / "r.json").read_text())["cases"]] == \
        ["suite.yaml::reached[a-cat]"]
    assert main(["run", "suite.yaml", "--clip-model=local-dir:tiny", "-k", "reached and ("]) == 2
    assert "-k 'reached and ('" in capsys.readouterr().err


def test_models_lists_what_is_usable_and_json_for_more(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "toyclip-fair" in out and " absent" not in out
    assert main(["models", "--json"]) == 0
    usable = json.loads(capsys.readouterr().out)
    assert usable and all(e["usable"] for e in usable)
    assert main(["models", "--json", "--all"]) == 0
    every = json.loads(capsys.readouterr().out)
    assert len(every) > len(usable) and any(e["source"] == "open_clip" and not e["usable"] for e in every)


def test_a_failing_seeds_command_regenerates_its_image(workdir, capsys):
    """The `clipsafety invert` line a failing seed carries gives the run's image, hash for hash."""
    import shlex

    from markupsafe import escape

    from clipsafety.report.html import render_report
    from clipsafety.results.record import CaseRecord
    from clipsafety.run.pipeline import failure_table

    assert main(["run", "suite.yaml", "--clip-model=local-dir:tiny", "--clip-results=r.json", "--clip-report="]) == 1
    capsys.readouterr()
    case = next(c for c in json.loads((workdir / "r.json").read_text())["cases"] if c["outcome"] == "failed")
    seed = next(s for s in case["seeds"] if s["failed"])
    command = seed["reproduce"]
    assert command.startswith("clipsafety invert --model local-dir:tiny --prompt 'a cat' --seed ")
    assert "--profile paper --steps 8" in command and "--set copies=2" in command
    assert f"reproduce seed {seed['seed']}: {command}" in failure_table(CaseRecord.from_json(case))
    report = render_report(json.loads((workdir / "r.json").read_text()))
    assert f'<code class="reproduce-command">{escape(command)}</code>' in report
    argv = shlex.split(command)
    assert argv[:2] == ["clipsafety", "invert"]
    assert main(argv[1:]) == 0
    out = capsys.readouterr().out
    assert f"image sha256 {seed['image']}" in out
    assert f"similarity {seed['similarity']:.6f}"[:16] in out  # the run rounds its value
    assert "cache key " in out and "'a cat'" in out
    assert (workdir / f"seed-{seed['seed']}.png").stat().st_size > 0
