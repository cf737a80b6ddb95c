# These suites are broken on purpose; tests/suite/test_suite_errors.py loads them one by one.
# Keep the clipsafety plugin from collecting them as suites to run.
collect_ignore_glob = ["*.yaml", "*.yml"]
