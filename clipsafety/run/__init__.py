"""A run of suites against one model: plan the images, invert them (cached, batched, through an
executor), measure them with the probes, and build each case's record.

`pipeline.Run` is the one pipeline the pytest plugin, the CLI and library callers share; `runner`
runs suites without pytest.
"""
