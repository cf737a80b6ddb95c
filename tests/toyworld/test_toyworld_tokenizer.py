"""The toy tokenizer: ids, padding, truncation, <eot> highest, save/load."""

import torch

from clipsafety.toyworld import SPEC_DIR, WorldSpec
from clipsafety.toyworld.render import vocabulary_words
from clipsafety.toyworld.tokenizer import ToyTokenizer


def _tok():
    return ToyTokenizer(vocabulary_words(WorldSpec.from_yaml(SPEC_DIR / "biased.yaml")), context_length=12)


def test_layout_and_eot_is_highest():
    tok = _tok()
    assert tok.tokens[:3] == ["<pad>", "<sot>", "<unk>"] and tok.tokens[-1] == "<eot>"
    assert tok.eot_id == tok.vocab_size - 1 == max(tok.ids.values())
    for word in ("a", "an", "of", "photo", "the", "object", "shape", "red", "cross", "doctor", "balloon", "hazard"):
        assert word in tok.ids


def test_encoding_pads_and_pools_at_eot():
    tok = _tok()
    ids = tok(["A Red, circle!", "a doctor"])
    assert ids.dtype == torch.long and ids.shape == (2, 12)
    row = ids[0].tolist()
    assert row[:5] == [1, tok.ids["a"], tok.ids["red"], tok.ids["circle"], tok.eot_id]
    assert row[5:] == [0] * 7
    assert ids.argmax(dim=1).tolist() == [4, 3]  # what open_clip pools
    assert tok("a red circle").shape == (1, 12)


def test_unknown_words_map_to_unk():
    tok = _tok()
    row = tok("a man on the moon")[0].tolist()
    assert row[2] == 2 and row[5] == 2 and row[4] == tok.ids["the"]


def test_truncation_keeps_eot():
    tok = _tok()
    row = tok(" ".join(["red"] * 30))[0].tolist()
    assert len(row) == 12 and row[-1] == tok.eot_id and row.count(tok.ids["red"]) == 10
    assert tok("a red circle", context_length=4)[0].tolist() == [1, tok.ids["a"], tok.ids["red"], tok.eot_id]


def test_round_trip(tmp_path):
    tok = _tok()
    tok.save(tmp_path / "vocab.json")
    again = ToyTokenizer.from_file(tmp_path / "vocab.json")
    assert again.tokens == tok.tokens and again.context_length == 12
    assert torch.equal(again(["a photo of a nurse"]), tok(["a photo of a nurse"]))
    assert again.decode(again("a photo of a nurse")[0]) == "a photo of a nurse"
