"""The command line's file arguments: results files read back, outputs that must not clobber inputs or
each other, and what `report` and `compare` make of results that hold no verdict."""

from __future__ import annotations

import json
import shutil

import pytest

from clipsafety.cli import main
from clipsafety.models.testing import write_tiny_model_folder

SUITE = """
clipsafety: 1
name: cli
inversion:
  profile: paper
  seeds: 2
  overrides: {steps: 2, init_size: 16, upscale_steps: [], copies: 1}
probes:
  sim: {type: similarity}
prompts: [a dog, a cat]
checks:
  - {id: reached, metric: sim.mean, op: ">", threshold: -1.0, max_drop: 0.5}
"""


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A folder with a suite, the tiny model, its cache and the results of one run (r.json)."""
    root = tmp_path_factory.mktemp("made")
    (root / "suite.yaml").write_text(SUITE)
    write_tiny_model_folder(root / "tiny")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        assert main(["run", "suite.yaml", "--clip-model=local-dir:tiny", "--clip-results=r.json",
                     "--clip-report=", "--clip-cache=cache"]) == 0
    return root


@pytest.fixture
def workdir(made, tmp_path, monkeypatch):
    for name in ("suite.yaml", "r.json"):
        shutil.copy(made / name, tmp_path / name)
    for name in ("tiny", "cache"):
        shutil.copytree(made / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _results(path) -> dict:
    return json.loads(path.read_text())


def _without_cases(workdir, name="empty.json"):
    data = _results(workdir / "r.json")
    data["cases"], data["images"] = [], {}
    data["summary"] = dict.fromkeys(data["summary"], 0)
    (workdir / name).write_text(json.dumps(data))
    return name


# -- results that hold no verdict ------------------------------------------------------------------


def test_a_report_of_results_without_cases_does_not_read_passed(workdir, capsys):
    assert main(["report", _without_cases(workdir), "--out", "e.html"]) == 0
    html = (workdir / "e.html").read_text()
    assert 'data-verdict="passed"' not in html and "no case" in html


def test_compare_with_a_candidate_without_cases_fails(workdir, capsys):
    assert main(["compare", "r.json", _without_cases(workdir), "--out", "c.html"]) == 1
    out = capsys.readouterr().out
    assert "0 regressions over 0 cases" not in out and "the candidate holds no case" in out
    assert "2 cases of the baseline run have no match in this run" in out


def test_compare_names_baseline_cases_missing_from_the_candidate(workdir, capsys):
    data = _results(workdir / "r.json")
    data["cases"] = data["cases"][:1]
    (workdir / "fewer.json").write_text(json.dumps(data))
    assert main(["compare", "r.json", "fewer.json", "--out", "c.html"]) == 1
    out = capsys.readouterr().out
    assert "no match in this run (each a regression): suite.yaml::reached[a-" in out
    assert any(line.startswith("REGRESSION") and "-> missing" in line for line in out.splitlines())


# -- baseline matching does not depend on how the suite's path was typed ---------------------------------


def test_a_baseline_matches_a_run_of_the_suite_by_its_absolute_path(workdir, capsys):
    args = ["--clip-model=local-dir:tiny", "--clip-report=", "--clip-cache=cache", "--clip-baseline=r.json"]
    assert main(["run", str(workdir / "suite.yaml"), "--clip-results=abs.json", *args]) == 0
    cases = _results(workdir / "abs.json")["cases"]
    assert cases and all(c["baseline"]["comparable"] for c in cases), [c["baseline"] for c in cases]
    notes = _results(workdir / "abs.json")["baseline"]["notes"]
    assert not any("not in the baseline run" in note for note in notes)


# -- --blur-above: one validator for run, report and compare ----------------------------------------------


@pytest.mark.parametrize("value", ["nan", "2", "-0.1", "inf"])
@pytest.mark.parametrize("command", [["report", "r.json"], ["compare", "r.json", "r.json"]])
def test_report_and_compare_refuse_a_blur_threshold_run_refuses(workdir, capsys, command, value):
    assert main([*command, "--out", "x.html", f"--blur-above={value}"]) == 2
    err = capsys.readouterr().err
    assert f"--clip-blur-above={value}: must be a number from 0 to 1" in err and "fix:" in err
    assert not (workdir / "x.html").exists()


# -- outputs: one file reached by two paths, an output that is an input, a path that is no regular file -------


def test_two_outputs_that_reach_one_file_through_a_symlinked_folder_are_refused(workdir, capsys):
    (workdir / "out").mkdir()
    (workdir / "link").symlink_to(workdir / "out")
    argv = ["run", "suite.yaml", "--clip-model=local-dir:tiny", "--clip-cache=cache"]
    assert main([*argv, "--clip-results=out/x.json", "--clip-save-baseline=link/x.json", "--clip-report="]) == 2
    assert "--clip-results and --clip-save-baseline both name" in capsys.readouterr().err
    assert main([*argv, "--clip-results=out/r.json", "--clip-report=link/audit.log"]) == 2
    assert "--clip-results (its audit.log) and --clip-report both name" in capsys.readouterr().err
    assert not (workdir / "out" / "x.json").exists() and not (workdir / "out" / "audit.log").exists()


@pytest.mark.parametrize("argv, option", [
    (["run", "suite.yaml", "--clip-report=suite.yaml"], "--clip-report"),
    (["run", "suite.yaml", "--clip-results=w.yaml", "--clip-waivers=w.yaml", "--clip-report="], "--clip-results"),
    (["run", "suite.yaml", "--clip-save-baseline=r.json", "--clip-baseline=r.json", "--clip-report="],
     "--clip-save-baseline"),
    (["report", "r.json", "--out", "r.json"], "--clip-report"),
    (["compare", "r.json", "c.json", "--out", "c.json"], "--clip-report"),
    (["compare", "r.json", "c.json", "--out", "x.html", "--json", "r.json"], "--clip-results"),
])
def test_an_output_that_is_one_of_the_inputs_is_refused(workdir, capsys, argv, option):
    (workdir / "w.yaml").write_text("waivers: []\n")
    shutil.copy(workdir / "r.json", workdir / "c.json")
    before = {p.name: p.read_bytes() for p in workdir.iterdir() if p.is_file()}
    assert main([*argv, "--clip-model=local-dir:tiny", "--clip-cache=cache"] if argv[0] == "run" else argv) == 2
    err = capsys.readouterr().err
    assert f"{option}:" in err and "is also an input of this run" in err and "fix:" in err
    assert {p.name: p.read_bytes() for p in workdir.iterdir() if p.is_file() and p.name in before} == before


def test_an_output_path_that_is_not_a_regular_file_is_refused(workdir, capsys):
    import os

    os.mkfifo(workdir / "pipe")  # a device node is refused by the same rule
    assert main(["report", "r.json", "--out", "pipe"]) == 2
    assert "--clip-report: pipe is not a regular file" in capsys.readouterr().err
    assert main(["run", "suite.yaml", "--clip-model=local-dir:tiny", "--clip-cache=cache", "--clip-results=pipe",
                 "--clip-report="]) == 2
    assert "--clip-results: pipe is not a regular file" in capsys.readouterr().err
    assert (workdir / "pipe").is_fifo() and not (workdir / "audit.log").exists()


# -- text a results file cannot hold, and outputs written each on its own ---------------------------------------


def test_a_lone_surrogate_in_a_results_file_is_refused_when_read(workdir, capsys):
    text = (workdir / "r.json").read_text().replace('"prompt": "a dog"', '"prompt": "a dog \\ud800"', 1)
    (workdir / "s.json").write_text(text)
    for argv in (["report", "s.json", "--out", "s.html"], ["compare", "r.json", "s.json", "--out", "c.html"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "s.json: cases[" in err and "U+D800" in err and "Traceback" not in err
    assert not (workdir / "s.html").exists() and not (workdir / "c.html").exists()


def test_each_output_is_written_whatever_another_one_raised(tmp_path):
    from clipsafety.results.outputs import Output, write_outputs

    def broken():
        raise UnicodeEncodeError("ascii", "é", 0, 1, "ordinal not in range(128)")

    done = write_outputs([(Output("--out", "report", tmp_path / "r.html"), broken),
                          (Output("--json", "results", tmp_path / "r.json"),
                           lambda: (tmp_path / "r.json").write_text("{}"))])
    assert done.written == [("results", tmp_path / "r.json")]
    assert len(done.failed) == 1 and "report not written" in done.failed[0] and "UnicodeEncodeError" in done.failed[0]


# -- inputs that are no regular file: read neither forever nor without bound -------------------------------------


def test_a_results_file_that_is_a_device_is_refused_unread(workdir, capsys):
    assert main(["report", "/dev/zero", "--out", "z.html"]) == 2
    assert "/dev/zero: cannot read results file: it is not a regular file" in capsys.readouterr().err


def test_a_fifo_as_results_waivers_or_suite_file_is_refused_without_waiting(workdir, capsys):
    import os

    os.mkfifo(workdir / "pipe")  # opening it to read would wait for a writer forever
    assert main(["report", "pipe", "--out", "p.html"]) == 2
    assert "pipe: cannot read results file: it is not a regular file" in capsys.readouterr().err
    assert main(["run", "suite.yaml", "--clip-model=local-dir:tiny", "--clip-cache=cache", "--clip-waivers=pipe",
                 "--clip-report="]) == 2
    assert "pipe: cannot read the waivers file: it is not a regular file" in capsys.readouterr().err
    from clipsafety.suite import load_suite
    from clipsafety.util.errors import ClipSafetyError

    with pytest.raises(ClipSafetyError, match="not a regular file"):
        load_suite(workdir / "pipe")


def test_reading_stops_at_the_limit_whatever_the_size_the_file_claims(tmp_path, monkeypatch):
    from clipsafety.util.files import read_bounded

    (tmp_path / "big").write_bytes(b"x" * 100)
    assert read_bounded(tmp_path / "big", 200) == b"x" * 100
    assert len(read_bounded(tmp_path / "big", 10)) == 11  # one past the limit: the caller says it is too big
