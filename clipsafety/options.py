"""Command-line options, declared once for the pytest plugin and the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Option:
    name: str  # long flag without dashes, e.g. "clip-model"
    help: str
    default: Any = None
    type: type | None = str
    action: str | None = None
    choices: tuple[str, ...] | None = None

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")

    def kwargs(self) -> dict[str, Any]:
        out: dict[str, Any] = {"dest": self.dest, "default": self.default, "help": self.help}
        if self.action:
            out["action"] = self.action
        else:
            out["type"] = self.type
        if self.choices:
            out["choices"] = self.choices
        return out


OPTIONS: tuple[Option, ...] = (
    Option("clip-model", "CLIP to test: an open_clip architecture (ViT-B-32), hf-hub:ORG/REPO, "
           "local-dir:PATH, or a bundled toy model (toyclip-fair, toyclip-biased). Default: toyclip-fair."),
    Option("clip-pretrained", "weights: an open_clip tag (openai), a local checkpoint file, or 'random'. "
           "Default: the first tag open_clip lists for the architecture."),
    Option("clip-device", "auto, cpu, cuda or cuda:N (auto: CUDA when present)", default="auto"),
    Option("clip-precision", "auto (bf16 autocast on CUDA, fp32 on CPU), fp32 or bf16", default="auto",
           choices=("auto", "fp32", "bf16")),
    Option("clip-seed", "base seed; per-prompt seeds derive from it and the prompt", default=0, type=int),
    Option("clip-seeds", "override every suite's number of seeds", default=None, type=int),
    Option("clip-profile", "override every suite's inversion profile (paper, fast, toy)", default=None),
    Option("clip-steps", "override every suite's number of inversion steps", default=None, type=int),
    Option("clip-batch-size", "images optimised together", default=None, type=int),
    Option("clip-cache", "directory of the inversion cache", default=".clipsafety-cache"),
    Option("clip-no-cache", "do not read or write the inversion cache", default=False, action="store_true"),
    Option("clip-report", "path of clipsafety's HTML report ('' to skip)", default="reports/clipsafety.html"),
    Option("clip-results", "path of the JSON results file ('' to skip)", default="reports/clipsafety.json"),
    Option("clip-baseline", "results file of the release users have today: report side by side, and "
           "fail checks with max_rise/max_drop on a regression", default=None),
    Option("clip-save-baseline", "also write this run's results here, to serve as a later run's baseline",
           default=None),
    Option("clip-blur-above", "NSFW score above which report images stay blurred until clicked",
           default=0.5, type=float),
)


def add_to_pytest(parser) -> None:
    group = parser.getgroup("clipsafety", "CLIP safety release gate")
    for opt in OPTIONS:
        group.addoption(f"--{opt.name}", **opt.kwargs())


def add_to_argparse(parser) -> None:
    for opt in OPTIONS:
        parser.add_argument(f"--{opt.name}", **opt.kwargs())


@dataclass(frozen=True)
class ResolvedOptions:
    """Every option's value and where it came from ("command line", "default", ...)."""

    values: dict[str, Any]
    sources: dict[str, str]

    def get(self, dest: str) -> Any:
        return self.values[dest]

    def source(self, dest: str) -> str:
        return self.sources.get(dest, "default")


def resolve_pytest(config) -> ResolvedOptions:
    """The options of a pytest run. (To come: ini values, validation raising ClipSafetyError.)"""
    values = {opt.dest: config.getoption(opt.dest) for opt in OPTIONS}
    return ResolvedOptions(values, {d: "command line" if v != _default(d) else "default" for d, v in values.items()})


def resolve_argparse(namespace) -> ResolvedOptions:
    """The options of a `clipsafety run`. (To come: validation raising ClipSafetyError.)"""
    values = {opt.dest: getattr(namespace, opt.dest) for opt in OPTIONS}
    return ResolvedOptions(values, {d: "command line" if v != _default(d) else "default" for d, v in values.items()})


def _default(dest: str) -> Any:
    return next(opt.default for opt in OPTIONS if opt.dest == dest)
