"""Fixtures for the report tests: a parsed-HTML tree (stdlib html.parser) and the results of a real run.

`results` and `baseline_results` are the JSON of fixtures/results.json and
fixtures/compared.json: toy suites really run against toyclip-biased, alone and
compared with a toyclip-fair baseline run. Regenerate them with

    PYTHONPATH=. OMP_NUM_THREADS=2 python tests/report/fixtures/generate.py
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None]
    children: list = field(default_factory=list)  # Node or str
    parent: Node | None = None

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def iter(self):
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.iter()

    def find_all(self, tag: str | None = None, cls: str | None = None, **attrs):
        return [n for n in self.iter()
                if (tag is None or n.tag == tag) and (cls is None or cls in n.classes)
                and all(n.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())]

    def find(self, tag: str | None = None, cls: str | None = None, **attrs):
        found = self.find_all(tag, cls, **attrs)
        assert found, f"no <{tag} class={cls} {attrs}>"
        return found[0]

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def next_element(self):
        """The next sibling element (text between them skipped), or None."""
        siblings = [c for c in self.parent.children if isinstance(c, Node)]
        index = next(i for i, c in enumerate(siblings) if c is self)
        return siblings[index + 1] if index + 1 < len(siblings) else None

    def ancestor(self, cls: str):
        node = self.parent
        while node is not None and cls not in node.classes:
            node = node.parent
        return node


class TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs), parent=self.stack[-1])
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(Node(tag, dict(attrs), parent=self.stack[-1]))

    def handle_endtag(self, tag):
        # Pop to the matching open element; a stray end tag is ignored, like a browser would.
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    builder = TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def load_fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def _alone():
    return load_fixture("results.json")


@pytest.fixture
def results(_alone):
    """The run's results JSON, a fresh deep copy per test, so tests may edit it."""
    return copy.deepcopy(_alone)


@pytest.fixture(scope="session")
def _compared():
    return load_fixture("compared.json")


@pytest.fixture
def baseline_results(_compared):
    """The same run compared with a baseline run (clipsafety.gate.baseline); a fresh deep copy per test."""
    return copy.deepcopy(_compared)


@pytest.fixture(scope="session")
def parse_html():
    """parse(html) -> Node tree."""
    return parse


def assert_inert(doc: Node) -> None:
    """The report's only script is its own, no element has an on* handler, and
    every image is an embedded data URI: hostile strings stayed text."""
    scripts = doc.find_all("script")
    assert len(scripts) == 1 and "alert" not in scripts[0].text()
    for node in doc.iter():
        assert not any(name.startswith("on") for name in node.attrs), (node.tag, node.attrs)
        if node.tag == "img":
            assert node.attrs["src"].startswith("data:image/")


@pytest.fixture(scope="session")
def report_is_inert():
    """report_is_inert(doc): assert_inert as a fixture, for the report tests."""
    return assert_inert
