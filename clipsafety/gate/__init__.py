"""Deciding: a case's outcome from its measurement, its baseline comparison and its waiver, and the
run-level gate (kinds required, waivers stale or expired)."""
