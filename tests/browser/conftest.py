"""Fixtures of the browser tests: one headless Chromium per module (tests/browser/chromium.py drives it)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from chromium import Chromium, find_chromium


@pytest.fixture(scope="module")
def chromium():
    executable = find_chromium()
    if executable is None:
        pytest.skip("no Chromium found (CLIPSAFETY_CHROMIUM, /usr/bin/chromium or chromium on PATH); "
                    "install it with `apt-get install -y chromium` to run the browser tests")
    with tempfile.TemporaryDirectory(prefix="clipsafety-chromium-") as profile:
        browser = Chromium(executable, Path(profile))
        try:
            yield browser
        finally:
            browser.close()
