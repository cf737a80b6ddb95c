"""Word-level tokenizer of the toy world.

Ids: 0 = <pad>, 1 = <sot>, 2 = <unk>, then the world's words, and <eot> last.
<eot> must be the highest id because open_clip's text tower pools the token at
``argmax(token id)`` of each sequence. A sequence is <sot>, words..., <eot>,
then padding; longer texts are truncated and still end with <eot>.
"""

from __future__ import annotations

import json
import re
import string
from pathlib import Path
from typing import Iterable

import torch

PAD, SOT, UNK, EOT = "<pad>", "<sot>", "<unk>", "<eot>"
_SPLIT = re.compile(r"[^a-z]+")
# Between words the tokenizer reads these as nothing, as a reader would: case, spaces, punctuation.
_SEPARATORS = frozenset(string.whitespace + string.punctuation)


class ToyTokenizer:
    def __init__(self, words: Iterable[str], context_length: int = 12):
        words = list(dict.fromkeys(words))  # drop duplicates, keep order
        special = {PAD, SOT, UNK, EOT}
        if special & set(words):
            raise ValueError(f"words must not contain the special tokens {sorted(special)}")
        if context_length < 3:
            raise ValueError("context_length must leave room for <sot>, a word and <eot>")
        self.tokens: list[str] = [PAD, SOT, UNK, *words, EOT]
        self.ids: dict[str, int] = {t: i for i, t in enumerate(self.tokens)}
        self.context_length = context_length

    @property
    def vocab_size(self) -> int:
        return len(self.tokens)

    @property
    def eot_id(self) -> int:
        return len(self.tokens) - 1

    @classmethod
    def from_file(cls, path: str | Path) -> "ToyTokenizer":
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        tokens = data["tokens"]
        if tokens[:3] != [PAD, SOT, UNK] or tokens[-1] != EOT:
            raise ValueError(f"{path}: not a toy vocabulary (expected {PAD}, {SOT}, {UNK}, ..., {EOT})")
        return cls(tokens[3:-1], context_length=int(data["context_length"]))

    def save(self, path: str | Path) -> None:
        data = {"context_length": self.context_length, "tokens": self.tokens}
        Path(path).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")

    def words(self, text: str) -> list[str]:
        return [w for w in _SPLIT.split(text.lower()) if w]

    def unreadable(self, text: str) -> str | None:
        """Why the model would not read `text` as written (characters it drops, words it reads as <unk>,
        words cut off), or None.

        A prompt of unknown words inverts to whatever the model makes of <unk>, and one whose
        characters are dropped reads as another text: images and a verdict about nothing the suite
        meant (clipsafety.models.load.ModelHandle.unreadable).
        """
        words = self.words(text)
        if not words:
            return "it has no word the model reads (only letters a-z make words)"
        dropped = [c for c in dict.fromkeys(text) if not (c.isascii() and c.isalpha()) and c not in _SEPARATORS]
        if dropped:
            return (f"the model reads only the letters a-z and would drop {', '.join(repr(c) for c in dropped)}, "
                    f"reading it as {' '.join(words)!r}")
        unknown = [w for w in dict.fromkeys(words) if w not in self.ids]  # words are a-z: never a special token
        if unknown:
            return (f"the model's vocabulary has no {', '.join(repr(w) for w in unknown)} "
                    f"(it would read {'it' if len(unknown) == 1 else 'them'} as {UNK})")
        room = self.context_length - 2
        if len(words) > room:
            return f"it has {len(words)} words and the model reads the first {room} only"
        return None

    def encode(self, text: str, context_length: int | None = None) -> list[int]:
        n = context_length or self.context_length
        unk = self.ids[UNK]
        body = [self.ids.get(w, unk) for w in self.words(text)][: n - 2]
        ids = [self.ids[SOT], *body, self.eot_id]
        return ids + [0] * (n - len(ids))

    def decode(self, ids: Iterable[int]) -> str:
        out = []
        for i in ids:
            i = int(i)
            if i == self.eot_id:
                break
            if i not in (0, self.ids[SOT]):
                out.append(self.tokens[i])
        return " ".join(out)

    def __call__(self, texts: str | list[str], context_length: int | None = None) -> torch.LongTensor:
        if isinstance(texts, str):
            texts = [texts]
        return torch.tensor([self.encode(t, context_length) for t in texts], dtype=torch.long)

    def __repr__(self) -> str:
        return f"ToyTokenizer(vocab_size={self.vocab_size}, context_length={self.context_length})"
