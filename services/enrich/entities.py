"""From NER spans to distinct entities: trim, merge, label, name, weigh, identify.

Merging, in order
    1. Mentions are trimmed: a leading "the" (not in "The Hague"), a trailing possessive,
       anything after a line break. Their key is the casefolded text.
    2. Mentions with the same key are one entity, whatever label each got; the entity takes
       the majority label (ties: the first mention's). So "Maduro" tagged once as ORG joins
       the PERSON "Maduro".
    3. A shorter name joins a longer one when it is unambiguous: for PERSON, the surname
       ("Putin" -> "Vladimir Putin") or first and last name ("Vladimir Putin" ->
       "Vladimir Vladimirovich Putin"), also when the surname alone was tagged ORG (the
       small model does that: "Novak"); for ORG/PRODUCT, a leading or trailing part
       ("SerpomPo" -> "SerpomPo Telegram Channel") or an acronym of the name's words
       ("OPEC", "ФСБ" -> "Федеральная служба безопасности"). The longer name may occur
       anywhere in the document; if the short name fits more than one entity it joins none.
    4. Places with the same country code are one entity ("U.S." and "United States").

Mentions never overlap a link: NER sometimes swallows "www.azatutyun.am" or "... on
vk.com/wall-1_2"; the part before the link is kept when it is a name, else the mention
is dropped. A PERSON span "Alexander Isavnin of Roskomsvoboda" keeps the person only.

Canonical name: the fullest form (most words, then not all capitals, then most frequent,
then first) among the mentions outside the headline when there are any.

Salience: each mention weighs 3 in the headline, 2 in the first paragraph, 0.5 in the
byline, elsewhere 1 falling to 0.5 at the end of the text; an entity's salience is its
share of all the weight, so saliences sum to 1 (as in Google Cloud NL).

Labels: a mention group named exactly like a country is GPE whatever NER said (the small
model tags "Armenia" ORG in some sentences).

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
_BEFORE_LINK = re.compile(r"(?:\s+(?:on|at|via|in|of|from|by|see|на|в|по))*[\s,;:(—–-]*$")
_PERSON_OF = re.compile(r"\s+of\s+(?=[A-Z])")
_ACRONYM_SKIP = frozenset(
    {"of", "the", "and", "for", "on", "in", "at", "de", "по", "и", "о", "об", "в", "на", "при"}
)

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


_RELABELLED_AS_COUNTRY = frozenset({"LOC", "ORG", "PERSON", "NORP", "FAC", "PRODUCT"})


def _english_place(name: str, label: str) -> str:
    return "GPE" if label in _RELABELLED_AS_COUNTRY and country_code(name) else label


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


def _outside_links(
    text: str, start: int, end: int, links: Sequence[tuple[int, int]]
) -> tuple[int, int] | None:
    """The part of a span before the first link it overlaps; None if nothing is left."""
    for link_start, link_end in links:
        if link_start < end and start < link_end:
            if link_start <= start:
                return None
            cut = _BEFORE_LINK.search(text, start, link_start)
            end = cut.start() if cut else link_start
    return (start, end) if start < end else None


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Span boundaries without "the", possessive, line breaks or stray punctuation."""
    newline = text.find("\n", start, end)
    if newline >= 0:
        end = newline
    quote = text.find("«", start, end)
    if quote > start:  # "Госкорпорация «Росатом»": the name is what the quotes hold
        start = quote + 1
        closing = text.find("»", start, end)
        end = closing if closing >= 0 else end
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
    if long_label == "PERSON" and short_label in _ORG_FAMILY:
        return size == 1 and long[-1] == short[0]  # a surname the model tagged ORG
    if short_label == "PERSON" and long_label == "PERSON":
        # the surname, or first and last name without middle names or patronymic
        return long[-size:] == short or (size == 2 and short == (long[0], long[-1]))
    if short_label in _ORG_FAMILY and long_label in _ORG_FAMILY:
        return long[:size] == short or long[-size:] == short
    return False


def _initials(form: str) -> str | None:
    """ "OPEC" for "Organization of the Petroleum Exporting Countries"; None for one word."""
    words = [w for w in form.split() if w.casefold() not in _ACRONYM_SKIP]
    if len(words) < 2:
        return None
    return "".join(w[0] for w in words).casefold()


def _is_acronym(form: str) -> bool:
    return 2 <= len(form) <= 6 and form.isupper() and " " not in form


def _canonical(mentions: list[_Mention]) -> str:
    pool = [m for m in mentions if not m.in_title] or mentions
    forms = Counter(" ".join(m.form.split()) for m in pool)
    first: dict[str, int] = {}
    for m in sorted(pool, key=lambda m: m.start):
        first.setdefault(" ".join(m.form.split()), m.start)
    # Fullest, then not in capitals ("Москва" over the dateline's "МОСКВА"), most used, first.
    return max(forms, key=lambda f: (len(f.split()), not f.isupper(), forms[f], -first[f]))


def _join_acronyms(
    groups: dict[str, list[_Mention]], labels: dict[str, str], clusters: _Clusters
) -> None:
    """An ORG acronym joins the one ORG name whose initials it spells."""
    by_initials: dict[str, set[str]] = {}
    for key, mentions in groups.items():
        if labels[key] in _ORG_FAMILY and (initials := _initials(mentions[0].form)):
            by_initials.setdefault(initials, set()).add(clusters.find(key))
    for key, mentions in groups.items():
        if not _is_acronym(mentions[0].form):
            continue
        roots = {clusters.find(k) for k in by_initials.get(key, ())} - {clusters.find(key)}
        if len(roots) == 1:
            clusters.join(key, roots.pop())


def build_entities(
    text: str,
    spans: Iterable[tuple[int, int, str]],
    zones: Zones,
    sentence_of: Callable[[int], int | None],
    naming: Naming = ENGLISH,
    links: Sequence[tuple[int, int]] = (),
) -> list[Entity]:
    """One Entity per distinct thing named in the text, most salient first."""
    kept: list[tuple[int, int, str]] = []
    for start, end, label in spans:
        if label not in KEPT_LABELS:
            continue
        outside = _outside_links(text, start, end, links)
        trimmed = _trim(text, *outside) if outside else None
        if trimmed is not None and label == "PERSON" and (of := _PERSON_OF.search(text, *trimmed)):
            trimmed = (trimmed[0], of.start())
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
            root = roots.pop()
            clusters.join(short, root)
            if labels[short] in _ORG_FAMILY and labels[root] == "PERSON":
                for mention in groups[short]:
                    mention.label = "PERSON"  # a surname the model tagged ORG
    _join_acronyms(groups, labels, clusters)

    merged: dict[str, list[_Mention]] = {}
    for key, mentions in groups.items():
        merged.setdefault(clusters.find(key), []).extend(mentions)

    # Name and label each group; places with one country code become one entity.
    named: dict[str, tuple[list[_Mention], str, str | None]] = {}
    for index, mentions in enumerate(merged.values()):
        name = _canonical(mentions)
        label = naming.place_label(name, _majority(mentions))
        code = naming.country(name) if label == "GPE" else None
        slot = f"iso:{code}" if code else f"group:{index}"
        if slot in named:
            mentions = named[slot][0] + mentions
            name = _canonical(mentions)
        named[slot] = (mentions, name, code)

    total = sum(m.weight for mentions in merged.values() for m in mentions)
    entities = []
    for mentions, name, code in named.values():
        mentions.sort(key=lambda m: m.start)
        label = naming.place_label(name, _majority(mentions))
        ids: dict[str, str] = {}
        if label != "GPE" and code:
            label = "GPE"
        if label == "GPE" and (code := code or naming.country(name)):
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
