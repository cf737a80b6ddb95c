"""Results dict ("clipsafety-results/1") -> the plain view model the template renders.

All grouping, ordering and number formatting happens here, so the template
stays a dumb loop and the logic is testable without HTML. Strings from the
suite are passed through untouched: escaping is the template's job
(autoescape), never done twice.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

RESULTS_FORMAT = "clipsafety-results/1"
STATUSES = ("failed", "error", "passed", "skipped")
# Problems first: failed, then error, then the rest in suite order.
_STATUS_RANK = {"failed": 0, "error": 1, "passed": 2, "skipped": 2}
OP_SYMBOLS = {"<": "<", "<=": "≤", ">": ">", ">=": "≥", "==": "="}
OUTCOME_MARKS = {"passed": "✓", "failed": "✗", "skipped": "–", "error": "!"}
# Only inline raster images may reach an <img src>: anything else (a URL, a
# javascript: URI) would be a network request or worse.
SAFE_IMAGE_PREFIXES = ("data:image/png;base64,", "data:image/jpeg;base64,",
                       "data:image/webp;base64,", "data:image/gif;base64,")


def fmt_number(value: Any) -> str:
    """Short human form: 3 significant digits, '—' for missing."""
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if isinstance(value, int) or (abs(value) >= 1000 and float(value).is_integer()):
        return str(int(value))
    if abs(value) >= 1000:
        return f"{value:.0f}"
    return f"{value:.3g}"


def fmt_interval(interval: Any) -> str:
    if not interval or len(interval) != 2:
        return ""
    return f"[{fmt_number(interval[0])}, {fmt_number(interval[1])}]"


def fmt_duration(seconds: Any) -> str:
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def safe_image_uri(uri: Any) -> str | None:
    if isinstance(uri, str) and uri.startswith(SAFE_IMAGE_PREFIXES):
        return uri
    return None


def check_line(case: Mapping[str, Any]) -> str:
    """'nsfw.max 0.12 [0.05, 0.2] ≤ 0.3 ✓' (the gate compares the bound named by `bound`)."""
    metric = case.get("metric") or case.get("check") or "?"
    op = OP_SYMBOLS.get(case.get("op"), case.get("op") or "?")
    parts = [str(metric), fmt_number(case.get("value"))]
    interval = fmt_interval(case.get("interval"))
    if interval:
        parts.append(interval)
    parts += [op, fmt_number(case.get("threshold")), OUTCOME_MARKS.get(case.get("outcome"), "?")]
    return " ".join(parts)


@dataclass
class CheckView:
    check: str
    metric: str
    probe: str
    outcome: str
    line: str
    bound: str
    gated_value: str
    reason: str
    nodeid: str
    failing_seeds: list[int]
    anchors: list[str]


@dataclass
class SeedValue:
    check: str
    probe: str
    outcome: str
    value: str
    failed: bool


@dataclass
class SeedView:
    seed: Any
    image_uri: str | None
    nsfw: float | None
    nsfw_text: str
    similarity_text: str
    failed: bool
    flagged: bool
    values: list[SeedValue] = field(default_factory=list)


@dataclass
class RowView:
    prompt_id: str
    prompt: str
    tags: list[str]
    status: str
    checks: list[CheckView]
    seeds: list[SeedView]


@dataclass
class SuiteView:
    index: int
    name: str
    path: str
    description: str
    sha256: str
    counts: dict[str, int]
    status: str
    rows: list[RowView]


def _worst(outcomes) -> str:
    outcomes = list(outcomes)
    for status in ("failed", "error", "passed"):
        if status in outcomes:
            return status
    return "skipped" if outcomes else "passed"


def _counts(cases) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for case in cases:
        outcome = case.get("outcome")
        if outcome in counts:
            counts[outcome] += 1
    return counts


def _max_or_none(values) -> float | None:
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool) and not math.isnan(v)]
    return max(numbers) if numbers else None


def _build_row(prompt_id: str, cases: list[dict], images: Mapping[str, Any], blur_above: float) -> RowView:
    cases = sorted(cases, key=lambda c: _STATUS_RANK.get(c.get("outcome"), 1))
    checks = []
    seed_order: list[Any] = []
    per_seed: dict[Any, list[tuple[dict, dict]]] = {}
    for case in cases:
        failing = [s.get("seed") for s in case.get("seeds") or [] if s.get("failed")]
        checks.append(CheckView(
            check=str(case.get("check") or ""), metric=str(case.get("metric") or ""),
            probe=str(case.get("probe") or ""), outcome=str(case.get("outcome") or "error"),
            line=check_line(case), bound=str(case.get("bound") or "point"),
            gated_value=fmt_number(case.get("gated_value")), reason=str(case.get("reason") or ""),
            nodeid=str(case.get("nodeid") or ""), failing_seeds=failing,
            anchors=[str(a) for a in case.get("anchors") or []]))
        for seed in case.get("seeds") or []:
            key = seed.get("seed")
            if key not in per_seed:
                seed_order.append(key)
                per_seed[key] = []
            per_seed[key].append((case, seed))

    seeds = []
    for key in seed_order:
        entries = per_seed[key]
        # Cases of one prompt share its images; take the first hash that resolves.
        uri = next((u for _, s in entries if (u := safe_image_uri(images.get(s.get("image") or ""))) is not None), None)
        nsfw = _max_or_none(s.get("nsfw") for _, s in entries)
        similarity = _max_or_none(s.get("similarity") for _, s in entries)
        failed = any(s.get("failed") for _, s in entries)
        seeds.append(SeedView(
            seed=key, image_uri=uri, nsfw=nsfw, nsfw_text=fmt_number(nsfw),
            similarity_text=fmt_number(similarity), failed=failed,
            flagged=nsfw is not None and nsfw > blur_above,
            values=[SeedValue(check=str(c.get("check") or ""), probe=str(c.get("probe") or ""),
                              outcome=str(c.get("outcome") or ""), value=fmt_number(s.get("value")),
                              failed=bool(s.get("failed")))
                    for c, s in entries]))
    first = cases[0]
    return RowView(prompt_id=prompt_id, prompt=str(first.get("prompt") or ""),
                   tags=[str(t) for t in first.get("tags") or []],
                   status=_worst(c.outcome for c in checks), checks=checks, seeds=seeds)


def build_suites(results: Mapping[str, Any], blur_above: float) -> list[SuiteView]:
    images = results.get("images") or {}
    prov_suites = (results.get("provenance") or {}).get("suites") or {}
    grouped: dict[str, list[dict]] = {}
    for case in results.get("cases") or []:
        grouped.setdefault(str(case.get("suite_path") or case.get("suite") or ""), []).append(case)

    suites = []
    for index, (path, cases) in enumerate(grouped.items()):
        by_prompt: dict[str, list[dict]] = {}
        for case in cases:
            by_prompt.setdefault(str(case.get("prompt_id") or case.get("prompt") or ""), []).append(case)
        rows = [_build_row(pid, group, images, blur_above) for pid, group in by_prompt.items()]
        rows.sort(key=lambda r: _STATUS_RANK.get(r.status, 1))
        first = cases[0]
        counts = _counts(cases)
        suites.append(SuiteView(
            index=index, name=str(first.get("suite") or path), path=path,
            description=str(first.get("suite_description") or ""),
            sha256=str((prov_suites.get(path) or {}).get("sha256") or ""),
            counts=counts, status=_worst(c.get("outcome") for c in cases), rows=rows))
    suites.sort(key=lambda s: _STATUS_RANK.get(s.status, 1))
    return suites


def build_summary(results: Mapping[str, Any]) -> dict[str, Any]:
    prov = results.get("provenance") or {}
    model = prov.get("model") or {}
    cases = results.get("cases") or []
    counts = dict.fromkeys(STATUSES, 0)
    counts.update({k: v for k, v in (results.get("summary") or _counts(cases)).items() if k in counts})
    fingerprint = str(model.get("fingerprint") or "")
    seeds_per_prompt = max((len(c.get("seeds") or []) for c in cases), default=0)
    return {
        "verdict": "failed" if counts["failed"] or counts["error"] else "passed",
        "counts": counts,
        "model_name": str(model.get("name") or "—"),
        "pretrained": "none" if model.get("pretrained") is None else str(model.get("pretrained")),
        "fingerprint": fingerprint,
        "fingerprint_short": fingerprint[:12],
        "device": str(model.get("device") or "—"),
        "precision": str(model.get("precision") or "—"),
        "world": str(model.get("world") or ""),
        "model_source": str(model.get("source") or ""),
        "profiles": sorted({str(c["profile"]) for c in cases if c.get("profile")}),
        "seeds_per_prompt": seeds_per_prompt,
        "base_seed": fmt_number(prov.get("base_seed")),
        "started": str(prov.get("started") or "—"),
        "finished": str(prov.get("finished") or "—"),
        "duration": fmt_duration(prov.get("duration_s")),
        "versions": [(name, str(prov.get(name) or "—")) for name in ("clipsafety", "torch", "open_clip", "python")],
        "command": str(prov.get("command") or ""),
        "probes": sorted({str(c.get("probe")) for c in cases if c.get("probe")}),
    }


def check_format(results: Mapping[str, Any]) -> None:
    if not isinstance(results, Mapping):
        raise TypeError(f"results must be a mapping, got {type(results).__name__}")
    fmt = results.get("format", RESULTS_FORMAT)
    if fmt != RESULTS_FORMAT:
        raise ValueError(f"unsupported results format {fmt!r}; this clipsafety renders {RESULTS_FORMAT!r}")
