"""`text_association`: how far a prompt's text leans between two anchors, read on the anchors' own images.

An anchored image probe inverts the prompt and reads its images; that inversion
drifts with the prompt's content, and a neutral control cancels only part of the
drift (docs/methodology.md, "Text association"). This probe never
inverts the prompt. The two anchors ("a blue cross", "a red cross"; on a natural
model "a photo of a man", "a photo of a woman") are inverted with their seeds, and
for each seed index s the model under test scores a text t against both images:

    d_s(t) = cos(t, high anchor's image s) - cos(t, low anchor's image s)

Every text is read on the same images, so whatever drift the images carry is
common to every text, and what differs is the text alone. A prompt's value is its
difference from a neutral reference (`reference`: a text such as the bare shape "a cross" or
"a photo of a person"; `midpoint`: the mean of the two anchors' normalised text embeddings;
`anchors`: the mean of the two anchors' own differences d_s, with no text of its own), counted in
the anchors' own separation,

    value_s = 2 (d_s(prompt) - d_s(reference)) / (mean d(high anchor) - mean d(low anchor)),

signed toward the high anchor: 0 reads like the reference, +-1 differs from it by
half the anchors' separation (as far as an anchor lies from their middle). The
separation is itself a mean over seeds, so each seed's value also carries its
own separation's deviation from that mean, scaled by the ratio (the delta method's
terms): the values' mean is the ratio, and an interval over them includes the
anchors' spread as well as the prompt's. It is not clipped: a prompt the model ties to an anchor's colour more strongly than the
anchor's own text reads past 1.

A written reference can itself lean toward one anchor and take part of a
prompt's lean with it; the anchors' midpoint and their mean reading sit between them by
construction, so they cannot. The midpoint's embedding is renormalised, so it reads the anchors'
common part (d(low) + d(high), not 0 on photos) scaled up and can sit off their mean reading
(docs/methodology.md, "Text association"; the measurements are in
docs/studies/).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from ..util.errors import ClipSafetyError, ProbeError
from ..models.photos import valid_label
from ..models.targets import looks_like_target, midpoint_text
from .base import AnchorError, Probe, SettingError, to_images
from .zero_shot import encode_images


MIN_PAIRS, MAX_PAIRS = 2, 10_000

# The `reference` value that reads each prompt against the anchors' own midpoint instead of a written text.
MIDPOINT_REFERENCE = "midpoint"
# The `reference` value that reads each prompt against the mean of the two anchors' own readings on the same
# image (or photo pair): 0 lies halfway between where the anchors' texts read, with no text of its own.
ANCHORS_REFERENCE = "anchors"


def reference_text(reference: str, anchors: tuple[str, str] | list[str]) -> str | None:
    """The text a prompt is read against: `reference` as written, the anchors' midpoint target, or None for
    the anchors' own mean reading (no text)."""
    if reference.strip() == ANCHORS_REFERENCE:
        return None
    return midpoint_text(*anchors) if reference.strip() == MIDPOINT_REFERENCE else reference


def association_values(prompt: np.ndarray, reference: np.ndarray, low: np.ndarray, high: np.ndarray,
                       images: str = "their own images") -> np.ndarray:
    """Per-seed values from per-seed differences d_s of the prompt, the reference and both anchors.

    The one formula of this readout (bench/anchor_association.py reads recorded rows through it too).
    Raises ProbeError when the anchors do not read apart on the images read (`images`, in words).
    """
    prompt, reference, low, high = (np.asarray(x, dtype=np.float64).reshape(-1) for x in (prompt, reference, low, high))
    separation = float(high.mean() - low.mean())
    problem = _not_apart(low, high, separation)
    if problem:
        raise ProbeError(
            f"the anchors do not read apart on {images} ({problem}): the model does not tie each "
            "anchor's text to its images, so no text can be placed between them",
            fix="choose anchor prompts this model tells apart, or use more seeds",
        )
    values = 2.0 * (prompt - reference) / separation
    # The ratio's own per-seed terms (delta method): each seed also carries its anchors' deviation from
    # their mean separation, so the interval over seeds includes the anchors' spread; the mean is unchanged.
    return values - values.mean() * ((high - low) - separation) / separation


def text_differences(handle: Any, texts: list[str], low: Any, high: Any) -> np.ndarray:
    """d_s(t) for every seed index s and text t, [seeds, texts]: the cosine of t's embedding to the high
    anchor's image s less that to the low anchor's image s (`low`, `high`: normalised image embeddings)."""
    import torch

    if low.shape[0] != high.shape[0]:
        raise ValueError(f"the anchors have {low.shape[0]} and {high.shape[0]} images; they pair by seed index")
    with torch.no_grad():
        emb = handle.encode_text(list(texts)).float().to(low.device)
        return (high.float() @ emb.T - low.float() @ emb.T).cpu().double().numpy()


def _not_apart(low: np.ndarray, high: np.ndarray, separation: float) -> str | None:
    """Why the anchors' own differences do not separate (high must read above low beyond seed noise)."""
    if not separation > 0:
        return f"the high anchor's text reads {separation:+.3g} toward its images"
    if low.size < 2:
        return None
    # the anchors' per-seed differences: the two means must lie apart by more than their noise
    noise = 2.0 * np.sqrt(low.var(ddof=1) / low.size + high.var(ddof=1) / high.size)
    if separation <= noise:
        return f"separation {separation:.3g}, within twice its standard error {noise:.3g}"
    return None


def shown_anchor(value: float) -> int:
    """Which anchor's image a seed's evidence is (0: the first, 1: the second): the one its text leans to."""
    return 1 if value >= 0 else 0


class TextAssociationProbe(Probe):
    """Reads a prompt's text against the anchors' inverted images (see the module docstring)."""

    name: ClassVar[str] = "text_association"
    value_range: ClassVar[tuple[float, float]] = (-1.0, 1.0)
    inverts: ClassVar[frozenset[str]] = frozenset({"anchors"})  # the prompt is read as text, never inverted
    images_read: ClassVar[str] = "their own images"  # what the anchors' images are, in words (errors say it)
    settings_schema: ClassVar[dict[str, Any]] = {"reference": str}
    required_settings: ClassVar[frozenset[str]] = frozenset({"reference"})
    description: ClassVar[str] = ("how far the prompt's text leans between the anchors, read on the anchors' "
                                  "own images against a neutral reference text")

    @classmethod
    def check_settings(cls, settings: dict[str, Any]) -> None:
        fix = (f"e.g. reference: a cross (toy), reference: a photo of a person (natural), reference: "
               f"{MIDPOINT_REFERENCE} (the anchors' midpoint) or reference: {ANCHORS_REFERENCE} (the mean of the "
               "anchors' own readings)")
        reference = settings.get("reference", "x")
        if not reference.strip():
            raise SettingError("reference", "reference must be a neutral prompt, not an empty string", fix=fix)
        if looks_like_target(reference):  # the encoder would read it as a computed target, not as text
            raise SettingError("reference", f"reference {reference!r} is written as an inversion target", fix=fix)

    @classmethod
    def check_spec(cls, anchors: tuple[str, str] | None, paired: bool) -> None:
        if anchors is None:
            raise SettingError("anchors", "reads the prompt's text on the anchors' images, so it needs anchors",
                               fix="add anchors: [<low prompt>, <high prompt>], e.g. [a blue cross, a red cross]")
        if paired:
            raise SettingError("paired", "already reads every prompt against its neutral `reference` on the same "
                                         "images, so it takes no control",
                               fix="remove `paired: true` (the probe's `reference` setting is its control)")

    @classmethod
    def range_for(cls, anchors: tuple[str, str] | None) -> tuple[float, float]:
        return tuple(cls.value_range)  # a lean of its own, not a position between the anchors

    def read(self, reader: Any, text: str, anchors: tuple[str, str] | None,
             seeds: list[int] | None = None) -> tuple[np.ndarray, list[Any]]:
        """Per-seed values of `text` read on the anchors' images, with each seed's image of the anchor the
        text leans to (what the report shows)."""
        low, high = self.anchor_images(reader, anchors)
        try:
            values = self.associate(text, anchors, np.stack([r.image for r in low]), np.stack([r.image for r in high]))
        except ClipSafetyError as err:
            raise AnchorError(err.message, fix=err.fix) from None
        values = np.asarray(values, dtype=np.float64)
        return values, [(lo, h)[shown_anchor(v)] for v, lo, h in zip(values, low, high)]

    def anchor_images(self, reader: Any, anchors: tuple[str, str]) -> tuple[list[Any], list[Any]]:
        """The low and the high anchor's images, paired by index: their inversions, one per seed."""
        return reader.images(anchors[0]), reader.images(anchors[1])

    def __init__(self, settings: dict[str, Any], context: Any):
        super().__init__(settings, context)
        self._embedded: dict[bytes, Any] = {}  # anchor images' embeddings, by their bytes' digest

    def measure(self, images: np.ndarray, prompts: list[str]) -> np.ndarray:
        raise ProbeError("text_association reads the anchors' images, not a prompt's: "
                         "the session calls associate(), not measure()")

    def associate(self, text: str, anchors: tuple[str, str], low_images: np.ndarray,
                  high_images: np.ndarray) -> np.ndarray:
        """Per-seed values of `text`; image s of each anchor is that anchor's seed index s."""
        low, high = self._embeddings(low_images), self._embeddings(high_images)
        reference = reference_text(self.settings["reference"], anchors)
        if reference is None:  # the anchors' own mean reading on each image pair
            d = text_differences(self.context.handle, [text, *anchors], low, high)
            return association_values(d[:, 0], (d[:, 1] + d[:, 2]) / 2, d[:, 1], d[:, 2], images=self.images_read)
        d = text_differences(self.context.handle, [text, reference, *anchors], low, high)
        return association_values(d[:, 0], d[:, 1], d[:, 2], d[:, 3], images=self.images_read)

    def _embeddings(self, images: np.ndarray) -> Any:
        images = to_images(images)
        digest = hashlib.sha256(np.ascontiguousarray(images).tobytes()).digest()
        if digest not in self._embedded:
            self._embedded[digest] = encode_images(self.context.handle, images)
        return self._embedded[digest]


DEFAULT_PAIRS = 64  # photo pairs a photo_association case reads when the suite does not say


class PhotoAssociationProbe(TextAssociationProbe):
    """Reads a prompt's text against labelled photos, one folder per anchor, instead of the anchors' inversions.

    Pair i is photo i of the first label and photo i of the second (in name order); the readout is
    text_association's, with pair i in place of seed i: each text's difference between the two photos,
    against the reference's, in the anchors' own separation. Nothing is inverted for the check; the
    prompt's own inversions are still made and shown as evidence (--clip-evidence-seeds).
    """

    name: ClassVar[str] = "photo_association"
    inverts: ClassVar[frozenset[str]] = frozenset()  # the anchors' images are photos, the prompt is read as text
    reads_photos: ClassVar[bool] = True
    images_read: ClassVar[str] = "their photos"
    settings_schema: ClassVar[dict[str, Any]] = {"reference": str, "photos": list[str], "pairs": int}
    required_settings: ClassVar[frozenset[str]] = frozenset({"reference", "photos"})
    description: ClassVar[str] = ("how far the prompt's text leans between two sets of labelled photos (one per "
                                  "anchor), against a neutral reference text, in the anchors' own separation")

    @classmethod
    def check_settings(cls, settings: dict[str, Any]) -> None:
        super().check_settings(settings)
        fix = "e.g. photos: [man, woman]: the folders under --clip-photos holding each anchor's photos, in order"
        labels = settings.get("photos", ["a", "b"])
        if len(labels) != 2 or labels[0] == labels[1]:
            raise SettingError("photos", f"names {len(labels)} label(s) {labels!r}; it needs two different labels, "
                                         "one per anchor", fix=fix)
        for label in labels:
            problem = valid_label(label)
            if problem:
                raise SettingError("photos", f"label {label!r} {problem}", fix=fix)
        pairs = settings.get("pairs", DEFAULT_PAIRS)
        if not MIN_PAIRS <= pairs <= MAX_PAIRS:
            raise SettingError("pairs", f"pairs is {pairs}; it must be from {MIN_PAIRS} to {MAX_PAIRS}",
                               fix=f"e.g. pairs: {DEFAULT_PAIRS}")

    @classmethod
    def values_per_case(cls, settings: Mapping[str, Any]) -> int | None:
        return int(settings.get("pairs", DEFAULT_PAIRS))

    def photo_sets(self) -> tuple[tuple[str, int], ...]:
        count = self.values_per_case(self.settings)
        return tuple((label, count) for label in self.settings["photos"])

    def anchor_images(self, reader: Any, anchors: tuple[str, str]) -> tuple[list[Any], list[Any]]:
        """Each anchor's photos, pair i being photo i of each label (`read` shows the side the text leans to)."""
        low, high = (reader.photos(label, count) for label, count in self.photo_sets())
        return low, high


__all__ = ["ANCHORS_REFERENCE", "DEFAULT_PAIRS", "MIDPOINT_REFERENCE", "PhotoAssociationProbe", "TextAssociationProbe", "association_values", "reference_text", "shown_anchor",
           "text_differences"]
