"""Options, declared once: the pytest plugin's flags and ini keys, and the CLI's flags.

Every `--clip-*` flag is also a pytest ini option of the same name with
underscores (`clip_model = "ViT-B-32"` under `[tool.pytest.ini_options]`, in
pytest.ini or tox.ini). The command line wins over the ini file, which wins
over the default. `resolve_pytest` / `resolve_argparse` read, convert and
validate every option up front, so a bad value is a usage error before any
model is loaded, never a failure after minutes of inversion.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .util import limits
from .util.errors import ClipSafetyError
from .util.remote import is_url
from .models.kinds import SUITE_KINDS
from .util.names import did_you_mean

if TYPE_CHECKING:
    from .results.outputs import RunOutputs
    from .run.case import RunConfig
    from .run.executors import Executor
    from .run.pipeline import Run

MAX_SEED_VALUE = 2**31 - 1  # base seeds feed 32-bit generators


@dataclass(frozen=True)
class Problem:
    """What is wrong with a value, and how to fix it."""

    message: str
    fix: str


# A validator takes the converted value and returns a Problem, or None when the value is fine.
Validator = Callable[[Any], "Problem | None"]


@dataclass(frozen=True)
class Option:
    name: str  # long flag without dashes, e.g. "clip-model"
    help: str
    default: Any = None
    type: type = str  # str, int, float or bool (bool: a flag that takes no value)
    choices: tuple[str, ...] | None = None
    check: Validator | None = None
    ini_type: str | None = None  # pytest's ini type; None: a string, converted and checked here

    @property
    def dest(self) -> str:
        """The argparse dest, which is also the ini key: "clip_model"."""
        return self.name.replace("-", "_")

    @property
    def flag(self) -> str:
        return f"--{self.name}"

    def parser_kwargs(self) -> dict[str, Any]:
        # argparse formats help with %-style (%(default)s): a literal "95%" must reach it as "95%%"
        out: dict[str, Any] = {"dest": self.dest, "default": _unset_default(self.default),
                               "help": self.help.replace("%", "%%")}
        if self.type is bool:
            out["action"] = "store_true"
        elif self.type is not str:  # argparse would convert a str default, dropping its "not given" mark
            out["type"] = self.type
        if self.choices:
            out["choices"] = self.choices
        return out


# -- validators ---------------------------------------------------------------------


def _in_range(low: int, high: int, what: str, high_note: str = "") -> Validator:
    def check(value: int) -> Problem | None:
        if value < low:
            return Problem(f"must be at least {low}", f"give {what}, {low} or more")
        if value > high:
            return Problem(f"is more than the limit of {high:,}{high_note}", f"give {what}, at most {high:,}")
        return None

    return check


def _seeds(value: int) -> Problem | None:
    if value < 1:
        return Problem("must be at least 1", "give the number of seeds per prompt, e.g. 8, or leave it out "
                       "to use each suite's own")
    if value > limits.MAX_SEEDS:
        return Problem(f"is more than the limit of {limits.MAX_SEEDS:,} seeds per prompt (MAX_SEEDS)",
                       "use fewer seeds, or raise the limit deliberately with the environment variable "
                       "CLIPSAFETY_MAX_SEEDS=N")
    return None


def _profile(value: str) -> Problem | None:
    from .invert.settings import PROFILES  # stdlib only: cheap

    if value not in PROFILES:
        return Problem(f"is not an inversion profile{did_you_mean(value, PROFILES)}",
                       f"use one of: {', '.join(PROFILES)}")
    return None


_DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")


def _device(value: str) -> Problem | None:
    if not _DEVICE.fullmatch(value):
        return Problem("is not a device", "use auto, cpu, cuda or cuda:N (N the GPU's index)")
    return None


def _fraction(value: float) -> Problem | None:
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        return Problem("must be a number from 0 to 1", "e.g. 0.5 (NSFW scores lie in [0, 1])")
    return None


def _kinds(value: tuple[str, ...]) -> Problem | None:
    if not value:
        return Problem("names no model kind", f"give a comma-separated list of: {', '.join(SUITE_KINDS)}")
    for kind in value:
        if kind not in SUITE_KINDS:
            return Problem(f"names an unknown model kind {kind!r}{did_you_mean(kind, SUITE_KINDS)}",
                           f"give a comma-separated list of: {', '.join(SUITE_KINDS)}")
    return None


def _path(value: str) -> Problem | None:
    if not value.strip():
        return Problem("is empty", "give the path of a file, or leave the option out")
    return None


def _folder(value: str) -> Problem | None:
    from pathlib import Path

    if not value.strip():
        return Problem("is empty", "give the path of a folder, or leave the option out")
    if is_url(value):  # an fsspec URL: checked when the photos are read
        return None
    if not Path(value).is_dir():
        return Problem("is not a folder", "give the folder that holds one subfolder of photos per label "
                       "(e.g. photos/ with photos/man and photos/woman)")
    return None


def _named(what: str, example: str) -> Validator:
    def check(value: str) -> Problem | None:
        if not value.strip():
            return Problem("is empty", f"give {what} (e.g. {example}), or leave the option out for the default; "
                           "in CI, check that the variable passed to it (e.g. $CLIP_MODEL) is set")
        return None

    return check


def _executor(value: str) -> Problem | None:
    """Ray must be importable now: else every case would fail alone, or a warm cache would pass them."""
    import importlib.util

    try:
        found = value != "ray" or importlib.util.find_spec("ray") is not None
    except (ImportError, ValueError):  # a module entry of None, or a broken package
        found = False
    if not found:
        return Problem("needs Ray, which is not installed", "pip install 'clipsafety[ray]', or use "
                       "--clip-executor=local")
    return None


def _kind_list(text: str) -> tuple[str, ...]:
    """'natural,toy', 'natural toy' -> ('natural', 'toy')."""
    return tuple(part for part in re.split(r"[,\s]+", str(text)) if part)


# -- the options ------------------------------------------------------------------------

OPTIONS: tuple[Option, ...] = (
    Option("clip-model", "CLIP to test: an open_clip architecture (ViT-B-32), hf-hub:ORG/REPO, "
           "local-dir:PATH, or a bundled toy model (toyclip-fair, toyclip-biased). Default: toyclip-fair.",
           check=_named("a model name", "toyclip-fair, ViT-B-32 or local-dir:PATH")),
    Option("clip-pretrained", "weights: an open_clip tag (openai), a local checkpoint file, or 'random'. "
           "Default: the first tag open_clip lists for the architecture.",
           check=_named("a pretrained tag or a checkpoint file", "openai or weights.safetensors")),
    Option("clip-device", "auto, cpu, cuda or cuda:N (auto: CUDA when present)", default="auto", check=_device),
    Option("clip-precision", "auto (bf16 autocast on CUDA, fp32 on CPU), fp32 or bf16", default="auto",
           choices=("auto", "fp32", "bf16")),
    Option("clip-seed", "base seed; per-prompt seeds derive from it and the prompt", default=0, type=int,
           check=_in_range(0, MAX_SEED_VALUE, "a base seed")),
    Option("clip-seeds", "override every suite's number of seeds", type=int, check=_seeds),
    Option("clip-profile", "override every suite's inversion profile (paper, fast, toy)", check=_profile),
    Option("clip-steps", "override every suite's number of inversion steps", type=int,
           check=_in_range(1, limits.MAX_STEPS, "a number of inversion steps", " (MAX_STEPS)")),
    Option("clip-allow-reduced-budget", "accept a run whose --clip-seeds, --clip-steps or --clip-profile cut a "
           "suite's own inversion budget as a release verdict (it is still named in every output)",
           default=False, type=bool),
    Option("clip-evidence-seeds", "a check that reads the prompt as text (text_association) still inverts the "
           "prompt under this many of its seeds and shows the images in the report as evidence, never gated "
           "(0: none)", default=2, type=int, check=_in_range(0, limits.MAX_SEEDS, "a number of evidence seeds",
                                                            " (MAX_SEEDS)")),
    Option("clip-photos", "a folder (or fsspec URL: s3://, gs://) of labelled photos, one subfolder per label "
           "(DIR/man/*.jpg, DIR/woman/*.jpg), "
           "that photo_association probes read texts against; without it a suite that reads photos is skipped, "
           "except on a model kind that brings its own (synthetic)", check=_folder),
    Option("clip-batch-size", "images optimised together", type=int,
           check=_in_range(1, limits.MAX_BATCH_SIZE, "a batch size", " (MAX_BATCH_SIZE)")),
    Option("clip-cache", "inversion cache: a folder or an fsspec URL (s3://, gs://, file://)",
           default=".clipsafety-cache"),
    Option("clip-no-cache", "do not read or write the inversion cache", default=False, type=bool),
    Option("clip-report", "path of clipsafety's HTML report ('' to skip)", default="reports/clipsafety.html"),
    Option("clip-results", "path of the JSON results file ('' to skip)", default="reports/clipsafety.json"),
    Option("clip-baseline", "results file of the release users have today: report side by side, list the "
           "cases whose verdict changed, and fail checks with max_rise/max_drop on a regression", check=_path),
    Option("clip-save-baseline", "also write this run's results here, to serve as a later run's baseline",
           check=_path),
    Option("clip-blur-above", "NSFW score above which report images stay blurred until clicked",
           default=0.5, type=float, check=_fraction),
    Option("clip-require", "comma-separated model kinds (toy, natural) of which at least one check must "
           "have run, else the run fails: guards a CI job against going green on skipped suites",
           check=_kinds, ini_type="args"),
    Option("clip-waivers", "YAML file of waived failures (check, reason, owner, expiry)", check=_path),
    Option("clip-executor", "where the inversions run: local (this process) or ray (a Ray cluster, one "
           "worker per GPU; pip install 'clipsafety[ray]')", default="local", choices=("local", "ray"),
           check=_executor),
    Option("clip-ray-address", "the Ray cluster for --clip-executor=ray: host:port, ray://host:10001, or auto "
           "(a cluster started on this machine, else a new local one). Default: RAY_ADDRESS, else auto.",
           default=None),
    Option("clip-allow-inconclusive", "let inconclusive checks (a positive control that did not show, so the "
           "check could not have failed) leave the exit status alone; they are still reported as inconclusive",
           default=False, type=bool),
    Option("clip-familywise", "family-wise correction for the checks that fail only on evidence: none (each "
           "check's 95% interval; a fair model's run of m such checks expects up to m x 2.5% false alarms) or "
           "bonferroni (each at 1 - 5%/m, holding the whole run to 2.5%). Default: none.",
           default="none", choices=("none", "bonferroni")),
)

OPTIONS_BY_DEST: dict[str, Option] = {opt.dest: opt for opt in OPTIONS}

# Options whose value is converted further after parsing (the raw flag is a string).
_CONVERT: dict[str, Callable[[Any], Any]] = {"clip_require": _kind_list}


def add_to_pytest(parser) -> None:
    group = parser.getgroup("clipsafety", "CLIP safety release gate")
    for opt in OPTIONS:
        group.addoption(opt.flag, **opt.parser_kwargs())
        parser.addini(opt.dest, f"{opt.help} (as --{opt.name})", type=opt.ini_type, default=None)


def add_to_argparse(parser) -> None:
    for opt in OPTIONS:
        parser.add_argument(opt.flag, **opt.parser_kwargs())


# -- "not given" defaults -------------------------------------------------------------------
# The parsers store each default as a marked copy: equal to the default, so code that
# reads config.getoption() directly still sees it, yet recognisably "not given", so that
# an ini value can take its place while a command-line value equal to the default wins.


class _Unset:
    """Marks a parser default as not given on the command line."""


class _UnsetStr(str, _Unset):
    pass


class _UnsetInt(int, _Unset):
    pass


class _UnsetFloat(float, _Unset):
    pass


def _unset_default(value: Any) -> Any:
    marked = {str: _UnsetStr, int: _UnsetInt, float: _UnsetFloat}.get(type(value))
    return marked(value) if marked else value  # None and False cannot be given on a command line


def _given(opt: Option, value: Any) -> bool:
    if value is None or isinstance(value, _Unset):
        return False
    return not (opt.type is bool and value is False)


# -- resolving ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResolvedOptions:
    """Every option's value and where it came from: "command line", "ini file (<path>)" or "default"."""

    values: dict[str, Any]
    sources: dict[str, str]

    def get(self, dest: str) -> Any:
        return self.values[dest]

    def source(self, dest: str) -> str:
        return self.sources.get(dest, "default")


def resolve_pytest(config) -> ResolvedOptions:
    """The options of a pytest run: command line, else ini file, else default; all validated.

    Raises ClipSafetyError naming every bad option, its value and the fix.
    """
    ini_source = _ini_source(config)
    raw: dict[str, tuple[Any, str]] = {}
    for opt in OPTIONS:
        value = config.getoption(opt.dest)
        if _given(opt, value):
            raw[opt.dest] = (value, "command line")
            continue
        ini_value = config.getini(opt.dest)
        if ini_value is not None:
            raw[opt.dest] = (ini_value, ini_source)
    return _resolve(raw, _unknown_ini_keys(config, ini_source))


def _unknown_ini_keys(config, ini_source: str) -> list[str]:
    """A `clip_*` key that names no option: a mistyped key would leave its option at the default."""
    ini = getattr(config, "_inicfg", None)  # what pytest's own unknown-key warning reads (inicfg is deprecated)
    keys = list(ini if ini is not None else getattr(config, "inicfg", None) or {})
    keys += [entry.split("=", 1)[0].strip() for entry in getattr(config.option, "override_ini", None) or ()]
    problems = []
    for key in dict.fromkeys(keys):
        if key.startswith("clip_") and key not in OPTIONS_BY_DEST:
            problems.append(str(ClipSafetyError(
                f"{key} in the {ini_source}: is not a clipsafety option{did_you_mean(key, OPTIONS_BY_DEST)}",
                fix=f"correct the key (clipsafety's ini keys: {', '.join(OPTIONS_BY_DEST)}), or remove it")))
    return problems


def resolve_argparse(namespace) -> ResolvedOptions:
    """The options of `clipsafety run`: command line, else default; all validated."""
    raw = {}
    for opt in OPTIONS:
        value = getattr(namespace, opt.dest, None)
        if _given(opt, value):
            raw[opt.dest] = (value, "command line")
    return _resolve(raw)


def _ini_source(config) -> str:
    inipath = getattr(config, "inipath", None)
    if inipath is None:
        return "ini option (-o)"
    try:
        shown = os.path.relpath(inipath)
    except ValueError:  # another drive on Windows
        shown = str(inipath)
    return f"ini file ({shown if not shown.startswith('..') else inipath})"


def _resolve(raw: dict[str, tuple[Any, str]], problems: list[str] | None = None) -> ResolvedOptions:
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    problems = list(problems or ())
    for opt in OPTIONS:
        if opt.dest not in raw:
            values[opt.dest] = _plain(opt.default)
            sources[opt.dest] = "default"
            continue
        value, source = raw[opt.dest]
        try:
            values[opt.dest] = _checked(opt, value, source)
        except ClipSafetyError as err:
            problems.append(str(err))
        sources[opt.dest] = source
    if problems:
        raise ClipSafetyError("\n".join(problems))
    return ResolvedOptions(values, sources)


def _plain(value: Any) -> Any:
    """The default without the parser's "not given" mark."""
    for base in (str, int, float):
        if isinstance(value, base) and not isinstance(value, bool):
            return base(value)
    return value


def check_option(dest: str, value: Any, flag: str) -> Any:
    """One option's value, given on a command line as `flag` (another command's name for it: report's
    --blur-above is --clip-blur-above), converted and validated by the option's own rule."""
    return _checked(OPTIONS_BY_DEST[dest], value, "command line", flag=flag)


def _checked(opt: Option, value: Any, source: str, flag: str | None = None) -> Any:
    """The option's value converted to its type (ini values are text) and validated."""
    shown = f"{flag or opt.flag}={value}" if source == "command line" else f"{opt.dest} = {value!r} in the {source}"
    value = _converted(opt, value, shown)
    value = _CONVERT.get(opt.dest, lambda v: v)(value)
    if opt.choices and value not in opt.choices:
        raise ClipSafetyError(f"{shown}: is not one of {', '.join(opt.choices)}{did_you_mean(value, opt.choices)}",
                              fix=f"use one of: {', '.join(opt.choices)}")
    problem = opt.check(value) if opt.check else None
    if problem:
        raise ClipSafetyError(f"{shown}: {problem.message}", fix=problem.fix)
    return value


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


def _converted(opt: Option, value: Any, shown: str) -> Any:
    if isinstance(value, list):  # an "args" ini option, or a TOML list in the ini file
        if opt.ini_type == "args" and all(isinstance(v, str) for v in value):
            return ",".join(value)
        raise ClipSafetyError(f"{shown}: expected a single value, not a list", fix=f"e.g. {opt.dest} = \"...\"")
    if not isinstance(value, str):
        return value  # already converted by the command-line parser
    text = value.strip()
    if opt.type is bool:
        if text.lower() in _TRUE + _FALSE:
            return text.lower() in _TRUE
        raise ClipSafetyError(f"{shown}: expected true or false", fix=f"write {opt.dest} = true (or false)")
    if opt.type is int:
        try:
            return int(text)
        except ValueError:
            raise ClipSafetyError(f"{shown}: expected a whole number", fix=f"e.g. {opt.dest} = 8") from None
    if opt.type is float:
        try:
            return float(text)
        except ValueError:
            raise ClipSafetyError(f"{shown}: expected a number", fix=f"e.g. {opt.dest} = 0.5") from None
    return text


def describe_sources(resolved: ResolvedOptions) -> list[str]:
    """Lines for the run's header: the model, and every option not at its default, with its source."""
    lines = []
    for opt in OPTIONS:
        source = resolved.source(opt.dest)
        if source == "default" and opt.dest != "clip_model":
            continue
        value = resolved.get(opt.dest)
        shown = ",".join(value) if isinstance(value, tuple) else value
        if opt.dest == "clip_model" and value is None:
            shown = "toyclip-fair"
        lines.append(f"{opt.flag}={shown} (from {source})")
    return lines


__all__ = [
    "OPTIONS",
    "OPTIONS_BY_DEST",
    "Option",
    "ResolvedOptions",
    "add_to_argparse",
    "add_to_pytest",
    "check_option",
    "describe_sources",
    "resolve_argparse",
    "resolve_pytest",
]


# -- building a run from the options: the one place the engine's objects meet option names --------------


def run_config(get: Callable[[str], Any]) -> "RunConfig":
    """The RunConfig the options describe; `get(dest)` reads one resolved option."""
    from .run.case import RunConfig

    return RunConfig(
        model=get("clip_model"),
        pretrained=get("clip_pretrained"),
        device=get("clip_device") or "auto",
        precision=get("clip_precision") or "auto",
        base_seed=int(get("clip_seed") or 0),
        seeds=get("clip_seeds"),
        profile=get("clip_profile"),
        steps=get("clip_steps"),
        batch_size=get("clip_batch_size"),
        cache_dir=None if get("clip_no_cache") else (get("clip_cache") or None),
        familywise=get("clip_familywise") or "none",
        evidence_seeds=_or_default(get("clip_evidence_seeds"), 2),
        photos=get("clip_photos") or None,
    )


def _or_default(value: Any, default: int) -> int:
    """An integer option whose 0 means something: only None takes the default."""
    return default if value is None else int(value)


def run_outputs(get: Callable[[str], Any]) -> "RunOutputs":
    """The files the options ask a run to write ('' or None: not written)."""
    from pathlib import Path

    from .results.outputs import RunOutputs

    def path(dest: str) -> Path | None:
        return Path(get(dest)) if get(dest) else None

    return RunOutputs(results=path("clip_results"), report=path("clip_report"),
                      save_baseline=path("clip_save_baseline"), blur_above=float(get("clip_blur_above")))


def run_executor(get: Callable[[str], Any], config: "RunConfig") -> "Executor | None":
    """The executor --clip-executor names; None for `local` (the run makes its LocalExecutor).
    A Ray worker loads the same model by name and source as the run."""
    if get("clip_executor") != "ray":
        return None
    from .run.ray_executor import RayExecutor
    from .run.ray_worker import WorkerModel

    model = WorkerModel(config.model, config.pretrained, device=config.device, precision=config.precision)
    return RayExecutor(model, address=get("clip_ray_address"))


def build_run(options: ResolvedOptions, *, command: str, progress: Callable | None = None) -> "Run":
    """The run the options describe, for the pytest plugin and `clipsafety run` alike."""
    from .run.pipeline import Run

    get = options.get
    config = run_config(get)
    return Run(config, run_outputs(get), baseline=get("clip_baseline"), command=command, progress=progress,
               executor=run_executor(get, config), require=get("clip_require") or (), waivers=get("clip_waivers"),
               allow_reduced_budget=bool(get("clip_allow_reduced_budget")))
