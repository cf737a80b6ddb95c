"""Render a run's results (clipsafety.results.record.Results) as one self-contained HTML file.

Everything is inline: the CSS, the JS, the images (data URIs). A Content
Security Policy in the page forbids every network request and allows only our
own script and style, pinned by hash, so even a string that slipped past
escaping could neither run nor load anything.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Mapping
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from .. import __version__
from ..util.files import atomic_write
from ..util.text import visible_text
from ..results.record import Results
from .view import STATUSES, TREND_TITLES, build_baseline, build_suites, build_summary


def _visible(value: Any) -> Any:
    """The `visible` filter: a string with its bidirectional and zero-width characters written as
    <U+XXXX>, so that a suite string cannot pass itself off as another; the template applies it to
    every string that comes from a suite, and autoescape then escapes the result for HTML."""
    return visible_text(value) if isinstance(value, str) else value


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("clipsafety.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,  # a typo in the template fails loudly, not blank
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["visible"] = _visible
    return environment


@cache
def _asset(name: str) -> str:
    # Static CSS/JS, read verbatim (not rendered): the CSP hash must match the exact bytes.
    # They carry a .j2 suffix only so that the package data globs ship them.
    source, _, _ = _environment().loader.get_source(_environment(), name)
    return source


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def _content_security_policy(css: str, script: str) -> str:
    return "; ".join([
        "default-src 'none'",
        "img-src data:",
        f"style-src {_csp_hash(css)}",
        f"script-src {_csp_hash(script)}",
        "base-uri 'none'",
        "form-action 'none'",
    ])


def render_report(results: Results | Mapping[str, Any], *, blur_above: float = 0.5) -> str:
    """The report as an HTML string. Images with an NSFW score > blur_above start blurred.

    A mapping (a results file's JSON) is validated first: ResultsError names its first bad field.
    """
    if not isinstance(results, Results):
        results = Results.from_json(results)
    css, script = _asset("report.css.j2"), _asset("report.js.j2")
    suites = build_suites(results, blur_above)
    flagged = sum(seed.flagged for suite in suites for row in suite.rows
                  for seed in [*row.seeds, *(row.baseline_seeds or [])])
    template = _environment().get_template("report.html.j2")
    return template.render(
        summary=build_summary(results),
        suites=suites,
        statuses=STATUSES,
        blur_above=blur_above,
        flagged_count=flagged,
        baseline=build_baseline(results),
        trend_titles=TREND_TITLES,
        regression_rows=sum(row.regression for suite in suites for row in suite.rows),
        generator_version=__version__,
        csp=_content_security_policy(css, script),
        css=Markup(css),
        script=Markup(script),
    )


def write_report(results: Results | Mapping[str, Any], path: str | os.PathLike[str], *,
                 blur_above: float = 0.5) -> Path:
    """Render, then write atomically: a failed render or write leaves the old file and no temporary one."""
    return atomic_write(path, render_report(results, blur_above=blur_above))
