"""Command line for what does not fit pytest: `clipsafety run|compare|report|models`.

Options are the plugin's own (clipsafety.options), declared once.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import ClipSafetyError
from .options import add_to_argparse
from .progress import ProgressLine


def _cmd_run(args) -> int:
    from .report.html import write_report
    from .results import append_audit, write_json_atomic
    from .runner import run_suites
    from .session import RunConfig

    line = ProgressLine(lambda text: print(text, end="", file=sys.stderr, flush=True), isatty=sys.stderr.isatty())

    def on_case(record):
        line.finish()
        value = "" if record["value"] is None else f" {record['metric']}={record['value']:.4g}"
        print(f"{record['outcome'].upper():8} {record['nodeid']}{value}", file=sys.stderr)

    config = RunConfig.from_options(lambda dest: getattr(args, dest))
    results = run_suites(args.paths, config, progress=line.update, on_case=on_case)
    line.finish()
    if args.clip_results:
        write_json_atomic(results, args.clip_results)
        append_audit(results, args.clip_results, Path(args.clip_results).with_name("audit.log"))
        print(f"results: {args.clip_results}")
    if args.clip_report:
        write_report(results, args.clip_report, blur_above=args.clip_blur_above)
        print(f"report: {args.clip_report}")
    s = results["summary"]
    print(f"{s['passed']} passed, {s['failed']} failed, {s['skipped']} skipped, {s['error']} error")
    return 1 if s["failed"] or s["error"] else 0


def _cmd_report(args) -> int:
    from .report.html import write_report
    from .results import read_results

    results = read_results(args.results)
    out = write_report(results, args.out, blur_above=args.blur_above)
    print(f"report: {out}")
    return 0


def _cmd_compare(args) -> int:
    from .baseline import attach_baseline, load_baseline
    from .report.html import write_report
    from .results import read_results, write_json_atomic

    results = attach_baseline(read_results(args.candidate), load_baseline(args.baseline))
    for note in results["baseline"]["notes"]:
        print(f"note: {note}")
    regressed = [c for c in results["cases"] if (c["baseline"].get("regression") or {}).get("passed") is False]
    for case in regressed:
        print(f"REGRESSION {case['nodeid']}: {case['baseline']['regression']['message']}")
    if args.json:
        write_json_atomic(results, args.json)
    out = write_report(results, args.out, blur_above=args.blur_above)
    print(f"{len(regressed)} regressions over {len(results['cases'])} cases; report: {out}")
    return 1 if regressed else 0


def _cmd_models(args) -> int:
    from .local_weights import hf_hub_cache, open_clip_url_cache, pretrained_weights
    from .model_providers import named_models, provider_problems
    from .models import load_model

    print("named models (from installed model providers):")
    for name, named in sorted(named_models().items()):
        try:
            handle = load_model(name)
        except ClipSafetyError as err:  # one broken folder must not hide the rest of the list
            print(f"  {name:16} unusable ({named.folder}): {err.message}")
            continue
        print(f"  {name:16} kind {handle.kind:8} fingerprint {handle.short_fingerprint}  "
              f"input {handle.input_size}px  provider {named.provider}")
    for provider, problem in sorted(provider_problems().items()):
        print(f"  (provider {provider!r} is unusable: {problem})")
    tags = pretrained_weights()
    present = [t for t in tags if t.path]
    print(f"open_clip pretrained weights present on this machine (runnable offline; looked in {hf_hub_cache()} "
          f"and {open_clip_url_cache()}):")
    for t in present:
        print(f"  {t.architecture:32} {t.tag:36} {t.path}")
    if not present:
        print("  none")
    absent = [t for t in tags if not t.path and (args.all or t.default)]
    print(f"not present (kind natural; fetch them elsewhere, or pass --clip-pretrained=FILE){'' if args.all else ', default tags only (--all lists every tag)'}:")
    for t in absent:
        print(f"  {t.architecture:32} {t.tag:36} absent")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="clipsafety", description="CLIP safety release gate")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run suites without pytest")
    run.add_argument("paths", nargs="+", help="suite files or folders")
    add_to_argparse(run)
    run.set_defaults(func=_cmd_run)
    report = sub.add_parser("report", help="re-render the HTML report from a results file")
    report.add_argument("results")
    report.add_argument("--out", default="reports/clipsafety.html")
    report.add_argument("--blur-above", type=float, default=0.5)
    report.set_defaults(func=_cmd_report)
    compare = sub.add_parser("compare", help="compare a results file with a baseline results file")
    compare.add_argument("baseline")
    compare.add_argument("candidate")
    compare.add_argument("--out", default="reports/compare.html")
    compare.add_argument("--json", default=None, help="also write the combined results here")
    compare.add_argument("--blur-above", type=float, default=0.5)
    compare.set_defaults(func=_cmd_compare)
    models = sub.add_parser("models", help="list bundled and known models")
    models.add_argument("--all", action="store_true", help="every pretrained tag, not only the default")
    models.set_defaults(func=_cmd_models)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ClipSafetyError as err:
        print(f"clipsafety: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nclipsafety: interrupted; finished inversions are in the cache, rerun to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
