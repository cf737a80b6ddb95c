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
    assert _verdicts(pytester.path / "cli.json") == _verdicts(pytester.path / "pytest.json")
    assert json.loads((pytester.path / "pytest.json").read_text())["baseline"] == cli["baseline"]


def test_report_rerenders_from_results(workdir, capsys):
    main(["run", "suite.yaml", "--clip-model=local-dir:tiny", "--clip-results=r.json", "--clip-report="])
    assert main(["report", "r.json", "--out", "again.html"]) == 0
    assert "data:image" in (workdir / "again.html").read_text()


def test_compare_flags_regressions(workdir, capsys):
    main(["run", "suite.yaml", "--clip-model=local-dir:tiny", "--clip-results=base.json", "--clip-report="])
    assert main(["compare", "base.json", "base.json", "--out", "same.html"]) == 0
    base = json.loads((workdir / "base.json").read_text())
    for case in base["cases"]:
        if case["check"] == "reached":
            case["value"], case["interval"] = -0.9, [-0.95, -0.85]  # a far worse candidate
    (workdir / "worse.json").write_text(json.dumps(base))
    capsys.readouterr()
    assert main(["compare", "base.json", "worse.json", "--out", "cmp.html", "--json", "cmp.json"]) == 1
    out = capsys.readouterr().out
    assert out.count("REGRESSION") == 2 and "sim.mean dropped" in out
    assert json.loads((workdir / "cmp.json").read_text())["baseline"]["regressions"] == 2


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
    assert data["summary"] == {"passed": 0, "failed": 0, "skipped": 0, "error": 3, "waived": 0}
    assert {c["reason"] for c in data["cases"]} == {"RuntimeError: probe exploded"}
    audit = json.loads((workdir / "out" / "audit.log").read_text())
    assert audit["summary"]["error"] == 3
    html = (workdir / "out" / "r.html").read_text()
    assert 'id="verdict">ERROR<' in html and "RuntimeError: probe exploded" in html


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
    assert main(["report", "r.json", "--out", "dir"]) == 2
    assert "--out: dir is a folder, not a file" in capsys.readouterr().err
    assert main(["compare", "r.json", "r.json", "--out", "c.html", "--json", "dir"]) == 2
    assert "--json: dir is a folder, not a file" in capsys.readouterr().err
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
