"""open_clip's BPE tokenizer, with the synthetic world's vocabulary as what the model can read.

Byte-level BPE reads any text, but a synthetic model was trained only on its world's captions: a
word outside them ("a photo of a lawyer") runs on an untrained token, and a verdict on its images
would be about nothing the suite names. `unreadable` says so, naming the word, as the toy world's
tokenizer does.
"""

from __future__ import annotations

import re
from functools import cached_property

from .render import caption_texts

_WORD = re.compile(r"[a-z]+")


def world_words() -> frozenset[str]:
    """Every word of the captions the world's grammar writes, lower-cased."""
    return frozenset(w for text in caption_texts() for w in _WORD.findall(text.lower()))


class WorldTokenizer:
    """Tokenises as open_clip's SimpleTokenizer; refuses (through `unreadable`) words the world never showed."""

    def __init__(self, context_length: int):
        from open_clip.tokenizer import SimpleTokenizer

        self._bpe = SimpleTokenizer(context_length=context_length)
        self.context_length = context_length
        self.vocab_size = len(self._bpe.encoder)

    @cached_property
    def words(self) -> frozenset[str]:
        return world_words()

    def __call__(self, texts, context_length: int | None = None):
        return self._bpe(texts, context_length=context_length or self.context_length)

    def unreadable(self, text: str) -> str | None:
        unknown = sorted({w for w in _WORD.findall(text.lower()) if w not in self.words})
        if unknown:
            return (f"{', '.join(repr(w) for w in unknown)} {'is' if len(unknown) == 1 else 'are'} not among the "
                    "words this synthetic world's captions use")
        tokens = len(self._bpe.encode(text)) + 2  # start and end of text
        if tokens > self.context_length:
            return f"it is {tokens} tokens long, over the model's context of {self.context_length}"
        return None
