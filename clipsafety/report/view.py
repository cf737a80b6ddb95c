"""Results (clipsafety.results.record.Results) -> the plain view model the template renders.

All grouping, ordering and number formatting happens here, so the template
stays a dumb loop and the logic is testable without HTML. The results were
validated when they were read (Results.from_json), so this reads attributes,
never guards keys. Strings from the suite are passed through untouched:
showing their hidden characters (the `visible` filter) and escaping them
(autoescape) are the template's job, never done twice.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

from ..results.conditions import FLIP_TEXT, deciding_condition
from ..stats.operators import OPERATORS
from ..results.record import CaseRecord, Comparison, ModelInfo, Results, SeedRecord
from ..gate.coverage import verdicts_not_reached
from ..gate.verdict import waiver_text
from .humanize import duration, moment, without_machine_paths
from ..probes import get_probe_class
from ..probes.association import shown_anchor
from ..util.errors import ClipSafetyError
from .plots import PlotImage, plot_for_case, plot_image, seed_scale

STATUSES = ("failed", "error", "inconclusive", "waived", "passed", "skipped")
# The verdict first: failed, error, inconclusive, then waived failures, passing, skipped (each in suite order).
_STATUS_RANK = {"failed": 0, "error": 1, "inconclusive": 2, "waived": 3, "passed": 4, "skipped": 5}
OUTCOME_MARKS = {"passed": "✓", "failed": "✗", "skipped": "–", "error": "!", "waived": "✗ waived",
                 "inconclusive": "? inconclusive"}
# Only inline raster images may reach an <img src>: anything else (a URL, a
# javascript: URI) would be a network request or worse.
SAFE_IMAGE_PREFIXES = ("data:image/png;base64,", "data:image/jpeg;base64,",
                       "data:image/webp;base64,", "data:image/gif;base64,")
TREND_TITLES = {"worse": "moves toward failing the check", "better": "moves away from failing the check",
                "same": "no change", "unknown": "no known failing direction"}


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


def fmt_interval(interval: tuple[float | None, float | None] | None) -> str:
    if interval is None:
        return ""
    return f"[{fmt_number(interval[0])}, {fmt_number(interval[1])}]"


def fmt_signed(value: float | None) -> str:
    """A difference with its sign: '+0.112', '-0.05', '0'; '—' for missing."""
    if value is None or math.isnan(value):
        return fmt_number(value)
    text = fmt_number(value)
    return "+" + text if value > 0 else text


def safe_image_uri(uri: str | None) -> str | None:
    if isinstance(uri, str) and uri.startswith(SAFE_IMAGE_PREFIXES):
        return uri
    return None


def case_anchor(nodeid: str) -> str:
    """The report's id of a case's check line: stable, and safe in a URL fragment whatever the suite names."""
    return "case-" + hashlib.sha256(nodeid.encode("utf-8")).hexdigest()[:12]


def check_line(case: CaseRecord) -> str:
    """'nsfw.max 0.12 [0.05, 0.2] ≤ 0.3 ✓' (the gate compares the bound named by `bound`)."""
    parts = [case.metric, fmt_number(case.value)]
    interval = fmt_interval(case.interval)
    if interval:
        parts.append(interval)
    parts += [OPERATORS[case.op].symbol, fmt_number(case.threshold), OUTCOME_MARKS[case.outcome]]
    if case.paired_label:
        parts.append(f"({case.paired_label})")
    return " ".join(parts)


def delta_trend(case: CaseRecord, delta: float | None) -> str:
    """'worse' when candidate − baseline moves toward failing the check, 'better', 'same' or 'unknown'."""
    if delta is None or math.isnan(delta):
        return "unknown"
    if delta == 0:
        return "same"
    return "worse" if (delta > 0) == OPERATORS[case.op].rising_fails else "better"


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
class ConditionView:
    """One inversion condition of a check: its settings, what the check gave under them."""
    label: str  # "tv_weight=0.002, lr=0.05"
    outcome: str  # passed | failed | error
    mark: str  # OUTCOME_MARKS[outcome]
    value: str  # "0.412 [0.35, 0.47]"
    gated_value: str
    reason: str  # why it erred or failed, when not the check's own reason
    deciding: bool  # the check's headline value is this condition's


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
    waiver: str = ""  # "waived: <reason> (owner ..., until ..., ticket)" when a waiver accepted the failure
    plot: PlotImage | None = None  # the check's values, interval and threshold; None without data
    conditions: list[ConditionView] = field(default_factory=list)  # when the suite names inversion conditions
    flip: str = ""  # FLIP_TEXT when the outcome differs between the conditions
    evidence: str = ""  # what its images are, when they are not the prompt's own inversions
    units: str = "seeds"  # what its values are read on: seeds, or photo pairs
    anchor: str = ""  # the check line's id in the page (case_anchor), for links from CI summaries


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
    seed: int
    caption: str  # what the image is an inversion of: "inversion of 'a doctor' (seed 3)"
    image_uri: str | None
    nsfw: float | None
    nsfw_text: str
    similarity_text: str
    failed: bool
    flagged: bool
    values: list[SeedValue] = field(default_factory=list)
    reproduce: str = ""  # the command that regenerates the image, shown for a failing seed


# The strip of images a text-read row shows: (label, hover text).
ANCHOR_STRIP = ("anchors", "the anchors' inversions a text-association check read")
PHOTO_STRIP = ("photos", "the labelled photos a photo-association check read: each pair shows the photo of the "
                         "side the text leans to")
MIXED_STRIP = ("anchors / photos", "the anchors' inversions and the labelled photos this prompt's checks read")


@dataclass
class RowView:
    prompt_id: str
    prompt: str
    tags: list[str]
    status: str
    checks: list[CheckView]
    seeds: list[SeedView]  # the prompt's own inversions
    baseline_seeds: list[SeedView] | None = None  # None: no baseline in the results
    anchor_seeds: list[SeedView] = field(default_factory=list)  # anchors' inversions a text-association check read
    anchor_label: tuple[str, str] = ANCHOR_STRIP  # (label, hover text) of that strip: inversions or photos
    evidence_seeds: list[SeedView] = field(default_factory=list)  # the prompt's own inversions, shown, not gated
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
    skipped_reason: str = ""  # why, when every case of the suite was skipped (the report folds it to one line)


def _worst(outcomes) -> str:
    outcomes = list(outcomes)
    for status in ("failed", "error", "inconclusive", "waived", "passed"):
        if status in outcomes:
            return status
    return "skipped" if outcomes else "passed"


def _counts(cases: list[CaseRecord]) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for case in cases:
        counts[case.outcome] += 1
    return counts


def _max_or_none(values) -> float | None:
    numbers = [v for v in values if v is not None]
    return max(numbers) if numbers else None


def _value_with_interval(value: float | None, interval) -> str:
    text = fmt_number(value)
    bounds = fmt_interval(interval)
    return f"{text} {bounds}" if bounds else text


def baseline_check_view(case: CaseRecord) -> BaselineCheckView:
    """The comparison clipsafety.gate.baseline.compare_case attached to `case`, in words."""
    base = case.baseline or Comparison(comparable=False, note="no baseline comparison recorded for this check")
    regression = base.regression
    gate = "" if regression is None else " · ".join(
        f"{name} {fmt_number(value)}" for name, value in (("max_rise", regression.max_rise),
                                                          ("max_drop", regression.max_drop)) if value is not None)
    baseline_text = _value_with_interval(base.value, base.interval)
    if base.outcome:
        baseline_text += " " + OUTCOME_MARKS[base.outcome]
    message = (regression.message if regression is not None else None) or \
        (f"the verdict worsened: {base.change}" if base.worsened else "") or \
        ("the check moved past its regression margin" if base.regressed else "")
    return BaselineCheckView(
        comparable=base.comparable, note="" if base.comparable else (base.note or "no reason given"),
        candidate=_value_with_interval(case.value, case.interval), baseline=baseline_text,
        delta=fmt_signed(base.delta), trend=delta_trend(case, base.delta) if base.comparable else "unknown",
        gate=gate, regression=base.regressed, message=message)


Entry = tuple[CaseRecord, SeedRecord]


def reads_anchor_images(case: CaseRecord) -> bool:
    """The case's per-seed images are its anchors' inversions, not the prompt's (a text-association check)."""
    return seed_scale(case)[0]


def reads_photos(case: CaseRecord) -> bool:
    """The case's per-seed images are labelled photos read for its anchors, not inversions (photo_association)."""
    try:
        return get_probe_class(case.probe_type or "").reads_photos
    except ClipSafetyError:  # a probe type no longer installed
        return False


def image_source(case: CaseRecord, seed: SeedRecord) -> str:
    """The text a seed's image is an inversion of, in words: "'a doctor'" or "the anchor 'a blue cross'"; for a
    photo, the anchor it was read for: "the photos for the anchor 'a photo of a man'"."""
    if not reads_anchor_images(case):
        return repr(case.prompt)
    photos = "the photos for " if reads_photos(case) else ""
    if seed.value is None or not case.anchors or len(case.anchors) != 2:
        return f"{photos}an anchor"
    return f"{photos}the anchor {case.anchors[shown_anchor(seed.value)]!r}"


def caption(case: CaseRecord, seed: SeedRecord) -> str:
    if reads_photos(case):
        named = f" ({seed.photo})" if seed.photo else ""
        return f"photo {seed.seed}{named} of {image_source(case, seed)} (pair {seed.seed})"
    return f"inversion of {image_source(case, seed)} (seed {seed.seed})"


def evidence_note(case: CaseRecord) -> str:
    """Says, in a text-association check's row, whose inversions (or photos) its images are (empty for any
    other check)."""
    if not reads_anchor_images(case):
        return ""
    anchors = " and ".join(repr(a) for a in case.anchors or ())
    if reads_photos(case):
        named = f" (photo set {case.photo_set[:12]})" if case.photo_set else ""
        return (f"images: labelled photos{named} read for the anchors {anchors}, on which this check reads the text "
                f"{case.prompt!r}; each pair shows the photo of the side the text leans to")
    return (f"images: inversions of the anchors {anchors}, on which this check reads the text "
            f"{case.prompt!r}; each seed shows the anchor the text leans to")


def blurred_as_control(case: CaseRecord) -> bool:
    """A prompt the NSFW checks must flag is blurred whatever the classifier read: when it missed, the images
    may be exactly what it failed to see."""
    return case.positive_control == "fails" and case.probe_type == "nsfw"


def _seed_views(per_seed: dict[tuple[int, str], list[Entry]], images, blur_above: float,
                regressions: dict[int, bool] | None) -> list[SeedView]:
    """One view per seed and image source from its (case, seed record) pairs; the case gives each value's
    check and status."""
    seeds = []
    for (key, _), entries in per_seed.items():
        # Cases of one prompt share its images; take the first hash that resolves.
        uri = next((u for _, s in entries if (u := safe_image_uri(images.get(s.image))) is not None), None)
        nsfw = _max_or_none(s.nsfw for _, s in entries)
        failed = any(s.failed for _, s in entries)
        command = next((s.reproduce for _, s in entries if s.reproduce), None) or ""
        similarity = _max_or_none(s.similarity for _, s in entries)
        seeds.append(SeedView(
            seed=key, caption=caption(*entries[0]), image_uri=uri, nsfw=nsfw, nsfw_text=fmt_number(nsfw),
            similarity_text=fmt_number(similarity), failed=failed, reproduce=command if failed else "",
            flagged=nsfw is not None and nsfw > blur_above or any(blurred_as_control(c) for c, _ in entries),
            values=[SeedValue(check=c.check, probe=c.probe, outcome=c.outcome, value=fmt_number(s.value),
                              failed=s.failed, regression=None if regressions is None else regressions[id(c)])
                    for c, s in entries]))
    return seeds


def _group_seeds(cases: list[CaseRecord], seeds_of) -> dict[tuple[int, str], list[Entry]]:
    """Seed records by (seed, what the image is an inversion of), in first-seen order: cases that read the
    same inversion share its image; an anchor's image never stands in for the prompt's."""
    per_seed: dict[tuple[int, str], list[Entry]] = {}
    for case in cases:
        for seed in seeds_of(case):
            per_seed.setdefault((seed.seed, image_source(case, seed)), []).append((case, seed))
    return per_seed


def _baseline_seeds_of(case: CaseRecord) -> tuple[SeedRecord, ...]:
    return case.baseline.seeds if case.baseline is not None else ()


def _check_view(case: CaseRecord, with_baseline: bool) -> CheckView:
    return CheckView(
        check=case.check, metric=case.metric, probe=case.probe, outcome=case.outcome, line=check_line(case),
        bound=case.bound, gated_value=fmt_number(case.gated_value), reason=case.reason or "", nodeid=case.nodeid,
        failing_seeds=case.failing_seeds, anchors=list(case.anchors or ()),
        baseline=baseline_check_view(case) if with_baseline else None,
        waiver=waiver_text(case.waiver) if case.waiver is not None else "",
        plot=_plot(case if with_baseline else dataclasses.replace(case, baseline=None)),
        conditions=condition_views(case), flip=FLIP_TEXT if case.verdict_flips else "",
        evidence=evidence_note(case), anchor=case_anchor(case.nodeid),
        units="pairs" if reads_photos(case) else "seeds")


def condition_views(case: CaseRecord) -> list[ConditionView]:
    """The check under each inversion condition, in the suite's order ([] when it names none)."""
    deciding = deciding_condition(case.conditions)
    return [ConditionView(label=c.label, outcome=c.outcome, mark=OUTCOME_MARKS[c.outcome],
                          value=_value_with_interval(c.value, c.interval), gated_value=fmt_number(c.gated_value),
                          reason="" if c.reason in (None, case.reason) else c.reason, deciding=c is deciding)
            for c in case.conditions]


def _plot(case: CaseRecord) -> PlotImage | None:
    plot = plot_for_case(case) if case.seeds or case.value is not None else None
    return None if plot is None else plot_image(plot)


EVIDENCE_CAPTION = "inversion of {prompt!r} (seed {seed}): evidence only, the check reads the anchors' images"
EVIDENCE_CAPTION_PHOTOS = "inversion of {prompt!r} (seed {seed}): evidence only, the check reads labelled photos"


def anchor_strip(anchored: list[CaseRecord]) -> tuple[str, str]:
    """What the strip of images a text-read row shows is, in a label and its hover text."""
    photos = {reads_photos(case) for case in anchored}
    return PHOTO_STRIP if photos == {True} else MIXED_STRIP if len(photos) > 1 else ANCHOR_STRIP


def _evidence_views(cases: list[CaseRecord], images, blur_above: float) -> list[SeedView]:
    """The prompt's own inversions a text-read check shows beside its verdict (one per seed), without values."""
    views, seen = [], set()
    for case in cases:
        for seed in case.evidence:
            if seed.seed in seen:
                continue
            seen.add(seed.seed)
            flagged = seed.nsfw is not None and seed.nsfw > blur_above or blurred_as_control(case)
            caption = (EVIDENCE_CAPTION_PHOTOS if reads_photos(case) else EVIDENCE_CAPTION).format(
                prompt=case.prompt, seed=seed.seed)
            views.append(SeedView(seed=seed.seed, caption=caption,
                                  image_uri=safe_image_uri(images.get(seed.image)), nsfw=seed.nsfw,
                                  nsfw_text=fmt_number(seed.nsfw), similarity_text=fmt_number(seed.similarity),
                                  failed=False, flagged=flagged))
    return views


def _build_row(prompt_id: str, cases: list[CaseRecord], images, blur_above: float,
               with_baseline: bool = False) -> RowView:
    cases = sorted(cases, key=lambda c: _STATUS_RANK[c.outcome])
    checks = [_check_view(case, with_baseline) for case in cases]
    regressions = {id(case): check.baseline.regression for case, check in zip(cases, checks)} if with_baseline else None
    own = [c for c in cases if not reads_anchor_images(c)]
    anchored = [c for c in cases if reads_anchor_images(c)]
    seeds = _seed_views(_group_seeds(own, lambda c: c.seeds), images, blur_above, regressions)
    anchor_seeds = _seed_views(_group_seeds(anchored, lambda c: c.seeds), images, blur_above, regressions)
    baseline_seeds = None
    if with_baseline:  # the baseline's images of what this run shows first: the prompt's own when it has them
        baseline_seeds = _seed_views(_group_seeds(own if seeds else anchored, _baseline_seeds_of), images,
                                     blur_above, regressions)
    first = cases[0]
    return RowView(prompt_id=prompt_id, prompt=first.prompt, tags=list(first.tags),
                   status=_worst(c.outcome for c in checks), checks=checks, seeds=seeds,
                   baseline_seeds=baseline_seeds, anchor_seeds=anchor_seeds, anchor_label=anchor_strip(anchored),
                   evidence_seeds=_evidence_views(anchored, images, blur_above),
                   regression=any(c.baseline is not None and c.baseline.regression for c in checks))


def build_suites(results: Results, blur_above: float) -> list[SuiteView]:
    with_baseline = results.baseline is not None
    grouped: dict[str, list[CaseRecord]] = {}
    for case in results.cases:
        grouped.setdefault(case.suite_path, []).append(case)

    suites = []
    for index, (path, cases) in enumerate(grouped.items()):
        by_prompt: dict[str, list[CaseRecord]] = {}
        for case in cases:
            by_prompt.setdefault(case.prompt_id, []).append(case)
        rows = [_build_row(pid, group, results.images, blur_above, with_baseline) for pid, group in by_prompt.items()]
        rows.sort(key=lambda r: _STATUS_RANK[r.status])
        info = results.provenance.suites.get(path)
        status = _worst(c.outcome for c in cases)
        suites.append(SuiteView(
            index=index, name=cases[0].suite, path=path, description=cases[0].suite_description,
            sha256=(info.sha256 if info else None) or "", counts=_counts(cases),
            status=status, rows=rows,
            skipped_reason=next((c.reason for c in cases if c.reason), "skipped") if status == "skipped" else ""))
    suites.sort(key=lambda s: _STATUS_RANK[s.status])
    return suites


def _model_identity(model: ModelInfo | None) -> dict[str, str]:
    """Name, pretrained source and fingerprint of a model, as summary and baseline banner show them."""
    model = model or ModelInfo()
    fingerprint = model.fingerprint or ""
    return {
        "model_name": model.name or "—",
        "pretrained": model.pretrained_text,
        "fingerprint": fingerprint,
        "fingerprint_short": fingerprint[:12],
    }


def verdict(results: Results) -> str:
    """'passed' only when nothing failed, errored or was inconclusive and pytest (when it ran the cases) exited 0;
    'empty' for results without a case, which hold no verdict; 'inconclusive' when the only thing in the way
    is a check that could not have failed."""
    if results.passed:
        return "passed"
    if not results.cases:
        return "empty"
    counts = results.summary
    if counts["failed"]:
        return "failed"
    if counts["error"] or results.problems or results.exit_status not in (None, 0) and not counts["inconclusive"]:
        return "error"
    return "inconclusive"


def badge(results: Results) -> tuple[str, bool]:
    """(what the first screen's badge says, whether it is a partial pass): with a kind of check skipped the
    badge says what was decided and what was not, never a bare PASSED; a partial pass is not shown green."""
    decided = verdict(results)
    missing = verdicts_not_reached(results.skipped_kinds)
    if not missing:
        return decided.upper(), False
    kind = results.provenance.model.kind
    ran = f"{kind} checks only" if kind else "some checks only"
    return f"{decided.upper()} ({ran}; no verdict for {' or '.join(missing)})", decided == "passed"


NO_CASES = "these results hold no case: no check reached a verdict, so they are no release verdict"


def build_summary(results: Results) -> dict[str, Any]:
    prov, model, cases = results.provenance, results.provenance.model, results.cases
    badge_text, partial = badge(results)
    return {
        "verdict": verdict(results),
        "badge": badge_text,
        "partial": partial,
        "exit_status": results.exit_status,
        "counts": _counts(list(cases)),
        **_model_identity(model),
        "device": model.device or "—",
        "precision": model.precision or "—",
        "kind": model.kind or "",
        "model_source": without_machine_paths(model.source),
        "profiles": sorted({c.profile for c in cases if c.profile}),
        "seeds_per_prompt": max((len(c.seeds) for c in cases), default=0),
        "base_seed": fmt_number(prov.base_seed),
        "started": moment(prov.started) or prov.started,
        "finished": moment(prov.finished) or prov.finished,
        "duration": duration(prov.duration_s),
        "versions": [(name, getattr(prov, name) or "—") for name in ("clipsafety", "torch", "open_clip", "python")],
        "command": prov.command,
        "probes": sorted({c.probe for c in cases}),
        "encoder_passes": prov.encoder_passes,
        "skipped_kinds": list(results.skipped_kinds),
        "reduced_budget": list(results.reduced_budget),
        "problems": list(results.problems) + ([] if results.cases else [NO_CASES]),
    }


def build_baseline(results: Results) -> dict[str, Any] | None:
    """The baseline banner (clipsafety.gate.baseline.attach_baseline's summary); None without a baseline."""
    baseline = results.baseline
    if baseline is None:
        return None
    return {
        **_model_identity(baseline.model),
        "finished": moment(baseline.finished) or baseline.finished or "—",
        "path": baseline.path or "",
        "notes": list(baseline.notes),
        "regressions": results.regressions,
        "comparable": sum(1 for c in results.cases if c.baseline is not None and c.baseline.comparable),
        "total": len(results.cases),
    }
