"""The report: thumbnails, the self-contained HTML report, pytest-html extras.

Rendering only; the results (clipsafety.results.record.Results) are produced by the
run pipeline (clipsafety.run.pipeline). Importing this package pulls in numpy and Pillow only;
Jinja2 and pytest-html are imported by the modules that need them.
"""

from .thumbnails import image_sha256, thumbnail_data_uri

__all__ = ["image_sha256", "thumbnail_data_uri", "render_report", "write_report"]


def __getattr__(name: str):
    # Lazy: the HTML renderer needs Jinja2, which the thumbnail helpers do not.
    if name in ("render_report", "write_report"):
        from . import html

        return getattr(html, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
