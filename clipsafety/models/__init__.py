"""Loading a CLIP by the names people use, into one handle.

    from clipsafety.models import load_model
    handle = load_model("toyclip-fair")       # or "ViT-B-32", "local-dir:PATH", "hf-hub:ORG/REPO"

`load` resolves a name to weights and returns a `ModelHandle` (model, tokenizer,
input size, fingerprint, kind); `folders` reads model folders, `config` validates
their configs, `weights` finds local checkpoints, `providers` are the packages that
add named models and kinds through entry points, `kinds` is the closed set of kinds
a suite may apply to, `targets` encodes what an inversion aims at.

Importing this package is cheap: torch loads with `load`, on first use of what it exports.
"""

_LAZY = ("ModelHandle", "UNREADABLE_FIX", "handle_from_model", "load_model")


def __getattr__(name: str):
    if name in _LAZY:
        from . import load

        return getattr(load, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = list(_LAZY)
