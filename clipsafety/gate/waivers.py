"""Waivers: failures a reviewer has looked at and accepted, for a while, in writing.

A waivers file (`--clip-waivers=FILE`, ini `clip_waivers`) is YAML:

    waivers:
      - check: no-lean                  # the check's id (a glob like no-* is allowed)
        suite: toy-planted-bias         # optional: the suite's name (glob); default any suite
        prompt: a-doctor                # optional: the prompt's id (glob); default every prompt
        model: toyclip-biased           # model name (glob), or a fingerprint prefix (8+ hex digits)
        reason: known colour lean of the role words, retraining planned
        owner: ana@example.com
        expires: 2026-12-31             # YYYY-MM-DD; the waiver stops waiving after this day
        ticket: SAFETY-123              # optional

A failed check that a waiver matches is "waived" (like pytest's xfail): shown
with the waiver's reason, images included, and it does not fail the run. The
waivers file itself fails the run when a waiver has expired, or when it waived
nothing (the failure it was written for is gone, or it names no check that
ran): a waiver never outlives its reason silently. A waiver that names its
`suite` is judged only in runs of that suite, so one team-wide file also
serves a run of a single suite.

The file is read by the suites' bounded YAML reader (clipsafety.suite.bounded_yaml:
size, expanded nodes, depth, plain-data tags only), so each mistake, or a hostile
file, is one ClipSafetyError naming file:line, the field and the fix. Control
characters are refused in every field, as in suites: a waiver's reason reaches the
terminal. Two waivers on one line are told apart by their column.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..util.errors import ClipSafetyError
from ..util.limits import MAX_WAIVERS, MAX_WAIVERS_BYTES
from ..suite.bounded_yaml import compose, shown_tag
from ..util.files import read_bounded
from ..util.names import did_you_mean
from ..util.text import CONTROL_CHARACTER

REQUIRED = ("check", "model", "reason", "owner", "expires")
OPTIONAL = ("suite", "prompt", "ticket")
FIELDS = REQUIRED + OPTIONAL
MIN_FINGERPRINT_PREFIX = 8  # hex digits; shorter would match models by accident
_HEX = re.compile(r"[0-9a-fA-F]+")
_EXAMPLE = ("waivers:\n  - {check: no-lean, model: toyclip-biased, reason: ..., owner: ..., "
            "expires: 2026-12-31}")


@dataclass(frozen=True)
class Waiver:
    check: str
    model: str
    reason: str
    owner: str
    expires: dt.date
    suite: str = "*"
    prompt: str = "*"
    ticket: str | None = None
    where: str = ""  # "file:line" of the entry

    def expired(self, today: dt.date) -> bool:
        return today > self.expires

    def matches_model(self, name: str | None, fingerprint: str | None) -> bool:
        if name is not None and fnmatchcase(name, self.model):
            return True
        return (bool(fingerprint) and len(self.model) >= MIN_FINGERPRINT_PREFIX and _HEX.fullmatch(self.model)
                is not None and fingerprint.lower().startswith(self.model.lower()))

    def matches(self, check_id: str, prompt_id: str, suite_name: str, model_name: str | None,
                fingerprint: str | None) -> bool:
        return (fnmatchcase(check_id, self.check) and fnmatchcase(prompt_id, self.prompt)
                and fnmatchcase(suite_name, self.suite) and self.matches_model(model_name, fingerprint))

    def describe(self) -> str:
        """'check 'no-lean', prompt 'a-doctor' in suite 'toy-planted-bias', model 'toyclip-biased''."""
        text = f"check {self.check!r}"
        if self.prompt != "*":
            text += f", prompt {self.prompt!r}"
        if self.suite != "*":
            text += f" in suite {self.suite!r}"
        return text + f", model {self.model!r}"

    def to_dict(self) -> dict[str, Any]:
        """What a results record keeps of the waiver that waived it."""
        return {"check": self.check, "suite": self.suite, "prompt": self.prompt, "model": self.model,
                "reason": self.reason, "owner": self.owner, "expires": self.expires.isoformat(),
                "ticket": self.ticket, "where": self.where}


@dataclass(frozen=True)
class Waivers:
    path: str
    entries: tuple[Waiver, ...] = ()

    def match(self, check_id: str, prompt_id: str, suite_name: str, model_name: str | None,
              fingerprint: str | None, today: dt.date) -> Waiver | None:
        """The first waiver in effect for this case, or None. An expired waiver waives nothing."""
        for waiver in self.entries:
            if not waiver.expired(today) and waiver.matches(check_id, prompt_id, suite_name, model_name, fingerprint):
                return waiver
        return None

    def problems(self, today: dt.date, used: Collection[Waiver], suites: Iterable[str] | None = None) -> list[str]:
        """Why the waivers file fails this run: waivers that expired, or that waived no failure.

        `used`: the waivers that waived a failure in this run. `suites`: the names of the suites
        the run loaded; a waiver that names a suite the run did not load is not judged on use, and
        in a run that loaded no suite only expiry is judged.
        """
        ran = None if suites is None else list(suites)
        problems = []
        for waiver in self.entries:
            if waiver.expired(today):
                problems.append(f"{waiver.where}: the waiver for {waiver.describe()} expired on "
                                f"{waiver.expires.isoformat()} (owner: {waiver.owner})\n"
                                "  fix: fix the failure, or renew the waiver with a later `expires` after review")
            elif waiver not in used and (ran is None or ran and (waiver.suite == "*" or any(
                    fnmatchcase(name, waiver.suite) for name in ran))):
                problems.append(f"{waiver.where}: the waiver for {waiver.describe()} waived nothing in this run: "
                                "no failing check matched it\n"
                                "  fix: remove it if the failure is fixed, or correct its check, prompt, suite "
                                "or model")
        return problems


# -- reading ---------------------------------------------------------------------------------------


class _Reader:
    """Walks composed YAML nodes; every failure is a ClipSafetyError at the node's line."""

    def __init__(self, path: str):
        self.path = path
        self.constructor = SafeConstructor()

    def fail(self, node: Node | None, field: str, message: str, fix: str | None = None) -> ClipSafetyError:
        line = node.start_mark.line + 1 if node is not None else 1
        return ClipSafetyError(f"{field}: {message}" if field else message, where=f"{self.path}:{line}", fix=fix)

    def scalar(self, node: Node, field: str, fix: str | None = None) -> Any:
        if not isinstance(node, ScalarNode):
            kind = "a list" if isinstance(node, SequenceNode) else "a mapping"
            raise self.fail(node, field, f"expected a single value, got {kind}")
        try:
            value = self.constructor.construct_object(node)
        except Exception as err:  # noqa: BLE001 - PyYAML's constructors raise ValueError etc. on bad input
            problem = getattr(err, "problem", None) or err
            raise self.fail(node, field, f"cannot read {node.value!r} as {shown_tag(node.tag)}: {problem}",
                            fix=fix or "write a plain value without a !!tag") from None
        if isinstance(value, str) and (bad := CONTROL_CHARACTER.search(value)):
            raise self.fail(node, field, f"contains the control character U+{ord(bad.group()):04X}",
                            fix="remove it: control characters can hide or rewrite what the terminal shows")
        return value

    def text(self, node: Node, field: str) -> str:
        value = self.scalar(node, field)
        if not isinstance(value, str) or not value.strip():
            got = "nothing" if value is None or value == "" else f"{type(value).__name__} {value!r}"
            raise self.fail(node, field, f"expected a non-empty text, got {got}", fix="write it as text (quote it)")
        return value.strip()

    def date(self, node: Node, field: str) -> dt.date:
        value = self.scalar(node, field, fix="write a day that exists, as YYYY-MM-DD")
        if isinstance(value, str):
            try:
                value = dt.date.fromisoformat(value.strip())
            except ValueError:
                pass
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            raise self.fail(node, field, f"expected a date, got {value!r}", fix="write the day as YYYY-MM-DD")
        return value

    def mapping(self, node: Node, field: str) -> dict[str, tuple[Node, Node]]:
        if not isinstance(node, MappingNode):
            raise self.fail(node, field, "expected a mapping (key: value lines)", fix=f"e.g.\n{_EXAMPLE}")
        out: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            key = self.scalar(key_node, field or "key")
            if not isinstance(key, str) or key in out:
                problem = "duplicate key" if key in out else "keys must be names"
                raise self.fail(key_node, f"{field}.{key}" if field else str(key), problem)
            out[key] = (key_node, value_node)
        return out


def _read_entry(r: _Reader, node: Node, index: int) -> Waiver:
    field = f"waivers[{index}]"
    items = r.mapping(node, field)
    for key, (key_node, _) in items.items():
        if key not in FIELDS:
            raise r.fail(key_node, f"{field}.{key}", f"unknown key {key!r}{did_you_mean(key, FIELDS)}",
                         fix=f"keys of a waiver: {', '.join(FIELDS)}")
    for key in REQUIRED:
        if key not in items:
            raise r.fail(node, f"{field}.{key}", f"missing {key!r}: a waiver names {', '.join(REQUIRED)}",
                         fix=f"add `{key}:` to this waiver")
    values: dict[str, Any] = {key: r.text(items[key][1], f"{field}.{key}")
                              for key in FIELDS if key in items and key != "expires"}
    values["expires"] = r.date(items["expires"][1], f"{field}.expires")
    return Waiver(**values, where=f"{r.path}:{node.start_mark.line + 1}")


def parse_waivers(text: str, path: str = "<waivers>") -> Waivers:
    """Validate waivers text; `path` names the file in messages."""
    root = compose(text, path, what="waivers file")
    r = _Reader(path)
    if root is None:
        return Waivers(path)  # an empty file waives nothing
    top = r.mapping(root, "")
    for key, (key_node, _) in top.items():
        if key != "waivers":
            raise r.fail(key_node, key, f"unknown key {key!r}{did_you_mean(key, ['waivers'])}",
                         fix=f"a waivers file has one key, `waivers:`, a list; e.g.\n{_EXAMPLE}")
    node = top["waivers"][1] if "waivers" in top else None
    if node is None or (isinstance(node, ScalarNode) and r.scalar(node, "waivers") is None):
        return Waivers(path)
    if not isinstance(node, SequenceNode):
        raise r.fail(node, "waivers", "expected a list of waivers", fix=f"write each waiver as a '- ' item; e.g.\n"
                                                                        f"{_EXAMPLE}")
    if len(node.value) > MAX_WAIVERS:
        raise r.fail(node, "waivers", f"{len(node.value)} waivers is more than the limit of {MAX_WAIVERS} "
                     "(MAX_WAIVERS)", fix="split the run, or keep fewer waivers")
    return Waivers(path, _told_apart(tuple(_read_entry(r, item, i) for i, item in enumerate(node.value)),
                                     node.value))


def _told_apart(entries: tuple[Waiver, ...], nodes: list[Node]) -> tuple[Waiver, ...]:
    """A waiver's `where` is how the run tracks its use: two on one line get file:line:column."""
    shared = {w.where for w in entries if sum(1 for other in entries if other.where == w.where) > 1}
    return tuple(dataclasses.replace(w, where=f"{w.where}:{node.start_mark.column + 1}") if w.where in shared else w
                 for w, node in zip(entries, nodes))


def load_waivers(path: str | Path) -> Waivers:
    """Read and validate a waivers file; raises ClipSafetyError naming file:line on any mistake."""
    where = str(path)
    try:
        data = read_bounded(path, MAX_WAIVERS_BYTES)
        if len(data) > MAX_WAIVERS_BYTES:
            raise ClipSafetyError(f"the waivers file is more than the limit of {MAX_WAIVERS_BYTES:,} bytes "
                                  "(MAX_WAIVERS_BYTES)", where=where, fix="keep fewer waivers in one file")
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise ClipSafetyError("no such waivers file", where=where,
                              fix="check the --clip-waivers path (or the clip_waivers ini value)") from None
    except OSError as err:
        raise ClipSafetyError(f"cannot read the waivers file: {err.strerror or err}", where=where) from None
    except UnicodeDecodeError as err:
        raise ClipSafetyError(f"the waivers file is not UTF-8 text (byte {err.start})", where=where,
                              fix="save it as UTF-8") from None
    return parse_waivers(text, where)
