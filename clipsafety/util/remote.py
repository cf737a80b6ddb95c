"""Folders that may be fsspec URLs (s3://, gs://, memory://): the one place a URL is told apart from a local
path and its filesystem opened."""

from __future__ import annotations

from typing import Any

from .errors import ClipSafetyError


def is_url(text: str) -> bool:
    """Whether `text` names a place through fsspec (a protocol or a chained URL), not a local path."""
    return "://" in text or "::" in text


def url_filesystem(text: str, *, what: str, fix: str) -> tuple[Any, str]:
    """fsspec's (filesystem, path) for `text`; ClipSafetyError naming `what` and the fix when no installed
    filesystem opens it."""
    import fsspec

    try:
        return fsspec.core.url_to_fs(text)
    except (ImportError, ValueError) as err:
        raise ClipSafetyError(f"{what} cannot be opened: {err}", where=text, fix=fix) from None


__all__ = ["is_url", "url_filesystem"]
