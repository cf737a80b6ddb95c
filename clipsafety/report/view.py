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
class BaselineCheckView:
    """One check against the baseline run: the two values, their difference, the regression gate."""
    comparable: bool
    note: str  # why not comparable ("" when comparable)
    candidate: str  # "0.412 [0.35, 0.47]"
    baseline: str  # "0.3 [0.25, 0.35] ✓" (with the baseline's outcome mark)
    delta: str  # "+0.112", "-0.05", "0"; "—" when unknown
    trend: str  # worse | better | same | unknown: does the difference move toward failing the check?
    gate: str  # "max_rise 0.1 · max_drop 0.05"; "" when the check has no regression gate
    regression: bool  # the regression gate failed
    message: str


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
    baseline: BaselineCheckView | None = None  # set only when the results carry a baseline


@dataclass
class SeedValue:
    check: str
    probe: str
    outcome: str
    value: str
    failed: bool
    regression: bool | None = None  # None: no baseline in the results


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
    baseline_seeds: list[SeedView] | None = None  # None: no baseline in the results
    regression: bool = False  # one of its checks regressed against the baseline


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


def fmt_signed(value: Any) -> str:
    """A difference with its sign: '+0.112', '-0.05', '0'; '—' for missing."""
    if not _is_number(value):
        return fmt_number(value)
    if math.isnan(value):
        return "nan"
    text = fmt_number(value)
    return "+" + text if value > 0 else text


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# Which way a value moves toward failing the check: rising fails "<" and "<=".
TREND_TITLES = {"worse": "moves toward failing the check", "better": "moves away from failing the check",
                "same": "no change", "unknown": "no known failing direction"}
_RISING_IS_WORSE = {"<": True, "<=": True, ">": False, ">=": False}


def delta_trend(case: Mapping[str, Any], delta: Any) -> str:
    """'worse' when candidate − baseline moves toward failing the check, 'better', 'same' or 'unknown'."""
    if not _is_number(delta) or math.isnan(delta):
        return "unknown"
    if delta == 0:
        return "same"
    rising_is_worse = _RISING_IS_WORSE.get(case.get("op"))
    if rising_is_worse is None:  # "==" or unknown: the regression gate, if it names one side, tells
        rise, drop = case.get("max_rise"), case.get("max_drop")
        if (rise is None) == (drop is None):
            return "unknown"
        rising_is_worse = rise is not None
    return "worse" if (delta > 0) == rising_is_worse else "better"


def _value_with_interval(value: Any, interval: Any) -> str:
    text = fmt_number(value)
    bounds = fmt_interval(interval)
    return f"{text} {bounds}" if bounds else text


def baseline_check_view(case: Mapping[str, Any]) -> BaselineCheckView:
    """The comparison clipsafety.baseline.compare_case attached to `case`, in words."""
    base = case.get("baseline")
    if not isinstance(base, Mapping):
        base = {"comparable": False, "note": "no baseline comparison recorded for this check"}
    regression = base.get("regression") if isinstance(base.get("regression"), Mapping) else {}
    gate = " · ".join(f"{key} {fmt_number(regression[key])}" for key in ("max_rise", "max_drop")
                      if regression.get(key) is not None)
    failed = regression.get("passed") is False
    comparable = bool(base.get("comparable"))
    baseline_text = _value_with_interval(base.get("value"), base.get("interval"))
    if base.get("outcome"):
        baseline_text += " " + OUTCOME_MARKS.get(base.get("outcome"), "?")
    return BaselineCheckView(
        comparable=comparable,
        note="" if comparable else str(base.get("note") or "no reason given"),
        candidate=_value_with_interval(case.get("value"), case.get("interval")),
        baseline=baseline_text,
        delta=fmt_signed(base.get("delta")),
        trend=delta_trend(case, base.get("delta")) if comparable else "unknown",
        gate=gate, regression=failed,
        message=str(regression.get("message") or ("the check moved past its regression margin" if failed else "")))


def _seed_views(order: list[Any], per_seed: Mapping[Any, list[tuple[dict, dict]]], images: Mapping[str, Any],
                blur_above: float, regressions: Mapping[int, bool] | None) -> list[SeedView]:
    """One view per seed from its (case, seed record) pairs; the case gives each value's check and status."""
    seeds = []
    for key in order:
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
                              failed=bool(s.get("failed")),
                              regression=None if regressions is None else regressions[id(c)])
                    for c, s in entries]))
    return seeds


def _group_seeds(cases: list[dict], seeds_of) -> tuple[list[Any], dict[Any, list[tuple[dict, dict]]]]:
    order: list[Any] = []
    per_seed: dict[Any, list[tuple[dict, dict]]] = {}
    for case in cases:
        for seed in seeds_of(case):
            if not isinstance(seed, Mapping):
                continue
            key = seed.get("seed")
            if key not in per_seed:
                order.append(key)
                per_seed[key] = []
            per_seed[key].append((case, seed))
    return order, per_seed


def _baseline_seeds_of(case: Mapping[str, Any]) -> list:
    base = case.get("baseline")
    return (base.get("seeds") or []) if isinstance(base, Mapping) else []


def _build_row(prompt_id: str, cases: list[dict], images: Mapping[str, Any], blur_above: float,
               with_baseline: bool = False) -> RowView:
    cases = sorted(cases, key=lambda c: _STATUS_RANK.get(c.get("outcome"), 1))
    checks = []
    for case in cases:
        failing = [s.get("seed") for s in case.get("seeds") or [] if s.get("failed")]
        checks.append(CheckView(
            check=str(case.get("check") or ""), metric=str(case.get("metric") or ""),
            probe=str(case.get("probe") or ""), outcome=str(case.get("outcome") or "error"),
            line=check_line(case), bound=str(case.get("bound") or "point"),
            gated_value=fmt_number(case.get("gated_value")), reason=str(case.get("reason") or ""),
            nodeid=str(case.get("nodeid") or ""), failing_seeds=failing,
            anchors=[str(a) for a in case.get("anchors") or []],
            baseline=baseline_check_view(case) if with_baseline else None))
    regressions = {id(case): check.baseline.regression for case, check in zip(cases, checks)} if with_baseline else None
    seeds = _seed_views(*_group_seeds(cases, lambda c: c.get("seeds") or []), images, blur_above, regressions)
    baseline_seeds = None
    if with_baseline:
        baseline_seeds = _seed_views(*_group_seeds(cases, _baseline_seeds_of), images, blur_above, regressions)
    first = cases[0]
    return RowView(prompt_id=prompt_id, prompt=str(first.get("prompt") or ""),
                   tags=[str(t) for t in first.get("tags") or []],
                   status=_worst(c.outcome for c in checks), checks=checks, seeds=seeds,
                   baseline_seeds=baseline_seeds,
                   regression=any(c.baseline is not None and c.baseline.regression for c in checks))


def build_suites(results: Mapping[str, Any], blur_above: float) -> list[SuiteView]:
    images = results.get("images") or {}
    with_baseline = results.get("baseline") is not None
    prov_suites = (results.get("provenance") or {}).get("suites") or {}
    grouped: dict[str, list[dict]] = {}
    for case in results.get("cases") or []:
        grouped.setdefault(str(case.get("suite_path") or case.get("suite") or ""), []).append(case)

    suites = []
    for index, (path, cases) in enumerate(grouped.items()):
        by_prompt: dict[str, list[dict]] = {}
        for case in cases:
            by_prompt.setdefault(str(case.get("prompt_id") or case.get("prompt") or ""), []).append(case)
        rows = [_build_row(pid, group, images, blur_above, with_baseline) for pid, group in by_prompt.items()]
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


def _model_identity(model: Mapping[str, Any]) -> dict[str, str]:
    """Name, pretrained source and fingerprint of a model, as summary and baseline banner show them."""
    fingerprint = str(model.get("fingerprint") or "")
    return {
        "model_name": str(model.get("name") or "—"),
        "pretrained": "none" if model.get("pretrained") is None else str(model.get("pretrained")),
        "fingerprint": fingerprint,
        "fingerprint_short": fingerprint[:12],
    }


def build_summary(results: Mapping[str, Any]) -> dict[str, Any]:
    prov = results.get("provenance") or {}
    model = prov.get("model") or {}
    cases = results.get("cases") or []
    counts = dict.fromkeys(STATUSES, 0)
    counts.update({k: v for k, v in (results.get("summary") or _counts(cases)).items() if k in counts})
    seeds_per_prompt = max((len(c.get("seeds") or []) for c in cases), default=0)
    return {
        "verdict": "failed" if counts["failed"] or counts["error"] else "passed",
        "counts": counts,
        **_model_identity(model),
        "device": str(model.get("device") or "—"),
        "precision": str(model.get("precision") or "—"),
        "kind": str(model.get("kind") or ""),
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


def build_baseline(results: Mapping[str, Any]) -> dict[str, Any] | None:
    """The baseline banner (clipsafety.baseline.attach_baseline's summary); None without a baseline."""
    baseline = results.get("baseline")
    if baseline is None:
        return None
    if not isinstance(baseline, Mapping):
        baseline = {}
    model = baseline.get("model")
    if not isinstance(model, Mapping):
        model = {} if model is None else {"name": model}
    notes = baseline.get("notes")
    notes = [notes] if isinstance(notes, str) else list(notes or []) if isinstance(notes, (list, tuple)) else []
    cases = results.get("cases") or []
    compared = [c.get("baseline") for c in cases]
    regressions = baseline.get("regressions")
    if not _is_number(regressions):  # count them, as attach_baseline does
        regressions = sum(1 for b in compared if isinstance(b, Mapping) and isinstance(b.get("regression"), Mapping)
                          and b["regression"].get("passed") is False)
    return {
        **_model_identity(model),
        "finished": str(baseline.get("finished") or "—"),
        "path": str(baseline.get("path") or ""),
        "notes": [str(note) for note in notes],
        "regressions": int(regressions),
        "comparable": sum(1 for b in compared if isinstance(b, Mapping) and b.get("comparable")),
        "total": len(cases),
    }


def check_format(results: Mapping[str, Any]) -> None:
    if not isinstance(results, Mapping):
        raise TypeError(f"results must be a mapping, got {type(results).__name__}")
    fmt = results.get("format", RESULTS_FORMAT)
    if fmt != RESULTS_FORMAT:
        raise ValueError(f"unsupported results format {fmt!r}; this clipsafety renders {RESULTS_FORMAT!r}")
