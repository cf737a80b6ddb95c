"""Durations, moments and paths as the report shows them."""

from __future__ import annotations

import pytest

from clipsafety.report.humanize import duration, moment, short_path, without_machine_paths


@pytest.mark.parametrize("seconds, text", [
    (0.4, "0.4 s"), (59.94, "59.9 s"), (59.96, "1 min 0 s"), (252.3, "4 min 12 s"), (3900, "1 h 5 min"),
    (None, "—"), (float("nan"), "—"), (True, "—"), (-1, "—"), ("12", "—"),
])
def test_duration_reads_in_minutes_and_seconds(seconds, text):
    assert duration(seconds) == text


def test_a_moment_is_shown_in_utc_with_the_zone_named():
    shown = moment("2026-11-29T16:30:00+01:00")
    assert shown.text == "29 Nov 2026, 15:30 UTC"
    assert shown.iso == "2026-11-29T15:30:00+00:00"  # what the report's script turns into local time


@pytest.mark.parametrize("value", [None, "", "yesterday", "2026-11-29T15:00:00", 1700000000])
def test_what_is_not_a_moment_with_a_zone_is_none(value):
    assert moment(value) is None  # a naive time's zone is unknown: the report says "—" rather than guess


@pytest.mark.parametrize("text, shown", [
    ("/home/ana/models/a.safetensors", "…/models/a.safetensors"),
    ("tag openai (/root/.cache/hf/hub/x/open_clip_model.bin)", "tag openai (…/x/open_clip_model.bin)"),
    ("local-dir:/home/ana/models/my-clip", "local-dir:…/models/my-clip"),
    ("pytest suites/ --clip-pretrained=/home/ana/m/vitb32.pt -q", "pytest suites/ --clip-pretrained=…/m/vitb32.pt -q"),
    ("C:\\Users\\ana\\m\\a.pt", "…\\m\\a.pt"),
])
def test_absolute_paths_lose_the_machine_specific_part(text, shown):
    assert without_machine_paths(text) == shown
    assert "ana" not in shown and "root" not in shown


@pytest.mark.parametrize("text", [
    "/models/a.pt", "suites/a/b/c.yaml", "https://example.com/a/b/c", "~/models/a/b.pt", "bundled toy model",
    "random init",
])
def test_short_relative_home_and_url_paths_stay_whole(text):
    assert without_machine_paths(text) == text


def test_short_path_keeps_the_last_two_parts():
    assert short_path("/a/b/c/d") == "…/c/d"
    assert short_path("/c/d") == "/c/d"
    assert without_machine_paths(None) == ""
