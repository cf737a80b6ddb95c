"""Property: whatever paths `clipsafety report` and `compare` are given for their inputs and outputs
(an input again, the same file through a symlinked folder, a folder, a FIFO, a device, a missing
folder, a path under a file), the command exits 0, 1 or 2 with a message, never raises, never hangs,
never changes an input, never replaces what is not a regular file, and leaves no temporary file.
"""

from __future__ import annotations

import os
import shutil
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clipsafety.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "report" / "fixtures"
# Names a path argument may take, relative to the work folder: files, a link into a folder, odd files.
# A device is drawn only as an input: a regression would replace it on the machine running the tests
# (the FIFO stands for every file that is not a regular one among the outputs).
OUTPUTS = ["r.json", "c.json", "link/r.json", "out.html", "link/out.html", "new/deep/out.html", "folder",
           "pipe", "r.json/x.html", "bad.json", "link/../c.json", ""]
INPUTS = [*OUTPUTS, "/dev/zero", "missing.json"]
BLURS = ["0.5", "0", "1", "nan", "2", "-1", "inf", "x"]


def _restore(root: Path) -> None:
    shutil.copy(FIXTURES / "results.json", root / "r.json")
    shutil.copy(FIXTURES / "compared.json", root / "c.json")
    (root / "bad.json").write_bytes(b'{"format": "\\ud800"}')


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("paths")
    _restore(root)
    (root / "folder").mkdir()
    os.mkfifo(root / "pipe")
    (root / "link").symlink_to(root)  # the work folder again, through a symlink
    return root


def _snapshot(root: Path) -> dict[str, object]:
    """Every entry of the folder: a regular file's bytes, else its kind."""
    out = {}
    for path in sorted(root.iterdir()):
        mode = path.lstat().st_mode
        out[path.name] = path.read_bytes() if stat.S_ISREG(mode) else stat.S_IFMT(mode)
    return out


@st.composite
def command(draw) -> list[str]:
    read, written = st.sampled_from(INPUTS), st.sampled_from(OUTPUTS)
    if draw(st.booleans()):
        argv = ["report", draw(read)]
    else:
        argv = ["compare", draw(read), draw(read)]
        if draw(st.booleans()):
            argv += ["--json", draw(written)]
    return argv + ["--out", draw(written), "--blur-above", draw(st.sampled_from(BLURS))]


@settings(max_examples=60, deadline=timedelta(seconds=20), database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(argv=command())
def test_any_file_arguments_exit_cleanly_and_keep_the_inputs(tree, monkeypatch, capsys, argv):
    monkeypatch.chdir(tree)
    named = argv[1:2] if argv[0] == "report" else argv[1:3]  # this command's inputs
    inputs = {name: (tree / name).read_bytes() for name in named if (tree / name).is_file()}
    before = {name: kind for name, kind in _snapshot(tree).items() if not isinstance(kind, bytes)}
    code = main(argv)
    err = capsys.readouterr().err
    assert code in (0, 1, 2), argv
    assert "Traceback" not in err
    if code == 2:
        assert err.startswith("clipsafety: ") or "usage:" in err
    assert {name: (tree / name).read_bytes() for name in inputs} == inputs, f"{argv} changed an input"
    _restore(tree)  # what an example wrote over a file that was not its input
    after = _snapshot(tree)
    assert all(after.get(name) == kind for name, kind in before.items()), f"{argv} replaced a non-regular file"
    assert not [name for name in after if name.endswith(".tmp")]
    assert stat.S_ISCHR(os.stat("/dev/zero").st_mode)
    for made in ("out.html", "new"):  # outputs from earlier examples
        if (tree / made).is_dir():
            shutil.rmtree(tree / made)
        elif (tree / made).exists():
            (tree / made).unlink()
