"""Russian NER: slovnet's news model (natasha's wheel), names in their dictionary form.

Models
    natasha 1.6.0 ships the navec news embeddings and the slovnet NER model inside its
    wheel; they are read from there by path, without importing ``natasha`` itself (its
    ``__init__`` imports pymorphy2 and the yargy grammars: a second of import time for
    nothing we use). Loading takes about 2 s and 240 MB, so it happens on the first
    Russian document, once per process, under a lock (the service enriches in a thread).

Names
    Russian inflects names ("Путина", "Путиным", "Венесуэлы"), so mentions are grouped by
    their nominative form from pymorphy3 (pymorphy2, natasha's own lemmatiser, does not
    import on Python 3.11+):

    * PERSON: each word takes its first-name / surname / patronymic reading, in the gender
      of the first name when there is one ("Юлии Навальной" -> "Юлия Навальная"); surnames
      that decline like adjectives ("Навального") and unknown foreign ones ("Болтона") are
      put in the nominative too; indeclinable ones ("Мадуро", "Шойгу") stay as written. A
      lone surname that has several nominatives ("Захарова": Захаров or Захарова) takes the
      one that a fuller name in the same document ends with.
    * ORG / LOC: words up to the first noun (the head) go to the nominative, in the head's
      gender and number; what follows the head is a genitive complement and is kept
      ("Министерства иностранных дел" -> "Министерство иностранных дел",
      "Государственной думы" -> "Государственная дума"). Acronyms and Latin words are kept.

Places
    A LOC whose nominative is a country ("России" -> "Россия") becomes GPE with its ISO
    code, from pycountry's Russian translations plus a short table of usual names ("США",
    "Великобритания", "Белоруссия"); a handful of capitals and big cities become GPE too, and
    seats of power used for the government ("Кремль", "Белый дом") become ORG.
"""

from __future__ import annotations

import gettext
import importlib.util
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pycountry
import razdel
from navec import Navec
from pymorphy3 import MorphAnalyzer
from slovnet import NER

from services.enrich.nlp import Segment, Tagged

MODEL_LABEL = "ru_slovnet_ner_news_v1-natasha-1.6.0"
_EMBEDDING = "data/emb/navec_news_v1_1B_250K_300d_100q.tar"
_NER_MODEL = "data/model/slovnet_ner_news_v1.tar"
_LABELS = {"PER": "PERSON", "ORG": "ORG", "LOC": "LOC"}
_PARAGRAPH = re.compile(r"\n[ \t\xa0]*\n")


@dataclass(frozen=True, slots=True)
class RussianModels:
    """slovnet NER (with navec) and pymorphy3, loaded once per process."""

    ner: Any  # slovnet.NER: untyped
    morph: MorphAnalyzer


_LOCK = threading.Lock()
_MODELS: list[RussianModels] = []


def _natasha_dir() -> Path:
    """natasha's package folder, found without running its ``__init__``."""
    spec = importlib.util.find_spec("natasha")
    if spec is None or spec.origin is None:
        raise RuntimeError("the natasha package (which ships the Russian models) is missing")
    return Path(spec.origin).parent


def load_models() -> RussianModels:
    """The Russian models, loaded on first use and shared by every later call."""
    with _LOCK:
        if not _MODELS:
            base = _natasha_dir()
            embedding = Navec.load(str(base / _EMBEDDING))
            ner = NER.load(str(base / _NER_MODEL))
            ner.navec(embedding)
            _MODELS.append(RussianModels(ner=ner, morph=MorphAnalyzer(lang="ru")))
        return _MODELS[0]


def models_loaded() -> bool:
    return bool(_MODELS)


def _sentence_starts(segment: Segment) -> Iterable[int]:
    """Sentence starts from razdel, which never splits at a blank line itself."""
    text = segment.text
    cuts = [0] + [m.end() for m in _PARAGRAPH.finditer(text)]
    ends = [m.start() for m in _PARAGRAPH.finditer(text)] + [len(text)]
    for low, high in zip(cuts, ends, strict=True):
        for sentence in razdel.sentenize(text[low:high]):
            yield segment.start + low + sentence.start


def tag(models: RussianModels, plans: Sequence[Sequence[Segment]]) -> list[Tagged]:
    """NER spans (as PERSON/ORG/LOC) and sentence starts for each document's segments."""
    texts = [segment.text for segments in plans for segment in segments]
    markups = iter(models.ner.map(texts))
    tagged = []
    for segments in plans:
        entities: list[tuple[int, int, str]] = []
        starts: set[int] = set()
        for segment in segments:
            markup = next(markups)
            entities.extend(
                (segment.start + span.start, segment.start + span.stop, _LABELS[span.type])
                for span in markup.spans
                if span.type in _LABELS
            )
            starts.update(_sentence_starts(segment))
        tagged.append(Tagged(entities=entities, sentence_starts=sorted(starts)))
    return tagged


# --- dictionary forms --------------------------------------------------------------------

_CYRILLIC_WORD = re.compile(r"^[А-ЯЁа-яё]+(?:-[А-ЯЁа-яё]+)*$")
_PERSON_TAGS = frozenset({"Name", "Surn", "Patr"})
_TOKEN = re.compile(r"\S+")
# Usual names of a few institutions the news names in several ways, to one canonical name.
_CANONICAL = {
    "цб": "Банк России",
    "цб рф": "Банк России",
    "центробанк": "Банк России",
    "центральный банк": "Банк России",
    "банк россии": "Банк России",
    "минфин": "Министерство финансов",
    "госдума": "Государственная дума",
    "ес": "Евросоюз",
    "европейский союз": "Евросоюз",
    "евросоюз": "Евросоюз",
}


def _recase(form: str, original: str) -> str:
    """The lemma written with the original's case, part by part across hyphens."""
    if original.isupper() and len(original) > 1:
        return form.upper()
    parts, originals = form.split("-"), original.split("-")
    if len(parts) != len(originals):
        return form.capitalize() if original[:1].isupper() else form
    return "-".join(
        part.capitalize() if source[:1].isupper() else part
        for part, source in zip(parts, originals, strict=True)
    )


def _declinable(word: str) -> bool:
    return bool(_CYRILLIC_WORD.match(word)) and not (word.isupper() and len(word) > 1)


def _nominative(parse: Any) -> str:
    inflected = parse.inflect({"nomn"})
    return str(inflected.word) if inflected is not None else str(parse.word)


def _singular(parses: list[Any]) -> list[Any]:
    return [p for p in parses if "sing" in p.tag or "Fixd" in p.tag]


def _person_word(morph: MorphAnalyzer, word: str, gender: str | None) -> list[str]:
    """Nominatives of one word of a person's name, the likeliest first; [] keeps the word.

    Readings as a first name, surname or patronymic come first (in the gender of the first
    name, if known), then adjective-like surnames ("Навального"), then unknown nouns
    ("Болтона"); plural readings never ("Силуанов" is not the plural of "Силуаны").
    """
    parses = morph.parse(word)
    named = _singular([p for p in parses if _PERSON_TAGS & p.tag.grammemes])
    if any("Fixd" in p.tag for p in named):
        return []  # indeclinable: "Мадуро", "Шойгу"
    pools = [
        named,
        _singular([p for p in parses if p.tag.POS == "ADJF"]),
        _singular([p for p in parses if p.tag.POS == "NOUN" and "Fixd" not in p.tag]),
    ]
    ordered: list[Any] = []
    for pool in pools:
        if gender is not None:
            agreeing = [p for p in pool if {gender, "ms-f"} & p.tag.grammemes]
            pool = agreeing + [p for p in pool if p not in agreeing]
        ordered.extend(pool)
    return list(dict.fromkeys(_recase(_nominative(p), word) for p in ordered))


def _person_candidates(morph: MorphAnalyzer, surface: str) -> list[tuple[str, list[str]]]:
    """Each word of a person's name with its candidate nominatives."""
    words = _TOKEN.findall(surface)
    gender = None
    if len(words) > 1 and _declinable(words[0]):
        names = _singular([p for p in morph.parse(words[0]) if "Name" in p.tag])
        gender = names[0].tag.gender if names else None
    return [(w, _person_word(morph, w, gender) if _declinable(w) else []) for w in words]


def _phrase_form(morph: MorphAnalyzer, surface: str) -> str:
    """The nominative of an ORG/LOC phrase: words up to the head noun agree with it.

    The head is the first noun; its case is one that the adjectives before it share
    ("Северному морскому пути" is dative, though "пути" alone reads as genitive first).
    """
    words = _TOKEN.findall(surface)
    parses = [morph.parse(w) if _declinable(w) else None for w in words]
    head = next((i for i, p in enumerate(parses) if p is not None and p[0].tag.POS == "NOUN"), None)
    if head is None:
        return surface
    nouns = [p for p in parses[head] or [] if p.tag.POS == "NOUN"]
    adjectives = [
        [p for p in options if p.tag.POS in ("ADJF", "PRTF")] if options else []
        for options in parses[:head]
    ]
    shared = {p.tag.case for p in nouns}
    for options in adjectives:
        if options:
            shared &= {p.tag.case for p in options}
    head_parse = next((p for p in nouns if p.tag.case in shared), nouns[0])
    number = "plur" if "plur" in head_parse.tag else "sing"
    wanted = {"nomn", number} | (
        {head_parse.tag.gender} if head_parse.tag.gender and number == "sing" else set()
    )
    out = []
    for index, word in enumerate(words):
        if index > head or parses[index] is None:
            out.append(word)
        elif index == head:
            out.append(_recase(_nominative(head_parse), word))
        else:
            agreeing = [p for p in adjectives[index] if p.tag.case == head_parse.tag.case]
            inflected = agreeing[0].inflect(wanted) if agreeing else None
            out.append(_recase(str(inflected.word), word) if inflected is not None else word)
    return " ".join(out)


def _choose(word: str, candidates: list[str], seen: set[str]) -> str:
    """The default nominative, unless another candidate is written as such elsewhere.

    "Никола Пашиняна": "Никола" reads first as a nominative itself, but "Никол" occurs
    in "Никол Пашинян" in the same document, so the name is "Никол Пашинян".
    """
    if not candidates:
        return word
    default = candidates[0]
    if default != word and default in seen:
        return default
    attested = [c for c in candidates[1:] if c != word and c in seen]
    return attested[0] if attested else default


def name_forms(morph: MorphAnalyzer, mentions: Sequence[tuple[str, str]]) -> list[str]:
    """The dictionary form of each (surface, label) mention of one document."""
    people = {
        index: _person_candidates(morph, surface)
        for index, (surface, label) in enumerate(mentions)
        if label == "PERSON"
    }
    seen = {word for candidates in people.values() for word, _ in candidates}
    forms: list[str] = []
    for index, (surface, _) in enumerate(mentions):
        if index in people:
            form = " ".join(_choose(w, c, seen) for w, c in people[index])
        else:
            form = _phrase_form(morph, surface)
        forms.append(_CANONICAL.get(_fold(form), form))
    # A lone surname with several nominatives ("Захарова": Захаров or Захарова) takes the
    # one a fuller name in the document ends with.
    surnames = {forms[i].split()[-1] for i, words in people.items() if len(words) > 1 and forms[i]}
    for index, words in people.items():
        if len(words) == 1 and forms[index] not in surnames:
            word, candidates = words[0]
            forms[index] = next((c for c in [*candidates, word] if c in surnames), forms[index])
    return forms


# --- places ------------------------------------------------------------------------------

_COUNTRY_ALIASES = {
    "россия": "RU",
    "рф": "RU",
    "российская федерация": "RU",
    "сша": "US",
    "америка": "US",
    "соединенные штаты": "US",
    "соединенные штаты америки": "US",
    "великобритания": "GB",
    "британия": "GB",
    "соединенное королевство": "GB",
    "белоруссия": "BY",
    "беларусь": "BY",
    "молдавия": "MD",
    "молдова": "MD",
    "киргизия": "KG",
    "киргизстан": "KG",
    "кыргызстан": "KG",
    "южная корея": "KR",
    "северная корея": "KP",
    "кндр": "KP",
    "кнр": "CN",
    "чехия": "CZ",
    "иран": "IR",
    "сирия": "SY",
    "венесуэла": "VE",
    "боливия": "BO",
    "ватикан": "VA",
    "палестина": "PS",
    "тайвань": "TW",
    "македония": "MK",
    "северная македония": "MK",
    "голландия": "NL",
    "нидерланды": "NL",
    "кот-д'ивуар": "CI",
}
# Buildings named for the institution they house, as the news uses them, and unions of
# states (slovnet tags "Евросоюз" LOC; the English model and the gold set say ORG).
_INSTITUTIONS = frozenset(
    {"кремль", "белый дом", "смольный", "пентагон", "лубянка", "евросоюз", "нато", "оон"}
)
# Cities are GPE in the OntoNotes scheme the English model follows.
_CITIES = frozenset(
    [
        "москва",
        "петербург",
        "санкт-петербург",
        "киев",
        "минск",
        "ереван",
        "тбилиси",
        "баку",
        "астана",
        "алма-ата",
        "алматы",
        "ташкент",
        "бишкек",
        "душанбе",
        "кишинев",
        "рига",
        "вильнюс",
        "таллин",
        "варшава",
        "берлин",
        "париж",
        "лондон",
        "вашингтон",
        "нью-йорк",
        "пекин",
        "токио",
        "брюссель",
        "женева",
        "вена",
        "рим",
        "мадрид",
        "анкара",
        "стамбул",
        "тегеран",
        "дамаск",
        "каракас",
        "гавана",
        "богота",
        "лима",
        "мехико",
        "буэнос-айрес",
        "бразилиа",
        "ла-пас",
        "манагуа",
        "новосибирск",
        "екатеринбург",
        "казань",
        "грозный",
        "калининград",
        "владивосток",
        "севастополь",
        "симферополь",
        "донецк",
        "луганск",
        "харьков",
        "одесса",
    ]
)


def _fold(text: str) -> str:
    return " ".join(text.replace("ё", "е").replace("Ё", "Е").casefold().split())


@cache
def _country_index() -> dict[str, str]:
    index: dict[str, str] = {}
    try:
        translation = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["ru"])
    except OSError:
        translation = None
    if translation is not None:
        for country in pycountry.countries:
            for field in ("name", "common_name", "official_name"):
                value = getattr(country, field, None)
                if isinstance(value, str):
                    index[_fold(translation.gettext(value))] = country.alpha_2
    index.update(_COUNTRY_ALIASES)
    return index


def country_code(name: str) -> str | None:
    """ISO 3166 alpha-2 for a Russian country name in the nominative; None when unknown."""
    return _country_index().get(_fold(name))


def place_label(name: str, label: str) -> str:
    """GPE for countries and the cities in the table, ORG for seats of power, else as tagged.

    slovnet tags "Кремль" LOC even where it means the government; the English model tags
    "Kremlin" ORG, and the record should not depend on the language it was written in.
    """
    if label in ("LOC", "GPE", "ORG") and _fold(name) in _INSTITUTIONS:
        return "ORG"
    if label in ("LOC", "GPE") and (country_code(name) or _fold(name) in _CITIES):
        return "GPE"
    return label
