"""From NER spans to distinct entities: trim, merge, label, name, weigh, identify.

Merging, in order
    1. Mentions are trimmed: a leading "the" (not in "The Hague"), a trailing possessive,
       anything after a line break. Their key is the casefolded text.
    2. Mentions with the same key are one entity, whatever label each got; the entity takes
       the majority label (ties: the first mention's). So "Maduro" tagged once as ORG joins
       the PERSON "Maduro".
    3. A shorter name joins a longer one when it is unambiguous: for PERSON, the surname
       ("Putin" -> "Vladimir Putin") or first and last name ("Vladimir Putin" ->
       "Vladimir Vladimirovich Putin"); for ORG/PRODUCT, a leading or trailing part
       ("SerpomPo" -> "SerpomPo Telegram Channel"). The longer name may occur anywhere in
       the document; if the short name fits more than one entity it joins none.

Canonical name: the fullest form (most words, then not all capitals, then most frequent,
then first) among the mentions outside the headline when there are any.

Salience: each mention weighs 3 in the headline, 2 in the first paragraph, 0.5 in the
byline, elsewhere 1 falling to 0.5 at the end of the text; an entity's salience is its
share of all the weight, so saliences sum to 1 (as in Google Cloud NL).

Ids: countries (GPE, or LOC that names a country) get {"iso3166": alpha-2} from pycountry's
names plus a short table of usual English names; names that are ambiguous ("Georgia") or
unknown get no id.

Other languages: a ``Naming`` gives each mention its dictionary form (Russian inflects
names: "Путина", "Путиным" -> "Путин"); keys, merging and canonical names use that form,
while mentions keep the text as written.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache

import pycountry

from services.enrich.document import Zone
from shared.models import Entity, Mention

KEPT_LABELS = frozenset(
    {
        "PERSON",
        "NORP",
        "FAC",
        "ORG",
        "GPE",
        "LOC",
        "PRODUCT",
        "EVENT",
        "WORK_OF_ART",
        "LAW",
        "LANGUAGE",
    }
)
_ORG_FAMILY = frozenset({"ORG", "PRODUCT"})

_LEADING_THE = re.compile(r"the\s+", re.IGNORECASE)
_THE_IS_PART_OF_THE_NAME = frozenset({"hague"})
_POSSESSIVE = re.compile(r"['’]s?$")
_STRIP = " \t\xa0\n,;:!?\"“”‘’'()[]«»„"

_COUNTRY_ALIASES = {
    "russia": "RU",
    "america": "US",
    "united states": "US",
    "united states of america": "US",
    "us": "US",
    "u.s.": "US",
    "usa": "US",
    "u.s.a.": "US",
    "britain": "GB",
    "great britain": "GB",
    "uk": "GB",
    "u.k.": "GB",
    "iran": "IR",
    "syria": "SY",
    "south korea": "KR",
    "north korea": "KP",
    "vietnam": "VN",
    "laos": "LA",
    "moldova": "MD",
    "bolivia": "BO",
    "tanzania": "TZ",
    "czech republic": "CZ",
    "czechia": "CZ",
    "turkey": "TR",
    "ivory coast": "CI",
    "taiwan": "TW",
    "palestine": "PS",
    "vatican": "VA",
    "macedonia": "MK",
    "netherlands": "NL",
    "holland": "NL",
}
_AMBIGUOUS_COUNTRY_NAMES = frozenset({"georgia", "jersey", "guinea", "congo", "korea"})


@cache
def _country_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for country in pycountry.countries:
        for attribute in ("name", "common_name", "official_name"):
            value = getattr(country, attribute, None)
            if isinstance(value, str):
                index[value.casefold()] = country.alpha_2
    index.update(_COUNTRY_ALIASES)
    for name in _AMBIGUOUS_COUNTRY_NAMES:
        index.pop(name, None)
    return index


def country_code(name: str) -> str | None:
    """ISO 3166 alpha-2 for an exact country name; None rather than a guess."""
    return _country_index().get(_key(name))


def _key(text: str) -> str:
    return " ".join(text.replace("’", "'").replace("ё", "е").replace("Ё", "Е").casefold().split())


def _same_forms(mentions: Sequence[tuple[str, str]]) -> list[str]:
    return [surface for surface, _ in mentions]


def _english_place(name: str, label: str) -> str:
    return "GPE" if label == "LOC" and country_code(name) else label


@dataclass(frozen=True, slots=True)
class Naming:
    """How one language names things: dictionary forms, place labels and country ids."""

    forms: Callable[[Sequence[tuple[str, str]]], list[str]] = field(default=_same_forms)
    place_label: Callable[[str, str], str] = field(default=_english_place)
    country: Callable[[str], str | None] = field(default=country_code)


ENGLISH = Naming()


@dataclass(slots=True)
class _Mention:
    start: int
    end: int
    text: str
    form: str
    label: str
    weight: float
    in_title: bool


@dataclass(frozen=True, slots=True)
class Zones:
    """Where a mention weighs more or less for salience."""

    length: int
    title: Zone | None = None
    byline: Zone | None = None
    lead: Zone | None = None

    def weight(self, start: int, end: int) -> float:
        if self.title is not None and self.title.contains(start, end):
            return 3.0
        if self.byline is not None and self.byline.contains(start, end):
            return 0.5
        if self.lead is not None and self.lead.contains(start, end):
            return 2.0
        return 1.0 - 0.5 * start / max(1, self.length)


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Span boundaries without "the", possessive, line breaks or stray punctuation."""
    newline = text.find("\n", start, end)
    if newline >= 0:
        end = newline
    while start < end and text[start] in _STRIP:
        start += 1
    if (the := _LEADING_THE.match(text, start, end)) and _key(
        text[the.end() : end]
    ) not in _THE_IS_PART_OF_THE_NAME:
        start = the.end()
    while start < end and text[end - 1] in _STRIP.replace("'", "").replace("’", ""):
        end -= 1
    if possessive := _POSSESSIVE.search(text, start, end):
        end = possessive.start()
    while start < end and text[end - 1] in _STRIP:
        end -= 1
    return (start, end) if start < end else None


class _Clusters:
    """Union-find over entity keys."""

    def __init__(self, keys: Iterable[str]) -> None:
        self.parent = {key: key for key in keys}

    def find(self, key: str) -> str:
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def join(self, child: str, root: str) -> None:
        self.parent[self.find(child)] = self.find(root)


def _majority(mentions: list[_Mention]) -> str:
    votes = Counter(m.label for m in mentions)
    best = max(votes.values())
    return next(m.label for m in mentions if votes[m.label] == best)


def _fits(short: tuple[str, ...], short_label: str, long: tuple[str, ...], long_label: str) -> bool:
    size = len(short)
    if size >= len(long):
        return False
    if short_label == "PERSON" and long_label == "PERSON":
        # the surname, or first and last name without middle names or patronymic
        return long[-size:] == short or (size == 2 and short == (long[0], long[-1]))
    if short_label in _ORG_FAMILY and long_label in _ORG_FAMILY:
        return long[:size] == short or long[-size:] == short
    return False


def _canonical(mentions: list[_Mention]) -> str:
    pool = [m for m in mentions if not m.in_title] or mentions
    forms = Counter(" ".join(m.form.split()) for m in pool)
    first: dict[str, int] = {}
    for m in sorted(pool, key=lambda m: m.start):
        first.setdefault(" ".join(m.form.split()), m.start)
    # Fullest, then not in capitals ("Москва" over the dateline's "МОСКВА"), most used, first.
    return max(forms, key=lambda f: (len(f.split()), not f.isupper(), forms[f], -first[f]))


def build_entities(
    text: str,
    spans: Iterable[tuple[int, int, str]],
    zones: Zones,
    sentence_of: Callable[[int], int | None],
    naming: Naming = ENGLISH,
) -> list[Entity]:
    """One Entity per distinct thing named in the text, most salient first."""
    kept: list[tuple[int, int, str]] = []
    for start, end, label in spans:
        if label not in KEPT_LABELS:
            continue
        trimmed = _trim(text, start, end)
        if trimmed is not None:
            kept.append((*trimmed, label))
    forms = naming.forms([(text[start:end], label) for start, end, label in kept])
    groups: dict[str, list[_Mention]] = {}
    for (start, end, label), form in zip(kept, forms, strict=True):
        in_title = zones.title is not None and zones.title.contains(start, end)
        weight = zones.weight(start, end)
        mention = _Mention(start, end, text[start:end], form, label, weight, in_title)
        groups.setdefault(_key(form), []).append(mention)
    if not groups:
        return []

    labels = {key: _majority(mentions) for key, mentions in groups.items()}
    tokens = {key: tuple(key.split()) for key in groups}
    clusters = _Clusters(groups)
    # Candidates share the first or last word; longest first, so chains end at the fullest name.
    by_edge: dict[str, list[str]] = {}
    for key in groups:
        for edge in {tokens[key][0], tokens[key][-1]}:
            by_edge.setdefault(edge, []).append(key)
    for short in sorted(groups, key=lambda k: -len(tokens[k])):
        candidates = by_edge[tokens[short][0]] + by_edge[tokens[short][-1]]
        roots = {
            clusters.find(long)
            for long in candidates
            if _fits(tokens[short], labels[short], tokens[long], labels[long])
        }
        if len(roots) == 1:
            clusters.join(short, roots.pop())

    merged: dict[str, list[_Mention]] = {}
    for key, mentions in groups.items():
        merged.setdefault(clusters.find(key), []).extend(mentions)

    total = sum(m.weight for mentions in merged.values() for m in mentions)
    entities = []
    for mentions in merged.values():
        mentions.sort(key=lambda m: m.start)
        name = _canonical(mentions)
        label = naming.place_label(name, _majority(mentions))
        ids: dict[str, str] = {}
        if label == "GPE" and (code := naming.country(name)):
            ids["iso3166"] = code
        entities.append(
            Entity(
                name=name,
                label=label,
                count=len(mentions),
                salience=round(min(1.0, sum(m.weight for m in mentions) / total), 4),
                mentions=[
                    Mention(start=m.start, end=m.end, text=m.text, sentence=sentence_of(m.start))
                    for m in mentions
                ],
                ids=ids,
            )
        )
    entities.sort(key=lambda e: (-e.salience, e.mentions[0].start))
    return entities
