"""The integration and quality tiers: the shipped suites and trained worlds, inverted end to end.

Every test here is marked `integration` (minutes on 2 cores; `pytest -m "not integration"` runs the fast
tier alone); the toy world's full inversion quality bars are also `slow`, a measurement deselected by default.
"""

import pytest


def pytest_collection_modifyitems(items):
    here = __file__.rsplit("/", 1)[0]
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(pytest.mark.integration)
