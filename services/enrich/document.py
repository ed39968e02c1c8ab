"""Document-level facts: where the title, byline and dateline are, language, word count.

The title problem
    Headlines are title-cased, and the small English model reads capitalised runs as names
    ("Putin Elites See" as PERSON). So the headline is tagged on its own (it is no sentence
    of the body, and tagging it in place also spoils the byline after it), in *sentence
    case*: each capitalised word is lower-cased unless the body uses it capitalised
    mid-sentence (then it is a name: "Putin", "Venezuela", "Telegram"), it has inner capitals
    ("SerpomPo") or it is an acronym; the first word keeps its capital. Only case changes, and
    only where the length is unchanged, so offsets map back one to one.

Language detection
    lingua, restricted to the languages the enricher routes (English, Russian, Ukrainian),
    in low accuracy mode, on the first ``LANGUAGE_SAMPLE`` characters (about 2 ms; its
    models for the three languages load in 30 ms and take 10 MB). Restricted like that,
    lingua calls any Latin-script text English, so Latin text is "en" only when English
    function words are frequent enough; German or Spanish text is unknown (None), not
    English. The confidence is lingua's.

Datelines
    English ("Staunton, January 28 –", "STAUNTON, Jan. 28, 2019 (Reuters) -") and Russian
    ("МОСКВА, 28 января —", "Москва, 28 января 2019 года (РИА Новости) —").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

_WORD = re.compile(r"[^\W\d_]+")
_COUNTED_WORD = re.compile(r"\w+(?:['’.-]\w+)*")
_LATIN = re.compile(r"[A-Za-zÀ-ɏ]")
_CYRILLIC = re.compile(r"[Ѐ-ӿ]")
_LOWER_WORD = re.compile(r"[a-z]+")
_ENGLISH_FUNCTION_WORDS = frozenset(
    [
        "the",
        "of",
        "and",
        "to",
        "in",
        "a",
        "is",
        "that",
        "for",
        "it",
        "as",
        "was",
        "with",
        "be",
        "by",
        "on",
        "not",
        "he",
        "i",
        "this",
        "are",
        "or",
        "his",
        "from",
        "at",
        "which",
        "but",
        "have",
        "an",
        "they",
        "you",
        "were",
        "their",
        "has",
        "its",
        "been",
        "we",
        "who",
        "would",
        "there",
    ]
)
_BLANK_LINE = re.compile(r"\n[ \t\xa0]*\n")
_TERMINAL = ".!?:;,"
_MONTH = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)"
)
_DATELINE = re.compile(
    rf"^[ \t\xa0]*(?P<place>[A-Z][\w.'’ -]{{1,40}}?),\s+(?:[A-Z][\w.'’ -]{{1,30}}?,\s+)?"
    rf"(?P<date>{_MONTH}\.?\s+\d{{1,2}}(?:,\s+\d{{4}})?)\s*(?:\([^)\n]{{1,30}}\)\s*)?[–—-]",
    re.MULTILINE,
)
_RU_MONTH = r"(?:января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря)"
_RU_PLACE = r"[А-ЯЁ][А-ЯЁа-яё]+(?:(?:-на-|-|[ ])[А-ЯЁ][А-ЯЁа-яё]+){0,2}"
_DATELINE_RU = re.compile(
    rf"^[ \t\xa0]*(?P<place>{_RU_PLACE}),\s+(?P<date>\d{{1,2}}\s+{_RU_MONTH}"
    rf"(?:\s+\d{{4}}(?:\s*(?:г\.|года))?)?)\s*(?:\([^)\n]{{1,30}}\)\s*)?[–—-]",
    re.MULTILINE | re.IGNORECASE,
)
_DATELINES = (_DATELINE, _DATELINE_RU)
_HEADER_WINDOW = 600
# lingua sees this much of a document: enough to decide, and fast on long texts.
LANGUAGE_SAMPLE = 3000
_LINGUA_LANGUAGES = (Language.ENGLISH, Language.RUSSIAN, Language.UKRAINIAN)
_NAME_WORD = r"[A-ZА-ЯЁ][\w'’.-]*"
_BYLINE = re.compile(
    rf"[ \t\xa0]*\n[ \t\xa0]*\n[ \t\xa0]*(?:By\s+)?"
    rf"(?P<name>{_NAME_WORD}(?:[ \t]+{_NAME_WORD}){{1,3}})[ \t\xa0]*\n[ \t\xa0]*\n"
)


@dataclass(frozen=True, slots=True)
class Zone:
    start: int
    end: int

    def contains(self, start: int, end: int) -> bool:
        return self.start <= start and end <= self.end


@dataclass(frozen=True, slots=True)
class Dateline:
    zone: Zone
    place: str | None
    date_text: str | None


def find_title(text: str, title: str | None) -> Zone | None:
    """The headline at the top of the text: the metadata title, else a title-like first line."""
    if title and title.strip():
        index = text.find(title.strip(), 0, _HEADER_WINDOW + len(title))
        if index >= 0 and not text[:index].strip():
            return Zone(index, index + len(title.strip()))
        return None
    start = len(text) - len(text.lstrip())
    end = text.find("\n", start)
    if end < 0:
        return None
    line = text[start:end].rstrip()
    words = _WORD.findall(line)
    if not 2 <= len(words) <= 25 or line[-1] in _TERMINAL:
        return None
    if not _BLANK_LINE.match(text, end):
        return None
    if len(_CYRILLIC.findall(line)) > len(line) // 2:
        return Zone(start, start + len(line))  # Russian headlines are in sentence case
    long_words = [w for w in words if len(w) > 3]
    capitalised = sum(w[0].isupper() for w in long_words)
    if long_words and capitalised / len(long_words) >= 0.6:
        return Zone(start, start + len(line))
    return None


def find_byline(text: str, author: str | None, after: int) -> Zone | None:
    """The author's line just below the title ("Paul Goble", "By Paul Goble").

    Without a known author, a lone line of two to four capitalised words right after the
    headline counts as a byline (a subtitle or dateline has lower-case words or a comma).
    """
    if not author or not author.strip():
        if after == 0:
            return None
        match = _BYLINE.match(text, after)
        return Zone(match.start("name"), match.end("name")) if match else None
    author = author.strip()
    index = text.find(author, after, after + _HEADER_WINDOW)
    if index < 0:
        return None
    line_start = text.rfind("\n", 0, index) + 1
    line_end = text.find("\n", index)
    line_end = len(text) if line_end < 0 else line_end
    prefix = text[line_start:index].strip().lower()
    if prefix not in ("", "by") or text[index + len(author) : line_end].strip():
        return None
    return Zone(index, index + len(author))


def find_dateline(
    text: str, dateline_text: str | None, dateline_place: str | None, after: int
) -> Dateline | None:
    """The dateline ("Staunton, January 28 –"): the metadata's, else one found at a line start."""
    if dateline_text and dateline_text.strip():
        needle = dateline_text.strip()
        index = text.find(needle, after, after + _HEADER_WINDOW + len(needle))
        if index < 0:
            return None
        line_start = text.rfind("\n", 0, index) + 1
        found = next((m for p in _DATELINES if (m := p.match(text, line_start))), None)
        date_text = found["date"] if found else None
        return Dateline(Zone(index, index + len(needle)), dateline_place, date_text)
    matches = [m for p in _DATELINES if (m := p.search(text, after, after + _HEADER_WINDOW))]
    if not matches:
        return None
    match = min(matches, key=lambda m: m.start())
    start = match.start("place")
    return Dateline(Zone(start, match.end()), match["place"].strip(), match["date"])


def lead_zone(text: str, body_start: int) -> Zone:
    """The first paragraph of the body, which weighs more for salience."""
    start = body_start + len(text[body_start:]) - len(text[body_start:].lstrip())
    blank = _BLANK_LINE.search(text, start)
    end = blank.start() if blank else len(text)
    return Zone(start, min(end, start + 1500))


def proper_words(body: str, candidates: frozenset[str]) -> frozenset[str]:
    """Which candidate words the body capitalises mid-sentence, i.e. uses as names."""
    found: set[str] = set()
    for match in _WORD.finditer(body):
        word = match.group()
        if word not in candidates or word in found:
            continue
        index = match.start() - 1
        while index >= 0 and body[index] in " \t\xa0":
            index -= 1
        if index >= 0 and (body[index].isalnum() or body[index] in ",;-"):
            found.add(word)
    return frozenset(found)


def sentence_case(title: str, body: str) -> str:
    """The headline in sentence case, names kept; same length as the input."""
    words = list(_WORD.finditer(title))
    long_words = [m.group() for m in words if len(m.group()) > 3]
    if not long_words or sum(w[0].isupper() for w in long_words) / len(long_words) < 0.6:
        return title  # already sentence case
    all_caps = not any(c.islower() for c in title)
    candidates = frozenset(
        form for m in words for form in (m.group(), m.group().capitalize()) if form[0].isupper()
    )
    proper = proper_words(body, candidates)
    out = list(title)
    for position, match in enumerate(words):
        word = match.group()
        if not word[0].isupper():
            continue
        if all_caps:
            if word in proper:
                continue  # an acronym the body also writes in capitals
            wanted = word.capitalize() if position == 0 or word.capitalize() in proper else None
            replacement = wanted or word.lower()
        else:
            if position == 0 or word in proper or any(c.isupper() for c in word[1:]):
                continue
            replacement = word.lower()
        if len(replacement) == len(word):
            out[match.start() : match.end()] = replacement
    return "".join(out)


@cache
def language_detector() -> LanguageDetector:
    """lingua for English, Russian and Ukrainian, built once per process."""
    # Low accuracy mode (trigrams only) decides as well on the 3000 characters it sees and
    # takes 10 MB for the three languages instead of about 100 MB.
    return (
        LanguageDetectorBuilder.from_languages(*_LINGUA_LANGUAGES).with_low_accuracy_mode().build()
    )


def _looks_english(sample: str) -> bool:
    words = _LOWER_WORD.findall(sample.lower())
    return bool(words) and sum(w in _ENGLISH_FUNCTION_WORDS for w in words) / len(words) >= 0.15


def detect_language(text: str) -> tuple[str | None, float | None]:
    """ISO 639-1 code and lingua's confidence; None for too little text or another language."""
    sample = text[:LANGUAGE_SAMPLE]
    latin = len(_LATIN.findall(sample))
    cyrillic = len(_CYRILLIC.findall(sample))
    if latin + cyrillic < 20:
        return None, None
    values = language_detector().compute_language_confidence_values(sample)
    best = values[0]
    code = best.language.iso_code_639_1.name.lower()
    if code == "en" and not _looks_english(sample):
        return None, None
    return code, round(best.value, 3)


def word_count(text: str) -> int:
    """Words as a reader counts them: "don't", "U.S." and "2014-2019" are one each."""
    return len(_COUNTED_WORD.findall(text))
