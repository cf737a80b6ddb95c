"""The pytest plugin: hooks (`hooks`, registered through the pytest11 entry point), the per-process
session they call, and xdist worker set-up."""
