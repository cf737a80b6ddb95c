"""Output paths are checked before any work and written each on its own (clipsafety.results.outputs)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from clipsafety.results.outputs import Output, OutputError, RunOutputs, check_writable, write_outputs


def test_a_new_file_in_a_new_folder_is_fine_and_nothing_is_left_behind(tmp_path):
    assert check_writable(tmp_path / "a" / "b" / "r.json", "--clip-results") == tmp_path / "a" / "b" / "r.json"
    assert list(tmp_path.iterdir()) == []  # no folder made, no probe file left


@pytest.mark.parametrize(("make", "target", "message"), [
    (lambda p: (p / "d").mkdir(), "d", "is a folder, not a file"),
    (lambda p: (p / "f").write_text(""), "f/r.json", "is not a folder"),
    (lambda p: (p / "f").write_text(""), "f/deeper/r.json", "is not a folder"),
])
def test_unusable_paths_name_the_option(tmp_path, make, target, message):
    make(tmp_path)
    with pytest.raises(OutputError, match=f"^--clip-report: .*{message}") as err:
        check_writable(tmp_path / target, "--clip-report")
    assert "fix: give --clip-report a file path in a folder you can write to" in str(err.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_is_refused(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(OutputError, match="--clip-results: cannot write in"):
            check_writable(folder / "r.json", "--clip-results")
    finally:
        folder.chmod(0o755)


def test_the_audit_log_beside_the_results_is_checked_too(tmp_path):
    (tmp_path / "audit.log").mkdir()
    outputs = RunOutputs(results=tmp_path / "r.json")
    assert outputs.audit == tmp_path / "audit.log"
    with pytest.raises(OutputError, match=r"--clip-results \(its audit.log\): .* is a folder"):
        outputs.check()
    with pytest.raises(OutputError, match="--clip-results and --clip-report both name"):
        RunOutputs(results=Path("x.json"), report=Path("./x.json")).check()


def test_one_failing_write_loses_only_its_own_output(tmp_path):
    def fail():
        raise IsADirectoryError(21, "Is a directory")

    a, b, c = (Output(f"--{n}", n, tmp_path / n) for n in ("first", "second", "third"))
    done = write_outputs([(a, lambda: (tmp_path / "first").write_text("1")), (b, fail),
                          (c, lambda: (tmp_path / "third").write_text("3"))])
    assert done.written == [("first", a.path), ("third", c.path)]
    assert done.failed == [f"second not written to {b.path} (--second): Is a directory"]
