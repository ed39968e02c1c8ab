"""Datelines: "Staunton, January 28 –" at the start of a news story's first paragraph.

A dateline is the most reliable date a plain-text article carries, but it rarely has a
year, so the date is kept at its own granularity ("XXXX-01-28") rather than guessed.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

_MONTHS_EN = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_MONTHS_RU = {
    "января": 1, "февраля": 2, "марта": 3, "апреля": 4, "мая": 5, "июня": 6,
    "июля": 7, "августа": 8, "сентября": 9, "октября": 10, "ноября": 11, "декабря": 12,
}  # fmt: skip

_EN_MONTH = (
    r"(?i:jan(?:uary|\.)?|feb(?:ruary|\.)?|mar(?:ch|\.)?|apr(?:il|\.)?|may|june?|july?"
    r"|aug(?:ust|\.)?|sep(?:t(?:ember|\.)?|\.)?|oct(?:ober|\.)?|nov(?:ember|\.)?"
    r"|dec(?:ember|\.)?)"
)
_WORD = r"[A-ZÀ-ÖØ-Þ][\w'’.\-]*"
_PARTICLE = r"(?:de|da|do|del|della|di|du|la|le|am|an|on|upon|sur|al|el|of)"
_NAME = rf"{_WORD}(?:[ ](?:{_PARTICLE}[ ])?{_WORD}){{0,3}}"
_AGENCY = r"(?:[ ]*\((?P<agency>[^()\n]{1,40})\))?"
_DASH = r"[ ]*(?:--|[–—-])"

_EN_DATELINE = re.compile(
    rf"(?P<place>{_NAME})(?:,[ ](?P<region>{_NAME}))?,[ ]+"
    rf"(?:(?P<month>{_EN_MONTH})[ ]+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?"
    rf"|(?P<day2>\d{{1,2}})[ ]+(?P<month2>{_EN_MONTH}))"
    rf"(?:,?[ ]+(?P<year>\d{{4}}))?{_AGENCY}{_DASH}"
)
# "MOSCOW (Reuters) -": no date, so only accepted with an agency and a capitalised place.
_EN_AGENCY_DATELINE = re.compile(
    r"(?P<place>[A-Z][A-Z'.\-]+(?:[ ][A-Z][A-Z'.\-]+){0,3})(?:,[ ](?P<region>[A-Z][\w.]+))?"
    r"[ ]*\((?P<agency>[^()\n]{1,40})\)" + _DASH
)
_RU_NAME = r"[А-ЯЁ][А-ЯЁа-яё]+(?:(?:-на-|-|[ ])[А-ЯЁ][А-ЯЁа-яё]+){0,2}"
_RU_DATELINE = re.compile(
    rf"(?P<place>{_RU_NAME}),[ ]+(?P<day>\d{{1,2}})[ ]+(?P<month>(?i:{'|'.join(_MONTHS_RU)}))"
    r"(?:[ ]+(?P<year>\d{4})(?:[ ]*(?:г\.|года))?)?"
    r"(?:" + _AGENCY + _DASH + r"|\.[ ]*/(?P<agency2>[^/\n]{1,30})/\.?)"
)
_MAX_LINES = 3


@dataclass(frozen=True)
class Dateline:
    """A dateline as found: ``published_at`` is ISO at its granularity, or None if undated."""

    place: str
    text: str
    published_at: str | None


def find_dateline(paragraphs: Iterable[str], *, max_lines: int = _MAX_LINES) -> Dateline | None:
    """The dateline opening one of the first ``max_lines`` non-empty paragraphs, if any."""
    seen = 0
    for paragraph in paragraphs:
        line = paragraph.strip()
        if not line:
            continue
        found = parse_dateline(line)
        if found is not None:
            return found
        seen += 1
        if seen >= max_lines:
            break
    return None


def parse_dateline(line: str) -> Dateline | None:
    """Parse a dateline at the very start of ``line``; None if it does not open with one."""
    for pattern, months in ((_EN_DATELINE, _MONTHS_EN), (_RU_DATELINE, _MONTHS_RU)):
        match = pattern.match(line)
        if match is None:
            continue
        groups = match.groupdict()
        month_word = (groups.get("month") or groups.get("month2") or "").lower().rstrip(".")
        month = months.get(month_word if months is _MONTHS_RU else month_word[:3])
        day = int(groups.get("day") or groups.get("day2") or 0)
        year = int(groups["year"]) if groups.get("year") else None
        iso = _iso_date(year, month, day)
        if iso is None:
            continue
        return Dateline(_place(match["place"]), match.group(0).strip(), iso)
    match = _EN_AGENCY_DATELINE.match(line)
    if match is not None:
        return Dateline(_place(match["place"]), match.group(0).strip(), None)
    return None


def _iso_date(year: int | None, month: int | None, day: int) -> str | None:
    """ISO date at its own granularity; None for a day the month does not have."""
    if month is None or not 1 <= day <= 31:
        return None
    if year is None:
        # Any year will do to bound the day, as long as it is a leap year (Feb 29 exists).
        if day > calendar.monthrange(2000, month)[1]:
            return None
        return f"XXXX-{month:02d}-{day:02d}"
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


_LOWER_WORDS = frozenset(_PARTICLE.strip("(?:)").split("|")) | {"на"}


def _place(raw: str) -> str:
    """The place as written, but "MOSCOW" or "МОСКВА" become "Moscow" and "Москва"."""
    place = raw.strip()
    if not place.isupper():
        return place
    words = re.split(r"([ \-])", place.title())
    return "".join(w.lower() if w.lower() in _LOWER_WORDS else w for w in words)
