"""No silent green: which kinds of checks a run reached, and `--clip-require`.

A suite runs only on the kinds of model its `applies_to` names; on another
model its cases are skipped. That is right, but a run whose natural-image
suites were all skipped has not judged a natural CLIP, and its green exit code
must not read as if it had. So the run says, per kind, what it skipped and
why, in one line:

    37 natural-image checks skipped: toyclip-fair is a toy model; no release verdict was reached for a natural CLIP

and `--clip-require=natural` (ini `clip_require`) turns "no check of that kind
ran" into a failed run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ..models.kinds import SUITES_FOR, runs_suites_of

# kind -> (what its checks are called, what a verdict would have been about)
KIND_WORDS = {"natural": ("natural-image", "a natural CLIP"), "synthetic": ("synthetic-world", "a synthetic model"),
              "toy": ("toy-world", "a toy model")}
RAN = ("passed", "failed", "error", "waived")  # outcomes of a check that reached a verdict
NO_VERDICT = "no release verdict was reached for "  # how every coverage line ends, before what it was about
_NO_VERDICT_FOR = re.compile(re.escape(NO_VERDICT) + r"(.+)$")


@dataclass(frozen=True)
class CaseKind:
    """What coverage needs of one case: the kinds its suite applies to, and its outcome."""
    applies_to: tuple[str, ...]
    outcome: str
    suite: str = ""
    reason: str | None = None  # why it was skipped, when it was


@dataclass(frozen=True)
class KindSkip:
    """The checks of one kind that did not run because the model is of another kind."""
    kind: str
    checks: int
    suites: tuple[str, ...]

    def line(self, model_name: str, model_kind: str) -> str:
        checks_word, verdict_for = KIND_WORDS.get(self.kind, (self.kind, f"a {self.kind} model"))
        plural = "check" if self.checks == 1 else "checks"
        return (f"{self.checks} {checks_word} {plural} skipped: {model_name} is a {model_kind} model; "
                f"{NO_VERDICT}{verdict_for}")


def skipped_kinds(cases: Iterable[CaseKind], model_kind: str) -> list[KindSkip]:
    """Per kind the model is not, the checks skipped for it (kinds in a fixed order)."""
    counts: dict[str, int] = {}
    suites: dict[str, list[str]] = {}
    for case in cases:
        if runs_suites_of(model_kind, case.applies_to):
            continue
        for kind in case.applies_to:
            counts[kind] = counts.get(kind, 0) + 1
            if case.suite and case.suite not in suites.setdefault(kind, []):
                suites[kind].append(case.suite)
    return [KindSkip(kind, counts[kind], tuple(suites.get(kind, ()))) for kind in sorted(counts)]


def stand_in_lines(cases: Iterable[CaseKind], model_name: str, model_kind: str) -> list[str]:
    """A line when the model ran another kind's checks as a stand-in (a synthetic model runs the natural
    suites): those verdicts measure the harness against planted flaws, and are no release verdict."""
    kind = SUITES_FOR.get(model_kind, model_kind)
    if kind == model_kind:
        return []
    ran = sum(1 for case in cases if kind in case.applies_to and model_kind not in case.applies_to
              and case.outcome in RAN)
    if not ran:
        return []
    checks_word, verdict_for = KIND_WORDS.get(kind, (kind, f"a {kind} model"))
    plural = "check" if ran == 1 else "checks"
    return [f"{ran} {checks_word} {plural} ran on {model_name}, a {model_kind} model: they measure the harness "
            f"against its planted flaws; {NO_VERDICT}{verdict_for}"]


def skipped_for_reason_lines(cases: Iterable[CaseKind], model_kind: str) -> list[str]:
    """A line per reason that skipped checks the model's kind runs (a suite that reads photos in a run that has
    none): "10 checks skipped: <reason>", in order of first appearance. Kind skips have their own line."""
    counts: dict[str, int] = {}
    for case in cases:
        if case.outcome == "skipped" and case.reason and runs_suites_of(model_kind, case.applies_to):
            counts[case.reason] = counts.get(case.reason, 0) + 1
    return [f"{n} {'check' if n == 1 else 'checks'} skipped: {reason}" for reason, n in counts.items()]


def verdicts_not_reached(lines: Iterable[str]) -> list[str]:
    """What the run's coverage lines say no verdict was reached for ("a natural CLIP"), each once, in order."""
    found: list[str] = []
    for line in lines:
        match = _NO_VERDICT_FOR.search(line)
        if match and match.group(1) not in found:
            found.append(match.group(1))
    return found


def ran_of_kind(cases: Iterable[CaseKind], kind: str, model_kind: str) -> int:
    """Checks of `kind` that reached a verdict in this run (none unless the model is of that kind)."""
    if kind != model_kind:
        return 0
    return sum(1 for case in cases if kind in case.applies_to and case.outcome in RAN)


def require_problems(required: Iterable[str], cases: Iterable[CaseKind], model_name: str,
                     model_kind: str) -> list[str]:
    """One message per required kind of which no check reached a verdict; [] when all did."""
    cases = list(cases)
    problems = []
    for kind in required:
        if ran_of_kind(cases, kind, model_kind):
            continue
        checks_word, verdict_for = KIND_WORDS.get(kind, (kind, f"a {kind} model"))
        if not cases:
            why = "no clipsafety case was collected or selected"
        elif kind != model_kind:
            why = f"{model_name} is a {model_kind} model"
        else:
            why = f"every {checks_word} check was skipped or none was collected"
        problems.append(f"--clip-require={kind}: no {checks_word} check ran ({why}), so this run is no release "
                        f"verdict for {verdict_for}\n"
                        f"  fix: run the {checks_word} suites against {verdict_for} (--clip-model), or drop "
                        f"{kind!r} from --clip-require / clip_require")
    return problems
