"""Small shared utilities with no clipsafety dependencies: the error family, limits, atomic files,
"did you mean" suggestions, showing untrusted text, and the strict JSON reader."""
