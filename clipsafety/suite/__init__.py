"""Suite files: YAML -> validated, frozen dataclasses, with errors that name file:line.

A suite is a YAML file whose first top-level key is `clipsafety: 1`, or any
file named `*.clipsafety.yaml` (which is then an error if it is not a valid
suite, rather than silently not collected). We compose PyYAML's node tree
within limits (bounded_yaml: size, expanded nodes, depth, plain-data tags
only) and walk it ourselves rather than calling `yaml.safe_load`, so that
every value keeps its line: each mistake becomes ONE SuiteError
"path:line: field: what is wrong" plus a fix, never a traceback.

Everything a check names (probe keys, probe types, statistics, settings,
prompt ids and tags, threshold ranges, inversion overrides against the
profiles they will meet) is resolved here, at collection time, not mid-run.
Probe metadata comes from the probe classes, whose modules are cheap to
import (no torch, no weights).

Text: NUL and the other C0/C1 control characters (except tab and newline) are
refused in every string, since they can hide or rewrite what a terminal or a
reviewer shows. Bidirectional controls (U+202E, ...) and zero-width characters
are allowed, because real scripts need them; the report (its `visible` filter) and the
terminal's failure table show them as <U+XXXX> (`clipsafety.util.text.visible_text`), so a
prompt cannot pass itself off as another.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from yaml.nodes import MappingNode, Node

from ..util import limits
from ..util.errors import SuiteError
from ..util.files import read_bounded
from ..models.kinds import SUITE_KINDS
from .bounded_yaml import compose, decode
from .checks import read_checks
from .inversion import read_inversion, setting_types
from .model import Check, InversionSpec, ProbeSpec, Prompt, Suite, condition_label, slug
from .reader import Reader
from .sections import read_applies_to, read_probes, read_prompts

VERSION = 1
SUITE_SUFFIXES = (".yaml", ".yml")
NAMED_SUITE_SUFFIXES = (".clipsafety.yaml", ".clipsafety.yml")  # a suite by its name, whatever it holds

TOP_KEYS = ("clipsafety", "name", "description", "applies_to", "inversion", "probes", "prompts", "checks")

_SUITE_KEY = re.compile(r"""^(clipsafety|"clipsafety"|'clipsafety')\s*:""")


# -- recognising suite files ----------------------------------------------------


def is_suite_file(path: str | Path) -> bool:
    """True for a file named *.clipsafety.yaml, or a .yaml/.yml file whose first top-level key is
    `clipsafety:` (read from its head, without a full parse)."""
    path = Path(path)
    if path.suffix.lower() not in SUITE_SUFFIXES or not path.is_file():
        return False
    if path.name.lower().endswith(NAMED_SUITE_SUFFIXES):
        return True
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


# -- loading ------------------------------------------------------------------------


def load_suite(path: str | Path) -> Suite:
    """Read and validate a suite file; raises SuiteError naming file:line on any mistake."""
    path_str = str(path)
    try:
        data = read_bounded(path, limits.MAX_SUITE_BYTES)
    except FileNotFoundError:
        raise SuiteError("no such suite file", where=path_str) from None
    except OSError as err:
        raise SuiteError(f"cannot read the suite file: {err.strerror or err}", where=path_str) from None
    if len(data) > limits.MAX_SUITE_BYTES:
        raise SuiteError(f"the suite file is larger than the limit of {limits.MAX_SUITE_BYTES:,} bytes "
                         "(MAX_SUITE_BYTES)", where=path_str, fix="split it into several suite files")
    return parse_suite(decode(data, path_str), path_str)


def parse_suite(text: str, path: str = "<suite>") -> Suite:
    """Validate suite text; `path` is only used in messages and Suite.path."""
    if len(text) > limits.MAX_SUITE_BYTES:
        raise SuiteError(f"the suite text is longer than the limit of {limits.MAX_SUITE_BYTES:,} characters "
                         "(MAX_SUITE_BYTES)", where=path, fix="split it into several suite files")
    root = compose(text, path)
    if root is None:
        raise SuiteError("the suite file is empty", where=f"{path}:1",
                         fix="start it with `clipsafety: 1`, then name, prompts and checks")
    r = Reader(path)
    top = _read_top(r, root)
    name = r.string(top["name"][1], "name")
    description = r.string(top["description"][1], "description", empty_ok=True) if "description" in top else ""
    applies_to = read_applies_to(r, top["applies_to"][1]) if "applies_to" in top else SUITE_KINDS
    inversion = read_inversion(r, top["inversion"][1], applies_to) if "inversion" in top else InversionSpec()
    probes = read_probes(r, top["probes"][1], applies_to) if "probes" in top else {}
    prompts = read_prompts(r, top["prompts"][1])
    checks = read_checks(r, top["checks"][1], probes, prompts)
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


def _read_top(r: Reader, root: Node) -> dict[str, tuple[Node, Node]]:
    """The top-level mapping, once it is known to be a suite of this version with its required keys."""
    if not isinstance(root, MappingNode):
        raise r.fail(root, "", f"the top level of a suite must be a mapping (key: value lines), got {r.kind(root)}",
                     fix="start it with `clipsafety: 1`, then name, prompts and checks")
    top = r.mapping(root, "")
    if "clipsafety" not in top:
        raise r.fail(root, "clipsafety", "not a clipsafety suite: the `clipsafety: 1` key is missing",
                     fix="add `clipsafety: 1` as the first line")
    moved = {"profile": "inversion.profile", "seeds": "inversion.seeds", "overrides": "inversion.overrides",
             "conditions": "inversion.conditions"}
    moved.update({key: f"inversion.overrides.{key}" for key in setting_types()})
    r.known_keys(top, TOP_KEYS, "", moved=moved)
    version_node = top["clipsafety"][1]
    version = r.value(version_node, "clipsafety")
    if isinstance(version, bool) or version != VERSION:
        raise r.fail(version_node, "clipsafety", f"unknown suite version {version!r}; this clipsafety reads version "
                     f"{VERSION}", fix=f"write `clipsafety: {VERSION}` (or upgrade clipsafety)")
    r.require(root, top, ("name", "prompts", "checks"), "")
    return top


__all__ = [
    "Check",
    "InversionSpec",
    "SUITE_KINDS",
    "Prompt",
    "ProbeSpec",
    "Suite",
    "condition_label",
    "is_suite_file",
    "load_suite",
    "parse_suite",
    "slug",
]
