"""The results file on disk: one writer, one reader, the audit line.

The format (record.SCHEMA, described in docs/outputs.md): provenance (model
fingerprint, versions, device, base seed, suite hashes, time, encoder passes),
a summary, one record per case (metric, interval, threshold, per-seed values,
image hashes, steps and passes) and the thumbnails keyed by image hash. Keys
are sorted and floats rounded, so two runs diff cleanly.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Iterable

from ..util.files import read_bounded
from ..util.limits import MAX_RESULTS_BYTES
from .record import CaseRecord, Results, ResultsError

READ_FIX = "give a results file written by clipsafety (--clip-results or --clip-save-baseline)"


def encoder_passes(cases: Iterable[CaseRecord]) -> int:
    """Encoder passes that made the run's images, each image counted once however many checks read it
    (under inversion conditions, the images of every condition)."""
    cases = list(cases)
    passes = {seed.image: seed.passes for case in cases for seed in case.seeds}
    passes.update((sha, n) for case in cases for condition in case.conditions for sha, n in condition.images.items())
    return sum(passes.values())


def results_bytes(results: Results) -> bytes:
    return (json.dumps(results.to_json(), indent=1, sort_keys=True) + "\n").encode("utf-8")


def read_results(path: str | Path) -> Results:
    """A results or baseline file, validated whole; any problem is one ResultsError naming the file and field."""
    path = Path(path)
    try:
        raw = read_bounded(path, MAX_RESULTS_BYTES)
    except OSError as err:
        raise ResultsError(f"cannot read results file: {err.strerror or err}", where=str(path), fix=READ_FIX) from None
    if len(raw) > MAX_RESULTS_BYTES:
        raise ResultsError(f"cannot read results file: it is over the limit of {MAX_RESULTS_BYTES:,} bytes "
                           "(clipsafety.util.limits.MAX_RESULTS_BYTES)", where=str(path), fix=READ_FIX)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise ResultsError(f"cannot read results file: not UTF-8 text (byte {raw[err.start]:#04x} on line {line})",
                           where=str(path), fix=READ_FIX) from None
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except (json.JSONDecodeError, ValueError, RecursionError) as err:
        problem = f"line {err.lineno} column {err.colno}: {err.msg}" if isinstance(err, json.JSONDecodeError) \
            else str(err) or "nested too deeply"
        raise ResultsError(f"cannot read results file: not JSON ({problem})", where=str(path), fix=READ_FIX) from None
    return Results.from_json(data, where=str(path))


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number clipsafety writes")


def audit_line(results: Results, results_path: str | Path | None) -> str:
    """One JSON line per run: when, which model, which suites, the verdict counts."""
    prov = results.provenance
    line = {
        "finished": prov.finished,
        "model": prov.model.name,
        "pretrained": prov.model.pretrained,
        "fingerprint": prov.model.fingerprint,
        "device": prov.model.device,
        "base_seed": prov.base_seed,
        "suites": {path: info.to_json() for path, info in prov.suites.items()},
        "summary": results.summary,
        "exit_status": results.exit_status,
        "results": str(results_path) if results_path else None,
        "command": prov.command,
        "argv": sys.argv[1:],
    }
    return json.dumps(line, sort_keys=True) + "\n"


def append_audit(results: Results, results_path: str | Path | None, audit_path: str | Path) -> Path:
    path = Path(audit_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:  # one small write: appends from concurrent runs stay whole
        handle.write(audit_line(results, results_path))
    return path
