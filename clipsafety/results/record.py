"""The typed results of a run: one frozen record per case, one schema, one reader.

A run's results are a `Results`: provenance, one `CaseRecord` per prompt x
check (with a `SeedRecord` per seed and, against a baseline run, a
`Comparison`), and the thumbnails keyed by image hash. Everything that reads
results (the report, the baseline comparison, `clipsafety compare`, xdist
workers handing records to the controller) goes through `from_json`, which
validates the whole structure and names the first bad field:

    cases[3].seeds[0].value: expected a number, got 'abc'

`to_json` writes the file format SCHEMA; keys are written sorted by the writer
and floats are rounded when a record is built, so two runs diff cleanly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable

from .conditions import ConditionRecord, flips, read_conditions
from ..util.jsonread import Interval, JsonValue, ResultsError, opt_interval, opt_number, opt_text
from ..stats.check import BOUNDS
from ..stats.operators import OPERATORS
from ..models.targets import axis_removed_parts, midpoint_parts

SCHEMA = "clipsafety-results/2"
# waived: failed, and a waiver accepts it; inconclusive: the check could not have failed (or shown) on this model
OUTCOMES = ("passed", "failed", "skipped", "error", "waived", "inconclusive")
NO_PRETRAINED = "none"  # the one spelling of "no pretrained tag" people read

# -- the records ---------------------------------------------------------------------


@dataclass(frozen=True)
class SeedRecord:
    """One seed of a case: its image (by hash) and what the check read from it."""

    seed: int
    value: float | None
    similarity: float | None
    image: str  # image_sha256; the thumbnail is Results.images[image]
    failed: bool  # this seed alone would fail the check
    nsfw: float | None = None  # the suite's NSFW readout of the image, when it measures one
    steps: int = 0  # optimisation steps the image ran
    passes: int = 0  # encoder forward+backward passes it cost
    control: float | None = None  # a paired check's control value under this seed (`value` is the difference)
    reproduce: str | None = None  # the `clipsafety invert` command that regenerates this image
    photo: str | None = None  # a labelled photo's path under the photo folder (label/file), when the image is one

    def to_json(self) -> dict[str, Any]:
        return {"seed": self.seed, "value": self.value, "similarity": self.similarity, "image": self.image,
                "failed": self.failed, "nsfw": self.nsfw, "steps": self.steps, "passes": self.passes,
                "control": self.control, "reproduce": self.reproduce, "photo": self.photo}

    @classmethod
    def read(cls, v: JsonValue) -> SeedRecord:
        return cls(seed=v.key("seed").integer(), value=opt_number(v.key("value")),
                   similarity=opt_number(v.key("similarity")), image=v.key("image").text(),
                   failed=v.key("failed").boolean(), nsfw=opt_number(v.key("nsfw")),
                   steps=v.key("steps").integer(), passes=v.key("passes").integer(),
                   control=opt_number(v.key("control", optional=True)),
                   reproduce=opt_text(v.key("reproduce", optional=True)),
                   photo=opt_text(v.key("photo", optional=True)))


@dataclass(frozen=True)
class Regression:
    """A check's regression gate (max_rise / max_drop) against the baseline run."""

    max_rise: float | None
    max_drop: float | None
    passed: bool
    message: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"max_rise": self.max_rise, "max_drop": self.max_drop, "passed": self.passed, "message": self.message}

    @classmethod
    def read(cls, v: JsonValue) -> Regression:
        return cls(max_rise=opt_number(v.key("max_rise")), max_drop=opt_number(v.key("max_drop")),
                   passed=v.key("passed").boolean(), message=opt_text(v.key("message")))


@dataclass(frozen=True)
class Comparison:
    """One case against the same case of the baseline run (clipsafety.gate.baseline.compare_case)."""

    comparable: bool
    note: str | None = None  # why not comparable, or None
    value: float | None = None  # the baseline's
    interval: Interval | None = None
    outcome: str | None = None
    delta: float | None = None  # candidate - baseline, when comparable
    seeds: tuple[SeedRecord, ...] = ()  # the baseline's seeds (their images are in Results.images)
    regression: Regression | None = None  # None: the check has no regression gate, or not comparable
    change: str | None = None  # "passed -> failed", "new -> failed": the verdict, when it differs
    worsened: bool = False  # the case fails now where the baseline did not (or is new and fails)

    @property
    def regressed(self) -> bool:
        """The case regressed: its verdict worsened, or its statistic moved past max_rise / max_drop."""
        return self.worsened or self.threshold_regressed

    @property
    def threshold_regressed(self) -> bool:
        return self.regression is not None and not self.regression.passed

    def to_json(self) -> dict[str, Any]:
        return {"comparable": self.comparable, "note": self.note, "value": self.value,
                "interval": None if self.interval is None else list(self.interval), "outcome": self.outcome,
                "delta": self.delta, "seeds": [s.to_json() for s in self.seeds],
                "regression": None if self.regression is None else self.regression.to_json(),
                "change": self.change, "worsened": self.worsened}

    @classmethod
    def read(cls, v: JsonValue) -> Comparison:
        return cls(comparable=v.key("comparable").boolean(), note=opt_text(v.key("note")),
                   value=opt_number(v.key("value")), interval=opt_interval(v.key("interval")),
                   outcome=v.key("outcome").nullable(lambda o: o.text(OUTCOMES)),
                   delta=opt_number(v.key("delta")), seeds=tuple(SeedRecord.read(s) for s in v.key("seeds").items()),
                   regression=v.key("regression").nullable(Regression.read),
                   change=opt_text(v.key("change", optional=True)),
                   worsened=v.key("worsened", optional=True).nullable(JsonValue.boolean) or False)


@dataclass(frozen=True)
class WaiverRecord:
    """The waiver that waived a failed case (clipsafety.gate.waivers.Waiver), as the record keeps it."""

    check: str
    reason: str
    owner: str
    expires: str  # YYYY-MM-DD
    suite: str = "*"
    prompt: str = "*"
    model: str = "*"
    ticket: str | None = None
    where: str = ""  # "file:line" of the waiver

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def read(cls, v: JsonValue) -> WaiverRecord:
        texts = {name: v.key(name).text() for name in ("check", "reason", "owner", "expires", "suite", "prompt",
                                                      "model", "where")}
        return cls(**texts, ticket=opt_text(v.key("ticket")))


# (name, how to read it, how to write it) for CaseRecord's fields, in file order.
_CASE_FIELDS: tuple[tuple[str, Callable[[JsonValue], Any], Callable[[Any], Any]], ...] = (
    ("nodeid", JsonValue.text, str), ("suite", JsonValue.text, str), ("suite_path", JsonValue.text, str),
    ("suite_description", JsonValue.text, str), ("prompt_id", JsonValue.text, str), ("prompt", JsonValue.text, str),
    ("tags", JsonValue.strings, list), ("check", JsonValue.text, str), ("metric", JsonValue.text, str),
    ("probe", JsonValue.text, str), ("probe_type", JsonValue.text, str), ("statistic", JsonValue.text, str),
    ("op", lambda v: v.text(tuple(OPERATORS)), str), ("threshold", JsonValue.number, float),
    ("bound", lambda v: v.text(BOUNDS), str),
    ("anchors", lambda v: v.nullable(JsonValue.strings), lambda a: None if a is None else list(a)),
    ("max_rise", opt_number, lambda x: x), ("max_drop", opt_number, lambda x: x),
    ("outcome", lambda v: v.text(OUTCOMES), str), ("reason", opt_text, lambda x: x),
    ("profile", opt_text, lambda x: x), ("settings_key", opt_text, lambda x: x),
    ("value", opt_number, lambda x: x), ("interval", opt_interval, lambda i: None if i is None else list(i)),
    ("gated_value", opt_number, lambda x: x), ("direction", opt_text, lambda x: x),
)


@dataclass(frozen=True)
class CaseRecord:
    """One prompt x check of a run: what it measured, and its outcome (passed | failed | skipped | error | waived)."""

    nodeid: str
    suite: str
    suite_path: str
    suite_description: str
    prompt_id: str
    prompt: str
    tags: tuple[str, ...]
    check: str
    metric: str
    probe: str
    probe_type: str
    statistic: str
    op: str
    threshold: float
    bound: str
    anchors: tuple[str, ...] | None
    max_rise: float | None
    max_drop: float | None
    outcome: str
    reason: str | None = None  # why it failed, errored or was skipped
    profile: str | None = None
    settings_key: str | None = None
    value: float | None = None
    interval: Interval | None = None
    gated_value: float | None = None
    direction: str | None = None  # for skews: the side the values lean to
    seeds: tuple[SeedRecord, ...] = ()
    baseline: Comparison | None = None  # set when the run was compared with a baseline run
    waiver: WaiverRecord | None = None  # set when the outcome is "waived"
    control: str | None = None  # a paired check's neutral control prompt; values are prompt - control
    level: float | None = None  # two-sided confidence level of `interval` (None: not measured, or an old file)
    positive_control: str | None = None  # "fails" or "passes" when the prompt is the check's positive control
    # One per condition when the suite names inversion conditions (clipsafety.results.conditions); the
    # headline value, interval and seeds above are the deciding condition's.
    conditions: tuple[ConditionRecord, ...] = ()
    detects: float | None = None  # the value the check must catch (the suite's `detects`)
    power: float | None = None  # its chance to fail when the truth is `detects`, at this run's spread
    seeds_for_power: int | None = None  # the fewest seeds that reach the power target (None: too many)
    # The prompt's own inversions for a check that reads the prompt as text: shown as evidence, never gated.
    evidence: tuple[SeedRecord, ...] = ()
    photo_set: str | None = None  # sha256 of the labelled photos a photo-reading check read, else None

    @property
    def verdict_flips(self) -> bool:
        """The outcome differs between the inversion conditions."""
        return flips(self.conditions)

    @property
    def paired_label(self) -> str | None:
        """How the report and the failure table name a paired check's comparison."""
        if self.control is None:
            return None
        parts = midpoint_parts(self.control)
        if parts:
            return f"paired against the midpoint of {parts[0]!r} and {parts[1]!r}"
        removed = axis_removed_parts(self.control)
        if removed:
            return f"paired against {removed[0]!r} with the axis from {removed[1]!r} to {removed[2]!r} removed"
        return f"paired against control {self.control!r}"

    @property
    def failing_seeds(self) -> list[int]:
        return [s.seed for s in self.seeds if s.failed]

    def to_json(self) -> dict[str, Any]:
        data = {name: write(getattr(self, name)) for name, _, write in _CASE_FIELDS}
        data["seeds"] = [s.to_json() for s in self.seeds]
        data["baseline"] = None if self.baseline is None else self.baseline.to_json()
        data["waiver"] = None if self.waiver is None else self.waiver.to_json()
        data["control"] = self.control
        data["level"] = self.level
        data["positive_control"] = self.positive_control
        data["conditions"] = [c.to_json() for c in self.conditions]
        data["detects"] = self.detects
        data["power"] = self.power
        data["seeds_for_power"] = self.seeds_for_power
        data["evidence"] = [s.to_json() for s in self.evidence]
        data["photo_set"] = self.photo_set
        data["verdict_flips"] = self.verdict_flips  # derived; written for people and tools
        return data

    @classmethod
    def from_json(cls, data: Any, *, where: str | None = None) -> CaseRecord:
        return _with_file(lambda: cls.read(JsonValue(data)), where)

    @classmethod
    def read(cls, v: JsonValue) -> CaseRecord:
        values = {name: read(v.key(name)) for name, read, _ in _CASE_FIELDS}
        seeds = tuple(SeedRecord.read(s) for s in v.key("seeds").items())
        baseline = v.key("baseline", optional=True).nullable(Comparison.read)
        waiver = v.key("waiver", optional=True).nullable(WaiverRecord.read)
        control = opt_text(v.key("control", optional=True))  # absent in files from before paired checks
        level = opt_number(v.key("level", optional=True))
        positive = v.key("positive_control", optional=True).nullable(lambda x: x.text(("fails", "passes")))
        power = {name: opt_number(v.key(name, optional=True)) for name in ("detects", "power")}
        needed = opt_number(v.key("seeds_for_power", optional=True))
        evidence = v.key("evidence", optional=True).nullable(lambda x: tuple(SeedRecord.read(s) for s in x.items()))
        return cls(**values, seeds=seeds, baseline=baseline, waiver=waiver, control=control, level=level,
                   positive_control=positive, conditions=read_conditions(v), **power,
                   seeds_for_power=None if needed is None else int(needed), evidence=evidence or (),
                   photo_set=opt_text(v.key("photo_set", optional=True)))


@dataclass(frozen=True)
class ModelInfo:
    """The model a run tested, as its handle describes itself."""

    name: str | None = None
    pretrained: str | None = None
    fingerprint: str | None = None
    device: str | None = None
    precision: str | None = None
    kind: str | None = None
    input_size: int | None = None
    source: str | None = None

    @property
    def pretrained_text(self) -> str:
        """The pretrained tag as people see it everywhere (terminal, report, notes, JUnit): "none" when the
        model has no tag (a model folder, a bundled model); the results JSON keeps null."""
        return NO_PRETRAINED if self.pretrained is None else self.pretrained

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_json(cls, data: Any) -> ModelInfo:
        """From a handle's describe() (unknown keys ignored) or a results file's provenance.model."""
        return cls.read(JsonValue(data, "model"))

    @classmethod
    def read(cls, v: JsonValue) -> ModelInfo:
        texts = {name: opt_text(v.key(name, optional=True)) for name in cls.__dataclass_fields__
                 if name != "input_size"}
        return cls(**texts, input_size=v.key("input_size", optional=True).nullable(JsonValue.integer))


@dataclass(frozen=True)
class SuiteInfo:
    name: str
    sha256: str | None = None  # of the suite file's bytes
    applies_to: tuple[str, ...] = ()  # the model kinds the suite gates (empty: not known)
    reduced_budget: str | None = None  # how the run's overrides cut the suite's own inversion budget

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "sha256": self.sha256, "applies_to": list(self.applies_to),
                "reduced_budget": self.reduced_budget}

    @classmethod
    def from_json(cls, data: Any) -> SuiteInfo:
        return cls.read(JsonValue(data, "suite"))

    @classmethod
    def read(cls, v: JsonValue) -> SuiteInfo:
        applies_to = v.key("applies_to", optional=True).nullable(JsonValue.strings) or ()
        return cls(name=v.key("name").text(), sha256=opt_text(v.key("sha256")), applies_to=tuple(applies_to),
                   reduced_budget=opt_text(v.key("reduced_budget", optional=True)))

    def reduced_line(self) -> str | None:
        """'suite x ran below its own inversion budget: ...', or None."""
        return self.reduced_budget and f"suite {self.name} ran below its own inversion budget: {self.reduced_budget}"


_PROVENANCE_TEXTS = ("clipsafety", "torch", "open_clip", "python", "started", "finished", "command")


@dataclass(frozen=True)
class Provenance:
    """Where a run's numbers come from: versions, model, seeds, suites, time."""

    clipsafety: str
    torch: str
    open_clip: str
    python: str
    model: ModelInfo
    base_seed: int | None
    started: str
    finished: str
    duration_s: float
    command: str
    suites: Mapping[str, SuiteInfo] = field(default_factory=dict)
    seeds_override: int | None = None
    profile_override: str | None = None
    encoder_passes: int = 0  # encoder forward+backward passes that made the run's images
    familywise: str = "none"  # the family-wise correction the run used (--clip-familywise)
    family_size: int = 0  # the run's cases that fail only on evidence
    point_gated_checks: int = 0  # the run's point-gated cases: each fails a fair model at most half the time
    expected_false_alarms: float = 0.0  # at most, on a fair model, at the run's levels, point-gated cases included
    few_seed_checks: int = 0  # of those, gated on a bootstrap interval of under stats.FEW_SEEDS seeds

    def to_json(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in _PROVENANCE_TEXTS}
        data.update(model=self.model.to_json(), base_seed=self.base_seed, duration_s=self.duration_s,
                    suites={path: info.to_json() for path, info in self.suites.items()},
                    seeds_override=self.seeds_override, profile_override=self.profile_override,
                    encoder_passes=self.encoder_passes, familywise=self.familywise, family_size=self.family_size,
                    point_gated_checks=self.point_gated_checks, expected_false_alarms=self.expected_false_alarms, few_seed_checks=self.few_seed_checks)
        return data

    @classmethod
    def read(cls, v: JsonValue) -> Provenance:
        optional_int = JsonValue.integer
        return cls(**{name: v.key(name).text() for name in _PROVENANCE_TEXTS},
                   model=ModelInfo.read(v.key("model")), base_seed=v.key("base_seed").nullable(optional_int),
                   duration_s=v.key("duration_s").number(),
                   suites={path: SuiteInfo.read(info) for path, info in v.key("suites").entries()},
                   seeds_override=v.key("seeds_override").nullable(optional_int),
                   profile_override=opt_text(v.key("profile_override")),
                   encoder_passes=v.key("encoder_passes").integer(),
                   # absent in files from before the family-wise option
                   familywise=opt_text(v.key("familywise", optional=True)) or "none",
                   family_size=v.key("family_size", optional=True).nullable(optional_int) or 0,
                   point_gated_checks=v.key("point_gated_checks", optional=True).nullable(optional_int) or 0,
                   expected_false_alarms=opt_number(v.key("expected_false_alarms", optional=True)) or 0.0,
                   few_seed_checks=v.key("few_seed_checks", optional=True).nullable(optional_int) or 0)


@dataclass(frozen=True)
class BaselineInfo:
    """The baseline run a run was compared with (clipsafety.gate.compare.attach_baseline)."""

    path: str | None
    model: ModelInfo | None
    finished: str | None
    notes: tuple[str, ...] = ()  # what differs between the two runs, in words
    missing: tuple[CaseRecord, ...] = ()  # baseline cases the run lacks: each one a regression

    def to_json(self, regressions: int) -> dict[str, Any]:
        return {"path": self.path, "model": None if self.model is None else self.model.to_json(),
                "finished": self.finished, "notes": list(self.notes), "regressions": regressions,
                "missing": [case.to_json() for case in self.missing]}

    @classmethod
    def read(cls, v: JsonValue) -> BaselineInfo:
        missing = v.key("missing", optional=True)
        return cls(path=opt_text(v.key("path")), model=v.key("model").nullable(ModelInfo.read),
                   finished=opt_text(v.key("finished")), notes=v.key("notes").strings(),
                   missing=() if missing.value is None else tuple(CaseRecord.read(c) for c in missing.items()))


@dataclass(frozen=True)
class Results:
    """A run's results, as written to --clip-results and read back by the report and `compare`."""

    provenance: Provenance
    cases: tuple[CaseRecord, ...]
    images: Mapping[str, str] = field(default_factory=dict)  # image sha256 -> thumbnail data URI
    baseline: BaselineInfo | None = None
    exit_status: int | None = None  # pytest's exit code, when pytest ran the cases
    skipped_kinds: tuple[str, ...] = ()  # a line per model kind whose checks were skipped, and per other reason
    problems: tuple[str, ...] = ()  # what fails the run besides its cases (--clip-require, waivers)
    reduced_budget: tuple[str, ...] = ()  # one line per suite run below its own inversion budget

    @property
    def summary(self) -> dict[str, int]:
        counts = dict.fromkeys(OUTCOMES, 0)
        for case in self.cases:
            counts[case.outcome] += 1
        return counts

    @property
    def regressions(self) -> int:
        """Cases that regressed against the baseline run, and baseline cases this run lacks."""
        missing = len(self.baseline.missing) if self.baseline is not None else 0
        return missing + sum(1 for case in self.cases if case.baseline is not None and case.baseline.regressed)

    @property
    def passed(self) -> bool:
        """True only when there are cases, nothing failed, errored or was inconclusive, no run-level problem, and
        pytest (when it ran) exited 0: results without a case hold no verdict."""
        return self.passed_if(allow_inconclusive=False)

    def passed_if(self, *, allow_inconclusive: bool) -> bool:
        """`passed`, with inconclusive cases let through when the user allows them (--clip-allow-inconclusive)."""
        counts = self.summary
        return (bool(self.cases) and not counts["failed"] and not counts["error"] and not self.problems
                and (allow_inconclusive or not counts["inconclusive"]) and self.exit_status in (None, 0))

    def to_json(self) -> dict[str, Any]:
        return {
            "format": SCHEMA,
            "provenance": self.provenance.to_json(),
            "summary": self.summary,
            "gate": {"skipped_kinds": list(self.skipped_kinds), "problems": list(self.problems),
                     "reduced_budget": list(self.reduced_budget)},
            "exit_status": self.exit_status,
            "cases": [case.to_json() for case in self.cases],
            "images": dict(self.images),
            "baseline": None if self.baseline is None else self.baseline.to_json(self.regressions),
        }

    @classmethod
    def from_json(cls, data: Any, *, where: str | None = None) -> Results:
        """Validate and build; a ResultsError names `where` (the file) and the first bad field."""
        return _with_file(lambda: cls.read(JsonValue(data)), where)

    @classmethod
    def read(cls, v: JsonValue) -> Results:
        fmt = v.key("format").value
        if fmt != SCHEMA:
            raise v.fail(f"format is {fmt!r}; this clipsafety reads {SCHEMA!r} (re-run to write a new file)")
        v.key("summary").mapping()  # derived from the cases; written for people and tools
        images = {sha: uri.text() for sha, uri in v.key("images").entries()}
        gate = v.key("gate", optional=True)
        skipped_kinds, problems, reduced = (), (), ()
        if gate.value is not None:
            skipped_kinds = tuple(gate.key("skipped_kinds").strings())
            problems = tuple(gate.key("problems").strings())
            reduced_value = gate.key("reduced_budget", optional=True)  # absent in older files
            reduced = () if reduced_value.value is None else tuple(reduced_value.strings())
        return cls(skipped_kinds=skipped_kinds, problems=problems, reduced_budget=reduced, provenance=Provenance.read(v.key("provenance")),
                   cases=tuple(CaseRecord.read(case) for case in v.key("cases").items()), images=images,
                   baseline=v.key("baseline", optional=True).nullable(BaselineInfo.read),
                   exit_status=v.key("exit_status", optional=True).nullable(JsonValue.integer))


def _with_file(read: Callable[[], Any], where: str | None) -> Any:
    try:
        return read()
    except ResultsError as err:
        if where is None:
            raise
        raise ResultsError(err.message, where=where, fix=err.fix) from None


__all__ = ["OUTCOMES", "SCHEMA", "BaselineInfo", "CaseRecord", "Comparison", "ConditionRecord", "ModelInfo",
           "Provenance", "Regression", "Results", "ResultsError", "SeedRecord", "SuiteInfo", "WaiverRecord"]
