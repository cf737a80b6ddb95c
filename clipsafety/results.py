"""The machine-readable results of a run: one JSON file, plus one audit-log line.

Format "clipsafety-results/1" (documented in README.md): provenance (model
fingerprint, versions, device, base seed, suite hashes, time), a summary, one
record per case (metric, interval, threshold, per-seed values and image
hashes) and the thumbnails keyed by image hash. Keys are sorted and floats
rounded, so two runs diff cleanly.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from . import __version__
from .session import Case, CaseOutcome, Session

FORMAT = "clipsafety-results/1"
OUTCOMES = ("passed", "failed", "skipped", "error")


def _round(x: float | None, digits: int = 6) -> float | None:
    if x is None or not np.isfinite(x):
        return None
    return round(float(x), digits)


def case_record(case: Case, nodeid: str, outcome: CaseOutcome | None, *, status: str | None = None,
                reason: str | None = None) -> dict[str, Any]:
    """A JSON-safe record of one case; `outcome` is None for cases that never ran (skips)."""
    suite, check, prompt = case.suite, case.check, case.prompt
    spec = suite.probes[check.probe]
    record: dict[str, Any] = {
        "nodeid": nodeid,
        "suite": suite.name,
        "suite_path": suite.path,
        "suite_description": suite.description,
        "prompt_id": prompt.id,
        "prompt": prompt.text,
        "tags": list(prompt.tags),
        "check": check.id,
        "metric": check.metric,
        "probe": check.probe,
        "probe_type": spec.type,
        "statistic": check.statistic,
        "op": check.op,
        "threshold": check.threshold,
        "bound": check.bound,
        "anchors": list(spec.anchors) if spec.anchors else None,
        "value": None,
        "interval": None,
        "gated_value": None,
        "direction": None,
        "outcome": status or (outcome.outcome if outcome else "skipped"),
        "reason": reason if reason is not None else (outcome.reason if outcome else None),
        "profile": outcome.profile if outcome else None,
        "settings_key": outcome.settings_key if outcome else None,
        "max_rise": check.max_rise,
        "max_drop": check.max_drop,
        "seeds": [],
    }
    if outcome is not None and outcome.baseline is not None:
        record["baseline"] = outcome.baseline
    if outcome is not None and outcome.result is not None:
        r = outcome.result
        record.update(
            value=_round(r.value),
            interval=[_round(r.interval[0]), _round(r.interval[1])],
            gated_value=_round(r.gated_value),
            direction=r.direction,
            seeds=[
                {"seed": s.seed, "value": _round(s.value), "similarity": _round(s.similarity),
                 "image": s.image_sha256, "failed": s.failed, "nsfw": _round(s.nsfw)}
                for s in outcome.seeds
            ],
        )
    return record


def thumbnails(outcome: CaseOutcome | None, known: dict[str, str]) -> dict[str, str]:
    """The outcome's images as {sha256: data URI}, encoding only those not in ``known``
    (the run's images so far, which this adds to): a prompt's images serve each of its checks."""
    if outcome is None or not outcome.images:
        return {}
    from .report.thumbnails import thumbnail_data_uri

    for digest, image in outcome.images.items():
        if digest not in known:  # content-addressed, so a known entry is never stale
            known[digest] = thumbnail_data_uri(image)
    return {digest: known[digest] for digest in outcome.images}


def provenance(session: Session | None, suites: Iterable, *, started: float, finished: float,
               command: str, model_info: dict | None = None) -> dict[str, Any]:
    import open_clip
    import torch

    model = model_info
    if model is None and session is not None and "handle" in session.__dict__:
        model = session.handle.describe()
    config = session.config if session else None
    return {
        "clipsafety": __version__,
        "torch": torch.__version__,
        "open_clip": getattr(open_clip, "__version__", "?"),
        "python": platform.python_version(),
        "model": model or {"name": config.model if config else None},
        "base_seed": config.base_seed if config else None,
        "seeds_override": config.seeds if config else None,
        "profile_override": config.profile if config else None,
        "started": datetime.fromtimestamp(started, timezone.utc).isoformat(timespec="seconds"),
        "finished": datetime.fromtimestamp(finished, timezone.utc).isoformat(timespec="seconds"),
        "duration_s": round(finished - started, 2),
        "command": command,
        "suites": {s.path: {"name": s.name, "sha256": s.sha256} for s in suites},
    }


def build_results(prov: dict, cases: list[dict], images: dict[str, str]) -> dict[str, Any]:
    ordered = sorted(cases, key=lambda c: c["nodeid"])
    summary = {k: sum(1 for c in ordered if c["outcome"] == k) for k in OUTCOMES}
    used = {s["image"] for c in ordered for s in c["seeds"]}
    return {
        "format": FORMAT,
        "provenance": prov,
        "summary": summary,
        "cases": ordered,
        "images": {k: images[k] for k in sorted(used) if k in images},
    }


def write_json_atomic(data: Any, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=1, sort_keys=True)
        handle.write("\n")
    os.chmod(tmp, 0o644)  # mkstemp makes it private; results are for the whole team
    os.replace(tmp, path)
    return path


def read_results(path: str | Path) -> dict[str, Any]:
    from .errors import ClipSafetyError

    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ClipSafetyError(f"cannot read results file: {err}", where=str(path)) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ClipSafetyError(f"not a {FORMAT} file", where=str(path),
                              fix="give a results file written by clipsafety (--clip-results)")
    return data


def append_audit(results: dict, results_path: str | Path | None, audit_path: str | Path) -> None:
    """One JSON line per run: when, which model, which suites, the verdict counts."""
    prov = results["provenance"]
    line = {
        "finished": prov["finished"],
        "model": prov["model"].get("name"),
        "pretrained": prov["model"].get("pretrained"),
        "fingerprint": prov["model"].get("fingerprint"),
        "device": prov["model"].get("device"),
        "base_seed": prov["base_seed"],
        "suites": prov["suites"],
        "summary": results["summary"],
        "results": str(results_path) if results_path else None,
        "command": prov["command"],
        "argv": sys.argv[1:],
    }
    path = Path(audit_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:  # a single small write: appends from concurrent runs stay whole
        handle.write(json.dumps(line, sort_keys=True) + "\n")
