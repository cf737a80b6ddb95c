"""What a run tells GitHub Actions (when GITHUB_ACTIONS=true): an `::error` annotation at the suite line of
each failing check, and a markdown table of the failures in the job's step summary ($GITHUB_STEP_SUMMARY),
each row linking to its case in the HTML report."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from ..report.view import case_anchor, check_line
from ..results.record import CaseRecord

FAILING = ("failed", "error", "inconclusive")


def on_github_actions(environ: Mapping[str, str] = os.environ) -> bool:
    return environ.get("GITHUB_ACTIONS") == "true"


def _data(text: str) -> str:
    """A workflow command's message, escaped as the runner reads it."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(record: CaseRecord, path: str, line: int) -> str:
    """`::error file=suite.yaml,line=12,title=...::hazard.mean 0.546 [0.461, 0.613] ≤ 0.15 ✗`."""
    title = f"clipsafety {record.outcome}: {record.check} on {record.prompt!r}"
    message = check_line(record) if record.outcome == "failed" else (record.reason or record.outcome)
    return f"::error file={_property(path)},line={line},title={_property(title)}::{_data(message)}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def step_summary(records: Sequence[CaseRecord], where: Mapping[str, tuple[str, int]], report: str | None) -> str:
    """The failures as a markdown table; each check links into the report when one was written."""
    failing = [r for r in records if r.outcome in FAILING]
    lines = [f"### clipsafety: {len(failing)} of {len(records)} checks did not pass", ""]
    if not failing:
        return "\n".join(lines[:1]) + "\n"
    lines += ["| outcome | check | prompt | value | suite line |", "|---|---|---|---|---|"]
    for record in failing:
        check = f"[{record.check}]({report}#{case_anchor(record.nodeid)})" if report else record.check
        path, line = where.get(record.nodeid, (record.suite_path, 0))
        value = check_line(record) if record.outcome == "failed" else (record.reason or "")
        lines.append("| " + " | ".join(_cell(x) for x in (record.outcome, check, repr(record.prompt), value,
                                                            f"{path}:{line}" if line else path)) + " |")
    return "\n".join(lines) + "\n"


def write_step_summary(text: str, environ: Mapping[str, str] = os.environ) -> None:
    path = environ.get("GITHUB_STEP_SUMMARY")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(text)


__all__ = ["annotation", "on_github_actions", "step_summary", "write_step_summary"]
