"""Options are validated up front, and may come from the command line, an ini file or the default."""

from __future__ import annotations

import argparse

import pytest

from clipsafety.util import limits
from clipsafety.util.errors import ClipSafetyError
from clipsafety.options import OPTIONS, add_to_argparse, describe_sources, resolve_argparse, resolve_pytest


def cli(*argv: str):
    parser = argparse.ArgumentParser()
    add_to_argparse(parser)
    return resolve_argparse(parser.parse_args(list(argv)))


def cli_error(*argv: str) -> str:
    with pytest.raises(ClipSafetyError) as info:
        cli(*argv)
    return str(info.value)


# -- validation (the CLI's parser; pytest's shares the code) ---------------------------


def test_defaults_when_nothing_is_given():
    resolved = cli()
    assert resolved.get("clip_seed") == 0 and type(resolved.get("clip_seed")) is int
    assert resolved.get("clip_device") == "auto" and type(resolved.get("clip_device")) is str
    assert resolved.get("clip_blur_above") == 0.5
    assert resolved.get("clip_seeds") is None and resolved.get("clip_no_cache") is False
    assert resolved.get("clip_require") is None and resolved.get("clip_waivers") is None
    assert {resolved.source(opt.dest) for opt in OPTIONS} == {"default"}


def test_good_values_pass_through_converted():
    resolved = cli("--clip-seeds=3", "--clip-seed=7", "--clip-steps=10", "--clip-batch-size=2",
                   "--clip-profile=fast", "--clip-blur-above=1", "--clip-device=cuda:1", "--clip-no-cache",
                   "--clip-require=natural, toy", "--clip-waivers=waivers.yaml")
    assert resolved.get("clip_seeds") == 3 and resolved.get("clip_seed") == 7
    assert resolved.get("clip_require") == ("natural", "toy")
    assert resolved.get("clip_no_cache") is True and resolved.get("clip_device") == "cuda:1"
    assert resolved.source("clip_seeds") == "command line" and resolved.source("clip_model") == "default"


def test_a_command_line_value_equal_to_the_default_still_counts_as_given():
    resolved = cli("--clip-seed=0", "--clip-device=auto")
    assert resolved.source("clip_seed") == "command line"
    assert resolved.source("clip_device") == "command line"


@pytest.mark.parametrize(
    "flag, expect",
    [
        ("--clip-seeds=0", "--clip-seeds=0: must be at least 1"),
        ("--clip-seeds=-1", "--clip-seeds=-1: must be at least 1"),
        ("--clip-seeds=100000000", "limit of 1,024 seeds per prompt"),
        ("--clip-seed=-5", "--clip-seed=-5: must be at least 0"),
        ("--clip-seed=2147483648", "limit of 2,147,483,647"),
        ("--clip-steps=0", "--clip-steps=0: must be at least 1"),
        ("--clip-steps=100000000", "limit of 1,000,000 (MAX_STEPS)"),
        ("--clip-batch-size=0", "--clip-batch-size=0: must be at least 1"),
        ("--clip-profile=papr", "--clip-profile=papr: is not an inversion profile (did you mean 'paper'?)"),
        ("--clip-blur-above=1.5", "--clip-blur-above=1.5: must be a number from 0 to 1"),
        ("--clip-blur-above=nan", "must be a number from 0 to 1"),
        ("--clip-device=gpu", "--clip-device=gpu: is not a device"),
        ("--clip-device=cuda:x", "is not a device"),
        ("--clip-require=natrual", "unknown model kind 'natrual' (did you mean 'natural'?)"),
        ("--clip-require=,", "names no model kind"),
        ("--clip-waivers=", "--clip-waivers=: is empty"),
        ("--clip-model=", "--clip-model=: is empty"),
        ("--clip-model=  ", "is empty"),
        ("--clip-pretrained=", "--clip-pretrained=: is empty"),
    ],
)
def test_bad_values_are_refused_naming_option_value_and_fix(flag, expect):
    message = cli_error(flag)
    assert expect in message
    assert "fix:" in message


def test_seed_limit_message_says_how_to_raise_it(monkeypatch):
    assert "CLIPSAFETY_MAX_SEEDS=N" in cli_error("--clip-seeds=5000")
    monkeypatch.setattr(limits, "MAX_SEEDS", 10_000)
    assert cli("--clip-seeds=5000").get("clip_seeds") == 5000


def test_every_bad_option_is_named_at_once():
    message = cli_error("--clip-seeds=0", "--clip-steps=0")
    assert "--clip-seeds=0" in message and "--clip-steps=0" in message


def test_describe_sources_names_model_and_every_option_given():
    lines = describe_sources(cli("--clip-seeds=3"))
    assert lines == ["--clip-model=toyclip-fair (from default)", "--clip-seeds=3 (from command line)"]


# -- pytest: ini options, command line over ini over default -------------------------------


def test_ini_values_in_pyproject_are_read_converted_and_attributed(pytester):
    pytester.makepyprojecttoml(
        '[tool.pytest.ini_options]\nclip_model = "ViT-B-32"\nclip_seeds = 4\nclip_no_cache = true\n'
        'clip_blur_above = "0.25"\nclip_require = "natural"\n'
    )
    resolved = resolve_pytest(pytester.parseconfig(pytester.path))
    assert resolved.get("clip_model") == "ViT-B-32"
    assert resolved.get("clip_seeds") == 4 and resolved.get("clip_no_cache") is True
    assert resolved.get("clip_blur_above") == 0.25 and resolved.get("clip_require") == ("natural",)
    assert resolved.source("clip_model") == "ini file (pyproject.toml)"
    assert resolved.source("clip_seed") == "default"
    assert "--clip-model=ViT-B-32 (from ini file (pyproject.toml))" in describe_sources(resolved)


def test_command_line_wins_over_pytest_ini(pytester):
    pytester.makefile(".ini", pytest="[pytest]\nclip_model = ViT-B-32\nclip_seed = 5\nclip_device = cpu\n")
    resolved = resolve_pytest(pytester.parseconfig(pytester.path, "--clip-model=toyclip-biased", "--clip-seed=0"))
    assert resolved.get("clip_model") == "toyclip-biased" and resolved.source("clip_model") == "command line"
    # equal to the default, but given: the command line still wins over the ini file's 5
    assert resolved.get("clip_seed") == 0 and resolved.source("clip_seed") == "command line"
    assert resolved.get("clip_device") == "cpu" and resolved.source("clip_device") == "ini file (pytest.ini)"


def test_defaults_under_pytest_without_ini(pytester):
    resolved = resolve_pytest(pytester.parseconfig(pytester.path))
    assert resolved.get("clip_report") == "reports/clipsafety.html"
    assert {resolved.source(opt.dest) for opt in OPTIONS} == {"default"}


@pytest.mark.parametrize(
    "line, expect",
    [
        ("clip_seeds = 0", "clip_seeds = '0' in the ini file (tox.ini): must be at least 1"),
        ("clip_seeds = many", "clip_seeds = 'many' in the ini file (tox.ini): expected a whole number"),
        ("clip_no_cache = perhaps", "expected true or false"),
        ("clip_precision = fp16", "clip_precision = 'fp16' in the ini file (tox.ini): is not one of auto, fp32, bf16"),
        ("clip_profile = fats", "(did you mean 'fast'?)"),
        ("clip_blur_above = 2", "must be a number from 0 to 1"),
    ],
)
def test_bad_ini_values_are_refused_naming_the_file(pytester, line, expect):
    pytester.makeini(f"[pytest]\n{line}\n")  # tox.ini
    with pytest.raises(ClipSafetyError) as info:
        resolve_pytest(pytester.parseconfig(pytester.path))
    assert expect in str(info.value)


def test_toml_lists_in_the_ini_table(pytester):
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\nclip_require = ["natural", "toy"]\n')
    assert resolve_pytest(pytester.parseconfig(pytester.path)).get("clip_require") == ("natural", "toy")


@pytest.mark.parametrize("text", ["natural,toy", "natural toy", "natural, toy"])
def test_required_kinds_in_an_ini_file(pytester, text):
    pytester.makeini(f"[pytest]\nclip_require = {text}\n")
    assert resolve_pytest(pytester.parseconfig(pytester.path)).get("clip_require") == ("natural", "toy")


def test_a_bad_ini_value_is_overridden_by_a_good_command_line_one(pytester):
    pytester.makeini("[pytest]\nclip_seeds = 0\n")
    resolved = resolve_pytest(pytester.parseconfig(pytester.path, "--clip-seeds=2"))
    assert resolved.get("clip_seeds") == 2


def test_legacy_readers_of_getoption_still_see_the_defaults(pytester):
    config = pytester.parseconfig(pytester.path)
    assert config.getoption("clip_report") == "reports/clipsafety.html"
    assert config.getoption("clip_blur_above") == 0.5 and config.getoption("clip_seed") == 0


def test_an_unknown_clip_ini_key_is_a_usage_error_with_did_you_mean(pytester):
    pytester.makeini("[pytest]\nclip_requre = natural\n")
    with pytest.raises(ClipSafetyError) as info:
        resolve_pytest(pytester.parseconfig(pytester.path))
    message = str(info.value)
    assert "clip_requre" in message and "tox.ini" in message and "(did you mean 'clip_require'?)" in message
    assert "fix:" in message


def test_an_unknown_clip_ini_key_fails_the_pytest_run(pytester):
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\nclip_requre = "natural"\n')
    pytester.makepyfile(test_unit="def test_ok():\n    pass\n")
    out = pytester.runpytest("-p", "no:cacheprovider")
    assert out.ret == pytest.ExitCode.USAGE_ERROR
    out.stderr.fnmatch_lines(["*clip_requre*pyproject.toml*did you mean 'clip_require'*"])


def test_an_empty_model_fails_the_pytest_run_before_any_work(pytester):
    pytester.makepyfile(test_unit="def test_ok():\n    pass\n")
    out = pytester.runpytest("-p", "no:cacheprovider", "--clip-model=")
    assert out.ret == pytest.ExitCode.USAGE_ERROR
    out.stderr.fnmatch_lines(["*--clip-model=: is empty*", "*fix:*CLIP_MODEL*"])


def test_the_ray_executor_without_ray_installed_is_a_usage_error_before_any_work(pytester, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "ray", None)  # as if Ray were not installed
    message = cli_error("--clip-executor=ray")
    assert "--clip-executor=ray: needs Ray, which is not installed" in message and "clipsafety[ray]" in message
    pytester.makefile(".yaml", smoke="clipsafety: 1\nname: s\nprobes:\n  sim: {type: similarity}\n"
                      "prompts: [a doctor]\nchecks:\n  - {id: sim, metric: sim.mean, op: '>', threshold: -1}\n")
    out = pytester.runpytest("-p", "no:cacheprovider", "--clip-executor=ray")
    assert out.ret == pytest.ExitCode.USAGE_ERROR and "Traceback" not in out.stdout.str() + out.stderr.str()
    assert not (pytester.path / ".clipsafety-cache").exists()
