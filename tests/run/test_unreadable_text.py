"""A prompt, anchor or control the model cannot read is an error, never a verdict.

A toy model reads a word outside its vocabulary as <unk>: the toy bias suite,
run unchecked on a world that has no "doctor", would fail "a doctor" with a skew
near 1, a verdict on the images of <unk>.
"""

from __future__ import annotations

import pytest

from clipsafety.util.errors import ClipSafetyError
from clipsafety.models.load import load_model
from clipsafety.run.pipeline import Run
from clipsafety.run.case import RunConfig
from clipsafety.suite import parse_suite
from clipsafety.toyworld.tokenizer import ToyTokenizer

SUITE = """\
clipsafety: 1
name: words
applies_to: [toy]
inversion:
  profile: toy
  seeds: 2
  overrides: {steps: 2, copies: 1}
probes:
  sim: {type: similarity}
  lean: {type: toy_colour_bias, anchors: [a blue cross, ANCHOR]}
prompts:
  - {id: known, text: a doctor}
  - {id: unknown, text: a surgeon}
checks:
  - {id: sim, metric: sim.mean, op: ">=", threshold: 0}
  - {id: lean, metric: lean.skew, op: "<=", threshold: 1, prompts: [known]}
"""


def test_the_toy_tokenizer_names_the_words_it_cannot_read():
    tok = ToyTokenizer(["a", "cross", "blue"], context_length=5)
    assert tok.unreadable("A Cross!") is None
    assert "'doctor'" in tok.unreadable("a doctor") and "<unk>" in tok.unreadable("a doctor")
    assert "'nurse', 'doctor'" in tok.unreadable("a nurse doctor nurse")  # each once, in order
    assert "reads the first 3 only" in tok.unreadable("a blue blue cross")
    assert "no word" in tok.unreadable("42 !")


def test_a_toy_handle_refuses_to_embed_unknown_words_and_a_natural_one_reads_anything(tiny_handle):
    toy = load_model("toyclip-fair", device="cpu")
    assert toy.unreadable("a doctor") is None
    assert "'surgeon'" in toy.unreadable("a surgeon")
    assert toy.encode_text(["a doctor"]).shape[0] == 1
    with pytest.raises(ClipSafetyError, match="cannot read the text 'a surgeon'"):
        toy.encode_text(["a doctor", "a surgeon"])
    assert tiny_handle.unreadable("a surgeon") is None  # open_clip's BPE has no unknown words


def _run(tmp_path, anchor: str):
    path = tmp_path / "words.clipsafety.yaml"
    path.write_text(SUITE.replace("ANCHOR", anchor))
    run = Run(RunConfig(model="toyclip-fair", device="cpu", cache_dir=None))
    results = run.run_all([parse_suite(path.read_text(), str(path))])
    return run, {c.nodeid.split("::")[1]: c for c in results.cases}


def test_a_prompt_of_unknown_words_is_an_error_naming_the_word_and_the_line(tmp_path):
    run, cases = _run(tmp_path, "a red cross")
    unknown = cases["sim[unknown]"]
    assert unknown.outcome == "error" and not unknown.seeds
    assert "words.clipsafety.yaml:13" in unknown.reason and "'surgeon'" in unknown.reason
    assert "neither passed nor failed" in unknown.reason and "fix:" in unknown.reason
    assert cases["sim[known]"].outcome in ("passed", "failed")  # the same check on words the model knows
    assert "vocabulary" not in (cases["lean[known]"].reason or "")  # (2 steps: its anchors may not separate yet)
    assert run.session.images.inverted == 2 + 2 * 2  # "a doctor" and the two anchors; nothing for "a surgeon"


def test_an_anchor_of_unknown_words_is_an_error_of_the_checks_that_use_it(tmp_path):
    _, cases = _run(tmp_path, "a crimson cross")
    lean = cases["lean[known]"]
    assert lean.outcome == "error" and "anchor of probe 'lean'" in lean.reason and "'crimson'" in lean.reason
    assert cases["sim[known]"].outcome in ("passed", "failed")
