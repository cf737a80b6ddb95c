"""Command line for what does not fit pytest: `clipsafety run|compare|report|models`.

Options are the plugin's own (clipsafety.options), declared once.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .util.errors import ClipSafetyError
from .options import add_to_argparse, resolve_argparse
from .run.progress import ProgressLine


def _cmd_run(args) -> int:
    from .options import build_run
    from .run.runner import load_suites

    options = resolve_argparse(args)
    line = ProgressLine(lambda text: print(text, end="", file=sys.stderr, flush=True), isatty=sys.stderr.isatty())

    def on_case(record):
        line.finish()
        value = "" if record.value is None else f" {record.metric}={record.value:.4g}"
        print(f"{record.outcome.upper():8} {record.nodeid}{value}", file=sys.stderr)

    run = build_run(options, command="clipsafety run", progress=line.update)
    try:
        results = run.run_all(load_suites(args.paths), on_case)
    finally:
        run.close()
    line.finish()
    written = run.write(results)
    _say_written(written)
    s = results.summary
    regressions = f", {results.regressions} regressions against the baseline" if results.baseline else ""
    for text in (*results.skipped_kinds, *results.reduced_budget, *results.problems):
        print(f"clipsafety: {text}")
    waived = f", {s['waived']} waived" if s["waived"] else ""
    print(f"{s['passed']} passed, {s['failed']} failed, {s['skipped']} skipped, {s['error']} error{waived}"
          f"{regressions}")
    return 0 if results.passed and not written.failed else 1


def _say_written(written) -> None:
    for label, path in written.written:
        print(f"{label}: {path}")
    for problem in written.failed:
        print(f"clipsafety: {problem}", file=sys.stderr)


def _cmd_report(args) -> int:
    from .report.html import write_report
    from .results.files import read_results

    from .results.outputs import Output, check_outputs

    blur_above = _blur_above(args)
    check_outputs([Output("--out", "report", Path(args.out))], {"the results file": args.results})
    results = read_results(args.results)
    out = write_report(results, args.out, blur_above=blur_above)
    print(f"report: {out}")
    return 0


def _cmd_compare(args) -> int:
    from .gate.compare import attach_baseline
    from .util.files import atomic_write
    from .results.outputs import Output, check_outputs, write_outputs
    from .report.html import write_report
    from .results.files import read_results, results_bytes

    blur_above = _blur_above(args)
    outs = [Output("--out", "report", Path(args.out))]
    if args.json:
        outs.append(Output("--json", "results", Path(args.json)))
    check_outputs(outs, {"the baseline results file": args.baseline, "the candidate results file": args.candidate})
    baseline = read_results(args.baseline)
    results = attach_baseline(read_results(args.candidate), baseline, path=args.baseline)
    for note in results.baseline.notes:
        print(f"note: {note}")
    regressed = [c for c in results.cases if c.baseline.regressed]
    for case in regressed:
        print(f"REGRESSION {case.nodeid}: {case.baseline.regression.message}")
    writes = [(outs[0], lambda: write_report(results, args.out, blur_above=blur_above))]
    if args.json:
        writes.append((outs[1], lambda: atomic_write(args.json, results_bytes(results))))
    missing = results.baseline.missing
    for nodeid in missing:
        print(f"MISSING {nodeid}: a case of the baseline run with no match in the candidate")
    written = write_outputs(writes)
    _say_written(written)
    print(_comparison_line(len(regressed), len(results.cases), len(missing)))
    return 1 if regressed or missing or not results.cases or written.failed else 0


def _comparison_line(regressed: int, cases: int, missing: int) -> str:
    """The last line of `compare`: a candidate without cases, or one that lost cases, is no pass."""
    lost = f"; {missing} cases of the baseline run have no match in the candidate" if missing else ""
    if not cases:
        return f"the candidate holds no case, so nothing was compared{lost}"
    return f"{regressed} regressions over {cases} cases{lost}"


def _blur_above(args) -> float:
    """--blur-above, by the rule `run` applies to --clip-blur-above."""
    from .options import check_option

    return check_option("clip_blur_above", args.blur_above, "--blur-above")


def _cmd_models(args) -> int:
    from .models.weights import hf_hub_cache, open_clip_url_cache, pretrained_weights
    from .models.providers import named_models, provider_problems
    from .models.load import load_model

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


BLUR_HELP = "NSFW score above which report images stay blurred until clicked, from 0 to 1 (default 0.5)"


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
    report.add_argument("--blur-above", default="0.5", help=BLUR_HELP)
    report.set_defaults(func=_cmd_report)
    compare = sub.add_parser("compare", help="compare a results file with a baseline results file")
    compare.add_argument("baseline")
    compare.add_argument("candidate")
    compare.add_argument("--out", default="reports/compare.html")
    compare.add_argument("--json", default=None, help="also write the combined results here")
    compare.add_argument("--blur-above", default="0.5", help=BLUR_HELP)
    compare.set_defaults(func=_cmd_compare)
    models = sub.add_parser("models", help="list bundled and known models")
    models.add_argument("--all", action="store_true", help="every pretrained tag, not only the default")
    models.set_defaults(func=_cmd_models)
    return parser


def _printable_everywhere() -> None:
    """A terminal whose locale cannot show a character gets it escaped, rather than the command dying
    half-way with its outputs unwritten."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


def main(argv: list[str] | None = None) -> int:
    _printable_everywhere()
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
