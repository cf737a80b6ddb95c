"""Repository-level pytest configuration.

The clipsafety plugin itself is registered through the `pytest11` entry point
(installed with the package); nothing here is needed to run suites. The
pytester fixture is enabled for clipsafety's own plugin tests (it must be
declared in the root conftest).
"""

pytest_plugins = ["pytester"]
