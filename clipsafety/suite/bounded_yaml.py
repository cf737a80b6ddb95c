"""Suite text -> a YAML node tree, within limits, with errors that name file:line.

PyYAML's safe composer builds the node tree (no Python objects, no tags
beyond YAML's own), but on its own it would happily compose an alias bomb
(nine levels of `&a [*b, *b, ...]` expand to billions of nodes once walked)
or recurse until Python's stack gives out on 3,000 nested `[`. So the
composer below counts, as it goes, every node the document expands to (an
alias counts its anchor's whole subtree at every use) and the nesting depth
(an alias adds its anchor's height where it is used), and stops at
clipsafety.util.limits.MAX_YAML_NODES / MAX_YAML_DEPTH. The cost is linear in the
text, so a hostile file is refused in milliseconds.
"""

from __future__ import annotations

import re

import yaml
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent
from yaml.nodes import Node

from ..util import limits
from ..util.errors import SuiteError

YAML_TAG_PREFIX = "tag:yaml.org,2002:"
SAFE_TAGS = frozenset(tag for tag in SafeConstructor.yaml_constructors if tag is not None)
MERGE_TAG = YAML_TAG_PREFIX + "merge"


def shown_tag(tag: str) -> str:
    """'tag:yaml.org,2002:python/object' -> '!!python/object', as the user wrote it."""
    return "!!" + tag[len(YAML_TAG_PREFIX):] if tag.startswith(YAML_TAG_PREFIX) else tag


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader whose composer counts expanded nodes and depth, and refuses foreign tags."""

    def __init__(self, text: str, path: str, what: str = "suite"):
        super().__init__(text)
        self.path = path
        self.what = what  # the kind of file, for messages: "suite", "waivers file"
        self.expanded = 0  # nodes so far, an alias counting its anchor's whole subtree
        self.depth = 0  # nesting of the node being composed (the root is 1)
        self.deepest = 0  # deepest nesting reached inside the node being composed
        self.finished: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded nodes, height)

    def compose_node(self, parent, index):
        mark = self.peek_event().start_mark
        if self.check_event(AliasEvent):
            return self._reuse(super().compose_node(parent, index), mark)
        self.depth += 1
        if self.depth > limits.MAX_YAML_DEPTH:
            raise self._too_deep(mark)
        start, outer_deepest = self.expanded, self.deepest
        self.deepest = self.depth
        self._count(1, mark)
        node = super().compose_node(parent, index)
        self._check_tag(node)
        self.finished[id(node)] = (self.expanded - start, self.deepest - self.depth + 1)
        self.deepest = max(outer_deepest, self.deepest)
        self.depth -= 1
        return node

    def fetch_flow_collection_start(self, TokenClass) -> None:
        # Refuse at the scanner, before it looks ahead over thousands of unclosed [ (quadratic).
        if self.flow_level >= limits.MAX_YAML_DEPTH:
            raise self._too_deep(self.get_mark())
        super().fetch_flow_collection_start(TokenClass)

    def _reuse(self, node: Node, mark) -> Node:
        """An alias: count what it expands to, where it is used."""
        if id(node) not in self.finished:
            raise self._error(mark, "an alias refers to a node that contains it (a recursive alias)",
                              "a suite is a tree: write the value out instead of referring to itself")
        size, height = self.finished[id(node)]
        self._count(size, mark)
        reach = self.depth + height
        if reach > limits.MAX_YAML_DEPTH:
            raise self._too_deep(mark)
        self.deepest = max(self.deepest, reach)
        return node

    def _count(self, nodes: int, mark) -> None:
        self.expanded += nodes
        if self.expanded > limits.MAX_YAML_NODES:
            raise self._error(
                mark,
                f"the {self.what} expands to more than {limits.MAX_YAML_NODES:,} YAML values (the limit "
                "MAX_YAML_NODES; an alias *name counts its anchor's values at every use)",
                f"a {self.what} needs far fewer: write the values out, or split it into several files",
            )

    def _too_deep(self, mark) -> SuiteError:
        return self._error(mark, f"the YAML is nested more than {limits.MAX_YAML_DEPTH} levels deep "
                                 "(the limit MAX_YAML_DEPTH)",
                           f"a {self.what} needs a few levels: check for unclosed [ or {{ brackets")

    def _check_tag(self, node: Node) -> None:
        if node.tag == MERGE_TAG:
            raise self._error(node.start_mark, f"merge keys (<<) are not supported in a {self.what}",
                              "write the keys out where they are needed")
        if node.tag not in SAFE_TAGS:
            raise self._error(node.start_mark, f"the tag {shown_tag(node.tag)} is not allowed in a {self.what}",
                              f"a {self.what} holds plain data (text, numbers, true/false, dates, lists, "
                              "mappings): remove the tag")

    def _error(self, mark, message: str, fix: str) -> SuiteError:
        return SuiteError(message, where=f"{self.path}:{mark.line + 1}", fix=fix)


def compose(text: str, path: str, what: str = "suite") -> Node | None:
    """The node tree of a one-document YAML text (None when empty); SuiteError on any problem.
    `what` names the kind of file in messages ("suite", "waivers file")."""
    try:
        loader = _BoundedLoader(text, path, what)  # checks every character up front
    except yaml.reader.ReaderError as err:
        raise _unreadable_character(err, text, path) from None
    try:
        return loader.get_single_node()
    except yaml.reader.ReaderError as err:
        raise _unreadable_character(err, text, path) from None
    except yaml.YAMLError as err:
        raise syntax_error(err, path, text) from None
    finally:
        loader.dispose()


def _unreadable_character(err: yaml.reader.ReaderError, text: str, path: str) -> SuiteError:
    line = text.count("\n", 0, err.position) + 1
    code = err.character if isinstance(err.character, int) else ord(err.character)
    return SuiteError(f"the file contains the character U+{code:04X}, which YAML does not allow in a file",
                      where=f"{path}:{line}", fix="remove it (control characters can hide what a reviewer reads)")


def syntax_error(err: yaml.YAMLError, path: str, text: str) -> SuiteError:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    line = mark.line + 1 if mark is not None else 1
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    context = getattr(err, "context", None)
    context_mark = getattr(err, "context_mark", None)
    if context and context_mark is not None and context_mark.line + 1 != line:
        context += f" started on line {context_mark.line + 1}"  # e.g. where an unclosed [ opened
    message = f"YAML syntax error: {problem}" + (f" ({context})" if context else "")
    source_lines = text.splitlines()
    source = source_lines[line - 1] if 0 < line <= len(source_lines) else ""
    fix = None
    if re.search(r":\s*>", source):
        fix = 'quote the operator, e.g. op: ">=" (a bare > starts a YAML block of text)'
    elif "\t" in source[: len(source) - len(source.lstrip())]:
        fix = "indent with spaces, not tabs"
    return SuiteError(message, where=f"{path}:{line}", fix=fix)


def decode(data: bytes, path: str) -> str:
    """UTF-8 text of a suite file; a bad byte is named by its line."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise SuiteError(f"the suite file is not UTF-8 text (byte 0x{data[err.start]:02X} on line {line} "
                         "is not valid UTF-8)", where=f"{path}:{line}", fix="save the file as UTF-8") from None


__all__ = ["compose", "decode", "shown_tag", "syntax_error"]
