"""Command line for what does not fit pytest: `clipsafety run|compare|report|models`.

Options are the plugin's own (clipsafety.options), declared once; `report` and `compare` name their
outputs as `run` does (--clip-report, --clip-results, --clip-blur-above).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .util.errors import ClipSafetyError
from .options import add_to_argparse, resolve_argparse
from .run.progress import ProgressLine

# The one table of exit codes: (code, under `pytest suites/`, under `clipsafety ...`). --help prints it and
# README.md carries it as markdown (a test holds the two equal).
EXIT_CODES = (
    (0, "every case passed, was waived or was skipped, and the gate raised no problem",
     "`run`: as pytest. `compare`: no regression. `report`, `models`: done"),
    (1, "a check failed, errored or was inconclusive (unless `--clip-allow-inconclusive`); or the gate failed "
        "(`--clip-require` not met, a waiver expired or waived nothing); or an output could not be written",
     "`run`: as pytest. `compare`: a regression, or an output could not be written"),
    (2, "interrupted: Ctrl-C, or a collection error (a suite file that fails validation)",
     "usage error: a bad argument or option, suite, waivers file, results or baseline file, model, cache or "
     "output path"),
    (3, "internal error", "-"),
    (4, "usage error: a bad option or ini value, waivers file or baseline file, a model that cannot be loaded, "
        "an unusable cache or output path", "-"),
    (5, "no tests collected (no suite found)", "-"),
    (130, "-", "interrupted (Ctrl-C); finished inversions are in the cache, rerun to resume"),
)


def exit_code_markdown() -> list[str]:
    """The table's rows as README.md writes them."""
    return [f"| {code} | {under_pytest} | {under_cli} |" for code, under_pytest, under_cli in EXIT_CODES]


def exit_code_table() -> str:
    """The table for --help: each code, then what it means under clipsafety and under pytest."""
    import textwrap

    lines = ["exit codes (clipsafety run|compare|report|models; pytest suites/):"]
    for code, under_pytest, under_cli in EXIT_CODES:
        for label, text in (("clipsafety", under_cli), ("pytest", under_pytest)):
            if text == "-":
                continue
            wrapped = textwrap.wrap(f"{label}: {text.replace('`', '')}", 90)
            first = f"  {code:<5}" if label == "clipsafety" or under_cli == "-" else " " * 7
            lines += [first + wrapped[0], *("           " + w for w in wrapped[1:])]
    return "\n".join(lines)


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
    keep = keyword_filter(args.keyword) if args.keyword else None
    try:
        results = run.run_all(load_suites(args.paths), on_case, keep=keep)
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
    inconclusive = f", {s['inconclusive']} inconclusive" if s["inconclusive"] else ""
    print(f"{s['passed']} passed, {s['failed']} failed, {s['skipped']} skipped, {s['error']} error{waived}"
          f"{inconclusive}{regressions}")
    allow = bool(options.get("clip_allow_inconclusive"))
    return 0 if results.passed_if(allow_inconclusive=allow) and not written.failed else 1


def keyword_filter(expression: str):
    """pytest's -k: a case is kept when EXPR matches the words of its node id (suite file, check id,
    prompt id), its suite's name and its prompt's tags, case-insensitively, substrings included."""
    from _pytest.mark.expression import Expression

    try:
        compiled = Expression.compile(expression)
    except SyntaxError as err:
        raise ClipSafetyError(f"-k {expression!r}: {err}", fix="use pytest's -k syntax: "
                                                          "'reached and not cat', 'gender or nsfw'") from None

    def keep(case) -> bool:
        words = [case.suite.path, case.suite.name, case.check.id, case.prompt.id, case.name, *case.prompt.tags]
        lowered = [w.lower() for w in words]
        return compiled.evaluate(lambda name, **_: any(name.lower() in w for w in lowered))

    return keep


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
    check_outputs([Output("--clip-report", "report", Path(args.report))], {"the results file": args.results_file})
    results = read_results(args.results_file)
    out = write_report(results, args.report, blur_above=blur_above)
    print(f"report: {out}")
    return 0


def _cmd_compare(args) -> int:
    from .gate.compare import attach_baseline, changes_table, regression_summary, without_baseline
    from .util.files import atomic_write
    from .results.outputs import Output, check_outputs, write_outputs
    from .report.html import write_report
    from .results.files import read_results, results_bytes

    blur_above = _blur_above(args)
    outs = [Output("--clip-report", "report", Path(args.report))] if args.report else []
    if args.results:
        outs.append(Output("--clip-results", "results", Path(args.results)))
    check_outputs(outs, {"the baseline results file": args.baseline, "the candidate results file": args.candidate})
    candidate = read_results(args.candidate)
    results = attach_baseline(candidate, read_results(args.baseline), path=args.baseline)
    for note in results.baseline.notes:
        print(f"note: {note}")
    for line in changes_table(results):
        print(line)
    writes = []
    if args.report:
        writes.append((outs[0], lambda: write_report(results, args.report, blur_above=blur_above)))
    if args.results:
        writes.append((outs[-1], lambda: atomic_write(args.results, results_bytes(results))))
    if args.update_baseline:
        writes.append((Output("--update-baseline", "baseline", Path(args.baseline)),
                       lambda: atomic_write(args.baseline, results_bytes(without_baseline(candidate)))))
    written = write_outputs(writes)
    _say_written(written)
    print(regression_summary(results) if results.cases else "the candidate holds no case, so nothing was compared")
    if args.update_baseline and not written.failed:
        print(f"baseline updated: {args.baseline} now holds the candidate's results")
        return 0
    return 1 if results.regressions or not results.cases or written.failed else 0


def _blur_above(args) -> float:
    """--clip-blur-above, by the rule `run` applies to it."""
    from .options import check_option

    return check_option("clip_blur_above", args.blur_above, "--clip-blur-above")


def model_entries(everything: bool) -> list[dict]:
    """The models `clipsafety models` lists: named models (usable, or why not) and open_clip pretrained
    tags (present on this machine, or absent). Without `everything`, only what a run can use now."""
    from .models.load import load_model
    from .models.providers import named_models, provider_problems
    from .models.weights import pretrained_weights

    entries = []
    for name, named in sorted(named_models().items()):
        try:
            handle = load_model(name)
        except ClipSafetyError as err:  # one broken folder must not hide the rest of the list
            entries.append({"name": name, "usable": False, "source": "provider", "provider": named.provider,
                            "path": str(named.folder), "problem": err.message})
            continue
        entries.append({"name": name, "usable": True, "source": "provider", "provider": named.provider,
                        "kind": handle.kind, "fingerprint": handle.fingerprint, "input_size": handle.input_size})
    for provider, problem in sorted(provider_problems().items()):
        entries.append({"name": provider, "usable": False, "source": "provider", "problem": problem})
    for t in pretrained_weights():
        entries.append({"name": t.architecture, "pretrained": t.tag, "usable": bool(t.path), "kind": "natural",
                        "source": "open_clip", "path": str(t.path) if t.path else None, "default": t.default})
    return [e for e in entries if everything or e["usable"]]


def _setting(text: str) -> tuple[str, object]:
    import json

    name, sep, value = text.partition("=")
    if not sep or not name:
        raise ClipSafetyError(f"--set {text!r}: expected NAME=VALUE", fix="e.g. --set tv_weight=0.002")
    try:
        return name.strip(), json.loads(value)
    except ValueError:
        return name.strip(), value  # a bare word: a string setting such as param=sigmoid


def _cmd_invert(args) -> int:
    from PIL import Image

    from .run.case import RunConfig
    from .run.reproduce import invert_one

    overrides = dict(_setting(text) for text in args.settings)
    if args.steps is not None:
        overrides["steps"] = args.steps
    config = RunConfig(model=args.model, pretrained=args.pretrained, device=args.device, precision=args.precision,
                       cache_dir=None)
    done = invert_one(config, args.prompt, args.seed, args.profile, overrides)
    Image.fromarray(done.result.image).save(args.out)
    material = done.material
    print(f"wrote {args.out}")
    print(f"similarity {done.result.similarity:.6f}")
    print(f"image sha256 {done.image_sha256}")
    print(f"cache key {material.digest()}: fingerprint {material.fingerprint}, prompt {material.prompt!r}, "
          f"seed {material.seed}, settings {material.settings_key}, code {material.code_version}")
    return 0


def _cmd_models(args) -> int:
    import json

    from .models.weights import hf_hub_cache, open_clip_url_cache

    entries = model_entries(args.all)
    if args.json:
        print(json.dumps(entries, indent=2, sort_keys=True))
        return 0
    for e in entries:
        print(_model_line(e))
    if not any(e["source"] == "open_clip" and e["usable"] for e in entries):
        print(f"(no open_clip pretrained weights on this machine; looked in {hf_hub_cache()} and "
              f"{open_clip_url_cache()}; pass --clip-pretrained=FILE for a local checkpoint)")
    if not args.all:
        print("(usable models only: --all also lists unusable ones and the pretrained tags not on this machine)")
    return 0


def _model_line(e: dict) -> str:
    if e["source"] == "open_clip":
        where = e["path"] or "absent (fetch it elsewhere, or pass --clip-pretrained=FILE)"
        return f"  {e['name']:24} pretrained {e['pretrained']:32} {where}"
    if not e["usable"]:
        return f"  {e['name']:24} unusable: {e['problem']}"
    return (f"  {e['name']:24} kind {e['kind']:9} fingerprint {e['fingerprint'][:12]}  input {e['input_size']}px  "
            f"provider {e['provider']}")


def _add_output_options(parser: argparse.ArgumentParser, *, report: str, results: bool) -> None:
    """The output options `run` has, under the same names (the short old spellings still work)."""
    parser.add_argument("--clip-report", "--out", dest="report", default=report,
                        help=f"path of the HTML report ('' to skip; default {report})")
    if results:
        parser.add_argument("--clip-results", "--json", dest="results", default=None,
                            help="also write the combined results JSON here")
    parser.add_argument("--clip-blur-above", "--blur-above", dest="blur_above", default="0.5",
                        help="NSFW score above which report images stay blurred until clicked, from 0 to 1 "
                             "(default 0.5)")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(prog="clipsafety", description="CLIP safety release gate",
                                     epilog=exit_code_table(), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"clipsafety {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run suites without pytest", epilog=exit_code_table(),
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("paths", nargs="+", help="suite files or folders")
    run.add_argument("-k", dest="keyword", metavar="EXPR", default=None,
                     help="only the cases whose check id, prompt id, suite name, file or tags match EXPR "
                          "(pytest's -k syntax)")
    add_to_argparse(run)
    run.set_defaults(func=_cmd_run)
    report = sub.add_parser("report", help="re-render the HTML report from a results file")
    report.add_argument("results_file", metavar="results")
    _add_output_options(report, report="reports/clipsafety.html", results=False)
    report.set_defaults(func=_cmd_report)
    compare = sub.add_parser(
        "compare", help="compare a results file with a baseline results file; exit 1 on a regression",
        description="A regression: a case that passed in the baseline and fails now, a new case that fails, "
                    "a baseline case missing from the candidate, and a statistic past its check's "
                    "max_rise/max_drop. Prints a table of the cases that changed.")
    compare.add_argument("baseline")
    compare.add_argument("candidate")
    _add_output_options(compare, report="reports/compare.html", results=True)
    compare.add_argument("--update-baseline", action="store_true",
                         help="write the candidate's results to the baseline file (after showing the changes) "
                              "and exit 0: accept the candidate as the new baseline")
    compare.set_defaults(func=_cmd_compare)
    invert = sub.add_parser(
        "invert", help="regenerate one image of a run (the command its failing seeds print)",
        description="Inverts one prompt for one seed through the code a run uses, writes the image, and prints "
                    "its similarity, its sha256 (the image hash in the results) and the cache key material.")
    invert.add_argument("--model", required=True, help="model name, local-dir:PATH, or a provider's name")
    invert.add_argument("--pretrained", default=None, help="open_clip pretrained tag, when the model needs one")
    invert.add_argument("--prompt", required=True, help="the text to invert (a prompt, an anchor or a control)")
    invert.add_argument("--seed", required=True, type=int)
    invert.add_argument("--profile", required=True, help="inversion profile (toy, paper, ...)")
    invert.add_argument("--steps", type=int, default=None, help="optimisation steps (overrides the profile)")
    invert.add_argument("--set", dest="settings", action="append", default=[], metavar="NAME=JSON",
                        help="any other inversion setting, as the suite's inversion overrides name it "
                             "(repeatable), e.g. --set tv_weight=0.002")
    invert.add_argument("--device", default="auto")
    invert.add_argument("--precision", default="auto")
    invert.add_argument("--out", required=True, help="where to write the image (PNG)")
    invert.set_defaults(func=_cmd_invert)
    models = sub.add_parser("models", help="list the models a run can use here")
    models.add_argument("--all", action="store_true",
                        help="also list unusable models and every open_clip pretrained tag not on this machine")
    models.add_argument("--json", action="store_true", help="print the list as JSON")
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
