"""Suite files: YAML -> validated, frozen dataclasses, with errors that name file:line.

A suite is a YAML file whose first top-level key is `clipsafety: 1`. We parse
with PyYAML's safe composer and walk the node tree ourselves, rather than
`yaml.safe_load`, so that every value keeps its line: each mistake becomes ONE
SuiteError "path:line: field: what is wrong" plus a fix, never a traceback.
Everything a check names (probe keys, probe types, statistics, settings,
prompt ids and tags, threshold ranges) is resolved here, at collection time,
not mid-run. Probe metadata comes from the probe classes, whose modules are
cheap to import (no torch, no weights).
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .errors import ProbeError, SuiteError
from .probes import SettingError, get_probe_class, probe_names, validate_settings
from .stats import ANCHORED_RANGE, BOUNDS, OPS, STATISTICS, metric_range

VERSION = 1
WORLDS = ("natural", "toy")
SUITE_SUFFIXES = (".yaml", ".yml")

TOP_KEYS = ("clipsafety", "name", "description", "applies_to", "inversion", "probes", "prompts", "checks")
INVERSION_KEYS = ("profile", "seeds", "overrides")
PROMPT_KEYS = ("id", "text", "tags")
CHECK_KEYS = ("metric", "op", "threshold", "bound", "above", "prompts", "id", "max_rise", "max_drop")
PROBE_RESERVED = ("type", "anchors")

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")  # ids end up in pytest node ids
_PROBE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")  # no dots: metrics are "<key>.<statistic>"
_OP_WORDS = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge"}


# -- the dataclasses ------------------------------------------------------------


@dataclass(frozen=True)
class Prompt:
    id: str
    text: str
    tags: tuple[str, ...] = ()
    line: int = 0


@dataclass(frozen=True)
class ProbeSpec:
    key: str  # how checks refer to it
    type: str  # registry name
    anchors: tuple[str, str] | None
    settings: dict[str, Any]
    line: int
    value_range: tuple[float, float] = (0.0, 1.0)  # per-image range after anchoring (ANCHORED_RANGE)

    @property
    def anchored(self) -> bool:
        return self.anchors is not None


@dataclass(frozen=True)
class Check:
    id: str
    probe: str  # a key of Suite.probes
    statistic: str  # a key of clipsafety.stats.STATISTICS
    op: str
    threshold: float
    bound: str = "point"
    above: float | None = None
    prompt_selector: tuple[str, ...] = ()  # prompt ids or tags; empty: every prompt
    line: int = 0
    # Regression gates against a baseline run (--clip-baseline): how far the
    # statistic may rise / drop, judged on the two runs' 95% intervals.
    max_rise: float | None = None
    max_drop: float | None = None

    @property
    def metric(self) -> str:
        return f"{self.probe}.{self.statistic}"

    def applies_to(self, prompt: Prompt) -> bool:
        if not self.prompt_selector:
            return True
        return prompt.id in self.prompt_selector or any(t in self.prompt_selector for t in prompt.tags)


@dataclass(frozen=True)
class InversionSpec:
    profile: str | None = None  # None: the runner's default for the model's world
    seeds: int | None = None  # None: the runner's default
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Suite:
    path: str
    name: str
    description: str
    version: int
    applies_to: tuple[str, ...]
    inversion: InversionSpec
    probes: dict[str, ProbeSpec]
    prompts: list[Prompt]
    checks: list[Check]
    sha256: str
    lines: dict[str, int] = field(default_factory=dict, repr=False, compare=False)  # field path -> line

    def prompts_for(self, check: Check) -> list[Prompt]:
        return [p for p in self.prompts if check.applies_to(p)]

    def where(self, field_path: str) -> str:
        """'path:line' of a field (e.g. 'inversion.overrides.steps'), for errors raised later."""
        line = self.lines.get(field_path)
        return f"{self.path}:{line}" if line else self.path


# -- recognising suite files ----------------------------------------------------

_SUITE_KEY = re.compile(r"""^(clipsafety|"clipsafety"|'clipsafety')\s*:""")


def is_suite_file(path: str | Path) -> bool:
    """True for a .yaml/.yml file whose first top-level key is `clipsafety:` (no full parse)."""
    path = Path(path)
    if path.suffix.lower() not in SUITE_SUFFIXES or not path.is_file():
        return False
    try:
        with path.open(encoding="utf-8", errors="replace") as fh:
            head = fh.read(64 * 1024)
    except OSError:
        return False
    for line in head.lstrip("\ufeff").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or stripped.startswith("%") or stripped == "---":
            continue
        return bool(_SUITE_KEY.match(line))
    return False


# -- the node walker ------------------------------------------------------------


def _did_you_mean(name: Any, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(name), list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _fmt(x: float) -> str:
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:g}"


def _fmt_range(lo: float, hi: float) -> str:
    return f"{'(' if math.isinf(lo) else '['}{_fmt(lo)}, {_fmt(hi)}{')' if math.isinf(hi) else ']'}"


def slug(text: str) -> str:
    """An id from prompt text: 'A Doctor!' -> 'a-doctor', accents dropped."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60].strip("-")


class _Reader:
    """Walks composed YAML nodes; every failure is a SuiteError at the node's line."""

    def __init__(self, path: str):
        self.path = path
        self.constructor = SafeConstructor()
        self.lines: dict[str, int] = {}

    # errors
    def fail(self, node: Node | None, field_path: str, message: str, fix: str | None = None) -> SuiteError:
        line = node.start_mark.line + 1 if node is not None else 1
        text = f"{field_path}: {message}" if field_path else message
        return SuiteError(text, where=f"{self.path}:{line}", fix=fix)

    def note(self, field_path: str, node: Node) -> None:
        self.lines[field_path] = node.start_mark.line + 1

    # scalars and shapes
    def value(self, node: Node, field_path: str, expected: str = "a single value") -> Any:
        if not isinstance(node, ScalarNode):
            raise self.fail(node, field_path, f"expected {expected}, got {self.kind(node)}")
        try:
            return self.constructor.construct_object(node)
        except yaml.YAMLError as err:
            problem = getattr(err, "problem", None) or str(err)
            raise self.fail(node, field_path, f"cannot read this value: {problem}") from None

    def kind(self, node: Node) -> str:
        if isinstance(node, MappingNode):
            return "a mapping"
        if isinstance(node, SequenceNode):
            return "a list"
        try:
            value = self.constructor.construct_object(node)
        except yaml.YAMLError:
            return f"{node.value!r}"
        if value is None:
            return "nothing (null)"
        name = {bool: "a boolean", int: "an integer", float: "a number", str: "the string"}.get(
            type(value), f"a {type(value).__name__}"
        )
        return f"{name} {value!r}"

    def to_python(self, node: Node, field_path: str, depth: int = 0) -> Any:
        """Plain data (dict/list/scalars) for free-form settings."""
        if depth > 20:
            raise self.fail(node, field_path, "nested too deeply (a recursive YAML alias?)")
        if isinstance(node, MappingNode):
            return {k: self.to_python(v, f"{field_path}.{k}", depth + 1) for k, (_, v) in self.mapping(node, field_path).items()}
        if isinstance(node, SequenceNode):
            return [self.to_python(v, f"{field_path}[{i}]", depth + 1) for i, v in enumerate(node.value)]
        return self.value(node, field_path)

    def mapping(self, node: Node, field_path: str, null_ok: bool = False) -> dict[str, tuple[Node, Node]]:
        """key -> (key node, value node); keys must be unique strings."""
        if null_ok and isinstance(node, ScalarNode) and self.value(node, field_path) is None:
            return {}
        if not isinstance(node, MappingNode):
            where = field_path or "the top level"
            raise self.fail(node, field_path, f"expected a mapping (key: value lines) for {where}, got {self.kind(node)}")
        out: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            key = self.value(key_node, field_path or "key")
            if not isinstance(key, str):
                raise self.fail(key_node, field_path, f"keys must be names, got {self.kind(key_node)}")
            if key in out:
                first = out[key][0].start_mark.line + 1
                raise self.fail(key_node, self.join(field_path, key), f"duplicate key (first given on line {first})")
            out[key] = (key_node, value_node)
        return out

    @staticmethod
    def join(field_path: str, key: str) -> str:
        return f"{field_path}.{key}" if field_path else key

    def known_keys(self, items: Mapping[str, tuple[Node, Node]], allowed: Iterable[str], field_path: str) -> None:
        allowed = list(allowed)
        for key, (key_node, _) in items.items():
            if key not in allowed:
                raise self.fail(
                    key_node,
                    self.join(field_path, key),
                    f"unknown key {key!r}{_did_you_mean(key, allowed)}",
                    fix=f"keys allowed {'in ' + field_path if field_path else 'at the top level'}: {', '.join(allowed)}",
                )

    def require(self, node: Node, items: Mapping[str, Any], keys: Iterable[str], field_path: str) -> None:
        for key in keys:
            if key not in items:
                where = f"in {field_path}" if field_path else "at the top level"
                raise self.fail(node, self.join(field_path, key), f"missing required key {key!r} {where}")

    def string(self, node: Node, field_path: str, *, empty_ok: bool = False) -> str:
        value = self.value(node, field_path, "a string")
        if not isinstance(value, str):
            fix = "quote it" if isinstance(value, (bool, int, float)) else None
            raise self.fail(node, field_path, f"expected a string, got {self.kind(node)}", fix=fix)
        if not empty_ok and not value.strip():
            raise self.fail(node, field_path, "must not be empty")
        self.note(field_path, node)
        return value

    def integer(self, node: Node, field_path: str, *, minimum: int | None = None) -> int:
        value = self.value(node, field_path, "an integer")
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(node, field_path, f"expected an integer, got {self.kind(node)}")
        if minimum is not None and value < minimum:
            raise self.fail(node, field_path, f"must be >= {minimum}, got {value}")
        self.note(field_path, node)
        return value

    def number(self, node: Node, field_path: str) -> float:
        value = self.value(node, field_path, "a number")
        # PyYAML reads plain 1e-3 (no dot) as a string; a plain scalar that parses is a number
        if isinstance(value, str) and isinstance(node, ScalarNode) and node.style is None:
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(node, field_path, f"expected a number, got {self.kind(node)}")
        if not math.isfinite(value):
            raise self.fail(node, field_path, f"must be a finite number, got {value}")
        self.note(field_path, node)
        return float(value)

    def strings(self, node: Node, field_path: str, *, single_ok: bool = False) -> list[str]:
        if single_ok and isinstance(node, ScalarNode):
            return [self.string(node, field_path)]
        if not isinstance(node, SequenceNode):
            raise self.fail(node, field_path, f"expected a list of strings, got {self.kind(node)}",
                            fix="write it as [a, b] or as '- item' lines")
        self.note(field_path, node)
        return [self.string(item, f"{field_path}[{i}]") for i, item in enumerate(node.value)]


# -- loading ------------------------------------------------------------------------


def load_suite(path: str | Path) -> Suite:
    """Read and validate a suite file; raises SuiteError naming file:line on any mistake."""
    path_str = str(path)
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise SuiteError("no such suite file", where=path_str) from None
    except OSError as err:
        raise SuiteError(f"cannot read the suite file: {err.strerror or err}", where=path_str) from None
    except UnicodeDecodeError as err:
        raise SuiteError(f"the suite file is not UTF-8 text (byte {err.start})", where=path_str,
                         fix="save it as UTF-8") from None
    return parse_suite(text, path_str)


def _syntax_error(err: yaml.YAMLError, path: str, text: str) -> SuiteError:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    line = mark.line + 1 if mark is not None else 1
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    context = getattr(err, "context", None)
    context_mark = getattr(err, "context_mark", None)
    if context and context_mark is not None and context_mark.line + 1 != line:
        context += f" started on line {context_mark.line + 1}"  # e.g. where an unclosed [ opened
    message = f"YAML syntax error: {problem}" + (f" ({context})" if context else "")
    fix = None
    source_lines = text.splitlines()
    source = source_lines[line - 1] if 0 < line <= len(source_lines) else ""
    if re.search(r":\s*>", source):
        fix = 'quote the operator, e.g. op: ">=" (a bare > starts a YAML block of text)'
    elif "\t" in source[: len(source) - len(source.lstrip())]:
        fix = "indent with spaces, not tabs"
    return SuiteError(message, where=f"{path}:{line}", fix=fix)


def parse_suite(text: str, path: str = "<suite>") -> Suite:
    """Validate suite text; `path` is only used in messages and Suite.path."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        raise _syntax_error(err, path, text) from None
    if root is None:
        raise SuiteError("the suite file is empty", where=f"{path}:1",
                         fix="start it with `clipsafety: 1`, then name, prompts and checks")
    r = _Reader(path)
    if not isinstance(root, MappingNode):
        raise r.fail(root, "", f"the top level of a suite must be a mapping (key: value lines), got {r.kind(root)}")
    top = r.mapping(root, "")
    if "clipsafety" not in top:
        raise r.fail(root, "clipsafety", "not a clipsafety suite: the `clipsafety: 1` key is missing",
                     fix="add `clipsafety: 1` as the first line")
    r.known_keys(top, TOP_KEYS, "")

    version_node = top["clipsafety"][1]
    version = r.value(version_node, "clipsafety")
    if isinstance(version, bool) or version != VERSION:
        raise r.fail(version_node, "clipsafety", f"unknown suite version {version!r}; this clipsafety reads version {VERSION}",
                     fix=f"write `clipsafety: {VERSION}` (or upgrade clipsafety)")
    r.require(root, top, ("name", "prompts", "checks"), "")
    name = r.string(top["name"][1], "name")
    description = r.string(top["description"][1], "description", empty_ok=True) if "description" in top else ""
    applies_to = _read_applies_to(r, top["applies_to"][1]) if "applies_to" in top else WORLDS
    inversion = _read_inversion(r, top["inversion"][1]) if "inversion" in top else InversionSpec()
    probes = _read_probes(r, top["probes"][1], applies_to) if "probes" in top else {}
    prompts = _read_prompts(r, top["prompts"][1])
    checks = _read_checks(r, top["checks"][1], probes, prompts)
    return Suite(
        path=path,
        name=name,
        description=description,
        version=VERSION,
        applies_to=tuple(applies_to),
        inversion=inversion,
        probes=probes,
        prompts=prompts,
        checks=checks,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        lines=r.lines,
    )


def _read_applies_to(r: _Reader, node: Node) -> tuple[str, ...]:
    worlds = r.strings(node, "applies_to", single_ok=True)
    for i, world in enumerate(worlds):
        if world not in WORLDS:
            item = node.value[i] if isinstance(node, SequenceNode) else node
            raise r.fail(item, f"applies_to[{i}]", f"unknown world {world!r}{_did_you_mean(world, WORLDS)}",
                         fix="use toy (the bundled toy-world models) and/or natural (real CLIPs)")
    if not worlds:
        raise r.fail(node, "applies_to", "must name at least one world", fix="e.g. applies_to: [natural, toy]")
    return tuple(dict.fromkeys(worlds))


def _read_inversion(r: _Reader, node: Node) -> InversionSpec:
    items = r.mapping(node, "inversion")
    r.known_keys(items, INVERSION_KEYS, "inversion")
    profile = r.string(items["profile"][1], "inversion.profile") if "profile" in items else None
    seeds = r.integer(items["seeds"][1], "inversion.seeds", minimum=1) if "seeds" in items else None
    overrides: dict[str, Any] = {}
    if "overrides" in items:
        for key, (key_node, value_node) in r.mapping(items["overrides"][1], "inversion.overrides").items():
            field_path = f"inversion.overrides.{key}"
            value = r.to_python(value_node, field_path)
            scalar = (type(None), bool, int, float, str)
            if not isinstance(value, scalar) and not (isinstance(value, list) and all(isinstance(v, scalar) for v in value)):
                raise r.fail(value_node, field_path, f"expected a number, string, boolean or list, got {r.kind(value_node)}")
            r.note(field_path, key_node)
            overrides[key] = value
    spec = InversionSpec(profile=profile, seeds=seeds, overrides=overrides)
    _check_inversion_settings(r, spec, items)
    return spec


def _annotation_accepts(annotation: str, value: Any) -> bool | None:
    """Does a settings field annotation (a string, e.g. 'int | None') accept a YAML value? None: unknown."""
    for part in (p.strip() for p in str(annotation).split("|")):
        if part == "None" and value is None:
            return True
        if part == "bool" and isinstance(value, bool):
            return True
        if part == "int" and isinstance(value, int) and not isinstance(value, bool):
            return True
        if part == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
            return True
        if part == "str" and isinstance(value, str):
            return True
        if part.startswith(("tuple[", "list[")) and isinstance(value, list):
            return True
        if part not in ("None", "bool", "int", "float", "str") and not part.startswith(("tuple[", "list[")):
            return None
    return False


def _check_inversion_settings(r: _Reader, spec: InversionSpec, items: Mapping[str, tuple[Node, Node]]) -> None:
    """Profile name and override keys against clipsafety.invert.settings, when it is importable."""
    try:
        from .invert.settings import PROFILES, get_settings  # stdlib only: cheap
    except ImportError:
        return
    from .errors import ClipSafetyError

    if spec.profile is not None and spec.profile not in PROFILES:
        raise r.fail(items["profile"][1], "inversion.profile",
                     f"unknown inversion profile {spec.profile!r}{_did_you_mean(spec.profile, PROFILES)}",
                     fix=f"use one of: {', '.join(PROFILES)}")
    some_profile = next(iter(PROFILES.values()), None)
    if not dataclasses.is_dataclass(some_profile):
        return
    fields = {f.name: f for f in dataclasses.fields(some_profile)}
    overrides_items = r.mapping(items["overrides"][1], "inversion.overrides") if "overrides" in items else {}
    for key, value in spec.overrides.items():
        key_node, value_node = overrides_items[key]
        if key not in fields:
            raise r.fail(key_node, f"inversion.overrides.{key}", f"unknown inversion setting {key!r}{_did_you_mean(key, fields)}",
                         fix=f"settings: {', '.join(fields)}")
        if _annotation_accepts(fields[key].type, value) is False:
            raise r.fail(value_node, f"inversion.overrides.{key}",
                         f"expected {fields[key].type}, got {r.kind(value_node)}")
    if spec.profile is not None and spec.overrides:
        try:
            get_settings(spec.profile, **dict(spec.overrides))
        except ClipSafetyError as err:
            raise r.fail(items["overrides"][1], "inversion.overrides", err.message, fix=err.fix) from None


def _read_probes(r: _Reader, node: Node, applies_to: tuple[str, ...]) -> dict[str, ProbeSpec]:
    probes: dict[str, ProbeSpec] = {}
    for key, (key_node, value_node) in r.mapping(node, "probes", null_ok=True).items():
        field_path = f"probes.{key}"
        if not _PROBE_KEY.match(key):
            fix = "checks refer to it as '<key>.<statistic>', so it cannot contain dots" if "." in key else None
            raise r.fail(key_node, field_path, f"probe key {key!r} must be a name of letters, digits, _ and -", fix=fix)
        items = r.mapping(value_node, field_path, null_ok=True)
        r.note(field_path, key_node)
        type_node = items["type"][1] if "type" in items else key_node
        type_name = r.string(items["type"][1], f"{field_path}.type") if "type" in items else key
        try:
            cls = get_probe_class(type_name)
        except ProbeError as err:
            if "type" not in items:
                raise r.fail(key_node, field_path,
                             f"no `type` given and {key!r} is not a probe type{_did_you_mean(key, probe_names())}",
                             fix=f"add `type:` with one of: {', '.join(probe_names())}") from None
            raise r.fail(type_node, f"{field_path}.type", err.message, fix=err.fix) from None

        anchors = _read_anchors(r, items["anchors"][1], f"{field_path}.anchors") if "anchors" in items else None
        settings = {
            k: r.to_python(v, f"{field_path}.{k}") for k, (_, v) in items.items() if k not in PROBE_RESERVED
        }
        for k, (k_node, _) in items.items():
            r.note(f"{field_path}.{k}", k_node)
        try:
            validate_settings(cls, settings)
        except SettingError as err:
            at = items[err.key][0] if err.key in items else key_node
            raise r.fail(at, f"{field_path}.{err.key}", err.message, fix=err.fix) from None
        other_worlds = sorted(set(applies_to) - set(cls.applies_to))
        if other_worlds:
            raise r.fail(type_node, field_path,
                         f"probe type {type_name!r} only reads {'/'.join(sorted(cls.applies_to))} images, "
                         f"but the suite applies to {', '.join(other_worlds)} models too",
                         fix=f"add `applies_to: [{', '.join(sorted(cls.applies_to))}]` at the top of the suite")
        probes[key] = ProbeSpec(
            key=key,
            type=type_name,
            anchors=anchors,
            settings=settings,
            line=key_node.start_mark.line + 1,
            value_range=ANCHORED_RANGE if anchors else tuple(cls.value_range),
        )
    return probes


def _read_anchors(r: _Reader, node: Node, field_path: str) -> tuple[str, str]:
    fix = "write anchors: [<low prompt>, <high prompt>], e.g. [a photo of a man, a photo of a woman]"
    if not isinstance(node, SequenceNode) or len(node.value) != 2:
        got = f"{len(node.value)} items" if isinstance(node, SequenceNode) else r.kind(node)
        raise r.fail(node, field_path, f"anchors must be a list of two prompts [low, high], got {got}", fix=fix)
    r.note(field_path, node)
    low, high = (r.string(item, f"{field_path}[{i}]") for i, item in enumerate(node.value))
    if low == high:
        raise r.fail(node, field_path, "the two anchors are the same prompt, so nothing lies between them", fix=fix)
    return low, high


def _read_prompts(r: _Reader, node: Node) -> list[Prompt]:
    if isinstance(node, ScalarNode) and r.value(node, "prompts") is None or (
        isinstance(node, SequenceNode) and not node.value
    ):
        raise r.fail(node, "prompts", "the prompt list is empty", fix="list at least one prompt, e.g. prompts: [a doctor]")
    if not isinstance(node, SequenceNode):
        raise r.fail(node, "prompts", f"expected a list of prompts, got {r.kind(node)}",
                     fix="write '- a doctor' lines, or {id: ..., text: ..., tags: [...]} items")
    prompts: list[Prompt] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(node.value):
        field_path = f"prompts[{i}]"
        line = item.start_mark.line + 1
        explicit_id = False
        if isinstance(item, ScalarNode):
            text = r.string(item, field_path)
            tags: tuple[str, ...] = ()
            pid = slug(text)
            id_node = item
        elif isinstance(item, MappingNode):
            items = r.mapping(item, field_path)
            r.known_keys(items, PROMPT_KEYS, field_path)
            r.require(item, items, ("text",), field_path)
            text = r.string(items["text"][1], f"{field_path}.text")
            tags = tuple(r.strings(items["tags"][1], f"{field_path}.tags", single_ok=True)) if "tags" in items else ()
            for j, tag in enumerate(tags):
                if not _ID.match(tag):
                    raise r.fail(items["tags"][1], f"{field_path}.tags[{j}]",
                                 f"tag {tag!r} must be letters, digits, '.', '_' or '-' (no spaces)")
            explicit_id = "id" in items
            id_node = items["id"][1] if explicit_id else item
            pid = r.string(id_node, f"{field_path}.id") if explicit_id else slug(text)
        else:
            raise r.fail(item, field_path, f"a prompt must be a string or a mapping with text:, got {r.kind(item)}")
        if explicit_id and not _ID.match(pid):
            raise r.fail(id_node, f"{field_path}.id", f"id {pid!r} must be letters, digits, '.', '_' or '-' (no spaces)")
        if not pid:
            raise r.fail(item, field_path, f"cannot derive an id from the text {text!r}",
                         fix=f"give it one: {{id: my-id, text: {text!r}}}")
        if pid in seen:
            how = "" if explicit_id else " (derived from the text)"
            raise r.fail(id_node, f"{field_path}.id" if explicit_id else field_path,
                         f"duplicate prompt id {pid!r}{how}; first used on line {seen[pid]}",
                         fix="give one of them a different `id:`")
        seen[pid] = line
        r.note(field_path, item)
        prompts.append(Prompt(id=pid, text=text.strip(), tags=tags, line=line))
    return prompts


def _read_checks(r: _Reader, node: Node, probes: dict[str, ProbeSpec], prompts: list[Prompt]) -> list[Check]:
    if isinstance(node, ScalarNode) and r.value(node, "checks") is None or (
        isinstance(node, SequenceNode) and not node.value
    ):
        raise r.fail(node, "checks", "the check list is empty",
                     fix="add at least one check, e.g. - {metric: nsfw.max, op: '<=', threshold: 0.5}")
    if not isinstance(node, SequenceNode):
        raise r.fail(node, "checks", f"expected a list of checks, got {r.kind(node)}",
                     fix="write each check as a '- metric: ...' item")
    checks: list[Check] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(node.value):
        check = _read_check(r, item, f"checks[{i}]", probes, prompts)
        if check.id in seen:
            explicit = "id" in r.mapping(item, f"checks[{i}]")
            raise r.fail(item, f"checks[{i}].id",
                         f"duplicate check id {check.id!r}{'' if explicit else ' (derived from metric, op and threshold)'}; "
                         f"first used on line {seen[check.id]}",
                         fix="give one of them a different `id:`")
        seen[check.id] = check.line
        checks.append(check)
    return checks


def _read_check(r: _Reader, node: Node, field_path: str, probes: dict[str, ProbeSpec], prompts: list[Prompt]) -> Check:
    items = r.mapping(node, field_path)
    r.known_keys(items, CHECK_KEYS, field_path)
    r.require(node, items, ("metric", "op", "threshold"), field_path)
    r.note(field_path, node)

    metric_node = items["metric"][1]
    metric = r.string(metric_node, f"{field_path}.metric")
    probe_key, dot, statistic = metric.partition(".")
    if not dot or not probe_key or not statistic:
        raise r.fail(metric_node, f"{field_path}.metric", f"metric {metric!r} must be '<probe key>.<statistic>'",
                     fix=f"e.g. {next(iter(probes), 'nsfw')}.mean; statistics: {', '.join(STATISTICS)}")
    if probe_key not in probes:
        declared = ", ".join(probes) or "none"
        if probe_key in probe_names():
            fix = f"declare it under `probes:`, e.g. probes: {{{probe_key}: {{}}}}"
        else:
            fix = f"declared probe keys: {declared}"
        raise r.fail(metric_node, f"{field_path}.metric",
                     f"metric {metric!r} refers to probe key {probe_key!r}, which is not declared under probes"
                     f"{_did_you_mean(probe_key, probes)}", fix=fix)
    if statistic not in STATISTICS:
        raise r.fail(metric_node, f"{field_path}.metric",
                     f"unknown statistic {statistic!r}{_did_you_mean(statistic, STATISTICS)}",
                     fix=f"statistics: {', '.join(STATISTICS)}")
    probe = probes[probe_key]

    op_node = items["op"][1]
    op = r.value(op_node, f"{field_path}.op")
    if op not in OPS:
        fix = f"use one of: {', '.join(repr(o) for o in OPS)}"
        if op == "" or op is None:
            fix = 'quote the operator, e.g. op: ">" (a bare > starts a YAML block of text)'
        raise r.fail(op_node, f"{field_path}.op", f"op {op!r} is not a comparison operator", fix=fix)

    threshold_node = items["threshold"][1]
    threshold = r.number(threshold_node, f"{field_path}.threshold")
    lo, hi = metric_range(probe.value_range, statistic)
    if not lo <= threshold <= hi:
        anchored_note = " (anchored)" if probe.anchored else ""
        raise r.fail(threshold_node, f"{field_path}.threshold",
                     f"threshold {threshold:g} is outside the range of {metric}{anchored_note}, {_fmt_range(lo, hi)}",
                     fix=f"pick a threshold in {_fmt_range(lo, hi)}")

    bound = "point"
    if "bound" in items:
        bound = r.value(items["bound"][1], f"{field_path}.bound")
        if bound not in BOUNDS:
            raise r.fail(items["bound"][1], f"{field_path}.bound",
                         f"bound {bound!r} is not one of {', '.join(BOUNDS)}{_did_you_mean(bound, BOUNDS)}",
                         fix="point gates on the statistic itself; lower/upper on that end of its 95% interval")

    above = None
    if STATISTICS[statistic].needs_above:
        if "above" not in items:
            raise r.fail(node, f"{field_path}.above", f"{metric} needs `above`: the value a seed must exceed to count",
                         fix=f"add e.g. above: 0.5 (within {_fmt_range(*probe.value_range)})")
        above_node = items["above"][1]
        above = r.number(above_node, f"{field_path}.above")
        vlo, vhi = probe.value_range
        if not vlo <= above <= vhi:
            raise r.fail(above_node, f"{field_path}.above",
                         f"above {above:g} is outside the values of probe {probe_key!r}, {_fmt_range(vlo, vhi)}")
    elif "above" in items:
        raise r.fail(items["above"][0], f"{field_path}.above", f"`above` only applies to frac_above, not {statistic}",
                     fix="remove it, or use the frac_above statistic")

    selector: tuple[str, ...] = ()
    if "prompts" in items:
        sel_node = items["prompts"][1]
        selector = tuple(r.strings(sel_node, f"{field_path}.prompts", single_ok=True))
        names = [p.id for p in prompts] + [t for p in prompts for t in p.tags]
        for j, name in enumerate(selector):
            if name not in names:
                at = sel_node.value[j] if isinstance(sel_node, SequenceNode) else sel_node
                raise r.fail(at, f"{field_path}.prompts[{j}]",
                             f"{name!r} matches no prompt id or tag{_did_you_mean(name, set(names))}",
                             fix=f"prompt ids: {', '.join(p.id for p in prompts)}")
        if not selector:
            raise r.fail(sel_node, f"{field_path}.prompts", "an empty prompt selector matches no prompt",
                         fix="remove `prompts:` to check every prompt")

    margins: dict[str, float | None] = {"max_rise": None, "max_drop": None}
    for key in margins:
        if key in items:
            margin = r.number(items[key][1], f"{field_path}.{key}")
            if margin < 0:
                raise r.fail(items[key][1], f"{field_path}.{key}", f"{key} must be >= 0, got {margin:g}",
                             fix=f"{key} is how far {metric} may move against the baseline run")
            margins[key] = margin

    if "id" in items:
        id_node = items["id"][1]
        check_id = r.string(id_node, f"{field_path}.id")
        if not _ID.match(check_id):
            raise r.fail(id_node, f"{field_path}.id", f"id {check_id!r} must be letters, digits, '.', '_' or '-' (no spaces)")
    else:
        check_id = f"{metric}-{_OP_WORDS[op]}-{threshold:g}"
    return Check(
        id=check_id,
        probe=probe_key,
        statistic=statistic,
        op=op,
        threshold=threshold,
        bound=bound,
        above=above,
        prompt_selector=selector,
        line=node.start_mark.line + 1,
        **margins,
    )


__all__ = [
    "Check",
    "InversionSpec",
    "Prompt",
    "ProbeSpec",
    "Suite",
    "is_suite_file",
    "load_suite",
    "parse_suite",
    "slug",
]
