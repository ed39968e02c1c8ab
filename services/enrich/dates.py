"""Temporal expressions: find them cheaply, normalise them honestly.

Where dates come from
    spaCy's DATE and TIME spans, plus one regex pass over the text for explicit forms the
    small model misses ("January 28", "28 January 2019", "2019-01-28", "in 2014", year
    ranges). A rule match is kept only where it overlaps no NER span, or where it swallows
    NER spans whole (NER split "between 2014 and 2019" into two spans). Adjacent NER spans
    joined by "and", "to", "-" are merged into one range. dateparser never scans the text.

How a span is normalised (``normalise``)
    Values are ISO 8601 / TIMEX3 at the span's own granularity: ``2019-01-28`` (day),
    ``2018-03`` (month), ``2019`` (year), ``2019-W04`` (week), ``199X`` (decade),
    ``19`` (century), ``2018-SU`` (season). Explicit forms are handled by our own regexes
    (fast, and exact about which parts the text gives); everything else goes to a prebuilt
    ``dateparser.date.DateDataParser``, span by span, whose ``period`` gives the granularity.

Ranges
    "between 2014 and 2019", "from X to Y", "X-Y", "2014-19" give ONE mention with
    granularity ``"range"``, value ``"2014/2019"`` and start_value/end_value carrying each
    end at its own granularity. A missing year on the start borrows the end's year
    ("from March to May 2018"); "2014-19" reads the end in the start's century.

The reference date and the XXXX rule
    The reference is the document's publication date, and only when it is a full date
    (``2019-01-28`` or a datetime); ``XXXX-01-28`` is not a reference. The machine clock is
    never read: without a reference dateparser gets a fixed sentinel base and any part it
    filled from it is masked.

    * A part the text does not give is never invented. Without a reference, "January 28"
      is ``XXXX-01-28``; "the 28th" has no value.
    * With a full reference, a month or month-day without a year is the last one on or
      before the reference, unless the next one is at most ``FUTURE_WINDOW`` (four months)
      ahead: news announces what comes soon and recalls what is long past. On 2019-03-05
      "June" is 2019-06, "October" 2018-10; on 2019-01-28 "December 30" is 2018-12-30.
    * Weekday names are the last such day on or before the reference: a story dated on a
      Tuesday that says "on Tuesday" means that day.
    * Relative expressions ("today", "last week", "two years ago", weekday names, "the 28th")
      get ``relative=True``. With a reference they resolve against it; without one their
      value stays ``None``.
    * Expressions anchored to another date ("three days later", "the same day") take the
      last full date written before them (for "the same day": in the same paragraph, else
      the reference).
    * Modifiers are dropped, not encoded: "early 2018" and "before 2014" are ``2018`` and
      ``2014``. Decades without a century ("the '90s") keep value ``None``. Quarters are
      ``2018-Q4``.

Not dates
    Durations and sets ("six-year", "a day", "weeks", "monthly", "every few minutes") are
    dropped: they have no calendar value, and dateparser would invent one ("a year" ->
    last year).
"""

from __future__ import annotations

import bisect
import calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from dateparser.date import DateDataParser

from shared.models import DateMention

DATE_LABELS = frozenset({"DATE", "TIME"})

_SENTINEL_BASE = datetime(2000, 12, 31)  # leap year, end of year: every month-day is "past"

_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    [
        ("january", "jan"),
        ("february", "feb"),
        ("march", "mar"),
        ("april", "apr"),
        ("may",),
        ("june", "jun"),
        ("july", "jul"),
        ("august", "aug"),
        ("september", "sep", "sept"),
        ("october", "oct"),
        ("november", "nov"),
        ("december", "dec"),
    ],
    start=1,
):
    for _name in _names:
        _MONTHS[_name] = _number

# Capitalised month names only: "may 5" in prose is rarely a date.
_MONTH = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)"
)
_YEAR = r"(?:1[5-9]\d\d|20\d\d|21\d\d)"
_DAY = r"(?:3[01]|[12]\d|0?[1-9])(?:st|nd|rd|th)?"

_ISO_DAY = re.compile(rf"^(?P<y>{_YEAR})-(?P<m>\d\d)-(?P<d>\d\d)$")
_ISO_MONTH = re.compile(rf"^(?P<y>{_YEAR})-(?P<m>0[1-9]|1[0-2])$")
_MONTH_DAY = re.compile(rf"^(?P<m>{_MONTH})\.?\s+(?P<d>{_DAY})(?:,?\s+(?P<y>{_YEAR}))?$")
_DAY_MONTH = re.compile(rf"^(?P<d>{_DAY})\s+(?:of\s+)?(?P<m>{_MONTH})\.?(?:,?\s+(?P<y>{_YEAR}))?$")
_MONTH_YEAR = re.compile(rf"^(?P<m>{_MONTH})\.?,?\s+(?:of\s+)?(?P<y>{_YEAR})$")
_BARE_YEAR = re.compile(rf"^(?:the\s+year\s+)?(?P<y>{_YEAR})$")
_SEASONS = {"spring": "SP", "summer": "SU", "autumn": "FA", "fall": "FA", "winter": "WI"}
_SEASON = re.compile(rf"^(?P<s>spring|summer|autumn|fall|winter)\s+(?:of\s+)?(?P<y>{_YEAR})$", re.I)
_DECADE = re.compile(r"^(?P<c>1\d|20|21)(?P<d>\d)0['’]?s$")
_SHORT_DECADE = re.compile(r"^(?:['’]\d0s|\d0['’]s|(?:twen|thir|for|fif|six|seven|eigh|nine)ties)$")
_CENTURY = re.compile(r"^(?P<n>\d{1,2})(?:st|nd|rd|th)[\s-]+century$", re.IGNORECASE)
_CENTURY_WORDS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
    "thirteenth": 13,
    "fourteenth": 14,
    "fifteenth": 15,
    "sixteenth": 16,
    "seventeenth": 17,
    "eighteenth": 18,
    "nineteenth": 19,
    "twentieth": 20,
    "twenty-first": 21,
    "twenty first": 21,
}
_CENTURY_WORD = re.compile(
    r"^(?P<w>" + "|".join(sorted(_CENTURY_WORDS, key=len, reverse=True)) + r")[\s-]+century$",
    re.IGNORECASE,
)

# Leading words that modify or introduce a date but do not change its anchor.
_LEADING = re.compile(
    r"^(?:(?:the\s+)?(?:end|beginning|start|middle|first\s+half|second\s+half)\s+of|the|"
    r"about|around|approximately|circa|c\.|in|on|at|since|by|until|till|through|during|"
    r"before|after|from|of|as\s+of|early|late|mid-?)(?:\b|(?<=[.-]))\s*",
    re.IGNORECASE,
)
_TRAILING = re.compile(r"[\s,.;:]+$")

_RANGE = re.compile(
    r"^(?P<open>between\s+|from\s+)?(?P<a>.+?)\s*(?P<join>\band\b|\bto\b|\buntil\b|\btill\b|"
    r"\bthrough\b|\bthru\b|[-–—])\s*(?P<b>.+)$",
    re.IGNORECASE,
)
_RANGE_JOINER = re.compile(r"^\s*(?:and|to|until|till|through|[-–—])\s*$", re.IGNORECASE)
_RANGE_OPENER = re.compile(r"(?:between|from)\s+$", re.IGNORECASE)
_TWO_DIGIT = re.compile(r"^\d\d$")
_DAY_ONLY = re.compile(rf"^(?P<d>{_DAY})(?:,?\s+(?P<y>{_YEAR}))?$")

_RELATIVE = re.compile(
    r"\b(?:today|tonight|yesterday|tomorrow|now|nowadays|currently|ago|last|next|this|"
    r"coming|past|previous|recent|recently|earlier|later|latest|current|these\s+days|"
    r"day\s+before|day\s+after|weekend|monday|tuesday|wednesday|thursday|friday|saturday|"
    r"sunday)\b",
    re.IGNORECASE,
)
_HAS_YEAR = re.compile(rf"\b{_YEAR}\b|['’]\d\d\b")
_HAS_MONTH = re.compile(
    rf"\b{_MONTH}\b|\b\d{{1,2}}[/.-]\d{{1,2}}[/.-]\d{{2,4}}\b|\b\d{{4}}-\d{{1,2}}\b"
)
_WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY = re.compile(rf"^(?P<w>{'|'.join(_WEEKDAY_NAMES)})$", re.IGNORECASE)
_BARE_MONTH = re.compile(rf"^(?P<m>{_MONTH})\.?$")
_QUARTER_WORDS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "1st": 1, "2nd": 2}
_QUARTER_WORDS |= {"3rd": 3, "4th": 4}
_QUARTER = re.compile(
    rf"^(?:(?P<w>{'|'.join(_QUARTER_WORDS)})\s+quarter|q(?P<n>[1-4]))(?:,?\s+(?:of\s+)?(?P<y>{_YEAR}))?$",
    re.IGNORECASE,
)
_NUMBER = r"(?:a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|\d+(?:[.,]\d+)?)"
_UNIT = r"(?:second|minute|hour|day|night|week|fortnight|month|quarter|year|decade|century)"
# Durations and sets: no calendar value.
_NOT_A_DATE = re.compile(
    rf"^(?:(?:almost|nearly|about|around|some|more\s+than|less\s+than|over|under|within|for|"
    rf"up\s+to|at\s+least|every|each|the\s+first|the\s+last\s+few)\s+)*"
    rf"(?:(?:{_NUMBER}|several|few|a\s+few|many|couple\s+of|a\s+couple\s+of)[\s-]+)?"
    rf"(?:half[\s-]+)?{_UNIT}s?(?:[\s-]+(?:old|long))?$"
    r"|^(?:the\s+)?\w+\s+(?:year|time)\s+running$"
    r"|^(?:daily|weekly|monthly|annual|annually|yearly|quarterly|hourly|nightly|centuries)$",
    re.IGNORECASE,
)
_ANAPHORA = re.compile(
    r"^(?:on\s+)?(?:(?P<same>the\s+same\s+day|that\s+(?:same\s+)?day)"
    r"|(?P<next>the\s+(?:next|following)\s+day|the\s+day\s+after)"
    r"|(?P<before>the\s+(?:previous|preceding)\s+day|the\s+day\s+before)"
    rf"|(?P<n>{_NUMBER})\s+(?P<unit>day|week|month|year)s?\s+(?P<dir>later|earlier))$",
    re.IGNORECASE,
)
_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_NUMBER_WORDS |= {"six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}
_NUMBER_WORDS |= {"eleven": 11, "twelve": 12}
# How far ahead a date without a year may lie (see the module docstring).
FUTURE_WINDOW = timedelta(days=122)
_CLOCK_ONLY = re.compile(
    r"^(?:(?:about|around|at|by|until|before|after)\s+)?(?:\d{1,2}(?::\d\d)?\s*"
    r"(?:a\.?m\.?|p\.?m\.?)?|noon|midnight|(?:the\s+)?(?:morning|afternoon|evening|night)|"
    r"\d+\s+(?:hours?|minutes?|seconds?)|(?:hours?|minutes?|seconds?))$",
    re.IGNORECASE,
)

# The rule pass: explicit forms only, case-sensitive month names. Order matters: ISO first so
# that "2019-01-28" is not read as a year range.
_RULES = re.compile(
    rf"(?P<iso>\b{_YEAR}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])\b)"
    rf"|(?P<yrange>\b(?:between|from)\s+{_YEAR}\s+(?:and|to|until|through)\s+{_YEAR}\b)"
    rf"|(?P<ydash>\b{_YEAR}\s?[–—-]\s?(?:{_YEAR}|\d\d)\b(?![-–—]\d))"
    rf"|(?P<md>\b{_MONTH}\.?\s+{_DAY}\b(?:,?\s+{_YEAR}\b)?)"
    rf"|(?P<dm>\b{_DAY}\s+(?:of\s+)?{_MONTH}\b\.?(?:,?\s+{_YEAR}\b)?)"
    rf"|(?P<my>\b{_MONTH}\.?,?\s+{_YEAR}\b)"
    rf"|\b(?:in|since|by|until|during|before|after|from|of)\s+(?P<year>{_YEAR})\b(?![-–—/]\d)"
    r"|(?P<rel>\b(?:[Tt]oday|[Yy]esterday|[Tt]omorrow|[Tt]onight)\b)"
)


@dataclass(frozen=True, slots=True)
class Normalised:
    """The normalised reading of one span, independent of where it occurs."""

    value: str | None
    granularity: str
    start_value: str | None = None
    end_value: str | None = None
    relative: bool = False


_UNKNOWN = Normalised(None, "unknown")


def _parser(base: datetime) -> DateDataParser:
    return DateDataParser(
        languages=["en"],
        settings={
            "RELATIVE_BASE": base,
            "PREFER_DATES_FROM": "past",
            "RETURN_AS_TIMEZONE_AWARE": False,
        },
    )


# Prebuilt: the sentinel parser serves every document without a full reference date.
_SENTINEL_PARSER = _parser(_SENTINEL_BASE)


@lru_cache(maxsize=256)
def _parser_for(reference: date) -> DateDataParser:
    """One parser per reference date: RELATIVE_BASE is fixed at construction."""
    return _parser(datetime(reference.year, reference.month, reference.day))


def warm_up() -> None:
    """Load dateparser's English data now (~0.3 s) rather than on the first document."""
    _SENTINEL_PARSER.get_date_data("January 28")


_FULL_DATE = re.compile(r"^(?P<y>\d{4})-(?P<m>\d\d)-(?P<d>\d\d)(?:[T ].*)?$")


def reference_date(published_at: str | None) -> date | None:
    """The document's full publication date, or None when it is partial (XXXX-01-28, 2019)."""
    if not published_at:
        return None
    match = _FULL_DATE.match(published_at.strip())
    if not match:
        return None
    try:
        return date(int(match["y"]), int(match["m"]), int(match["d"]))
    except ValueError:
        return None


def _strip(text: str) -> str:
    text = " ".join(text.split())
    text = _TRAILING.sub("", text)
    previous = None
    while previous != text:
        previous = text
        text = _LEADING.sub("", text, count=1)
    return text


def day_value(year: int | None, month: int, day: int) -> str | None:
    # Validate against a leap year when the year is unknown, so February 29 survives.
    if day > calendar.monthrange(year if year is not None else 2000, month)[1]:
        return None
    return (
        f"{year:04d}-{month:02d}-{day:02d}" if year is not None else f"XXXX-{month:02d}-{day:02d}"
    )


def anchor_year(month: int, day: int | None, reference: date) -> int | None:
    """The year of a month (day None) or month-day written without one; see the docstring."""
    past = [
        year
        for year in range(reference.year + 1, reference.year - 8, -1)
        if day is None or day <= calendar.monthrange(year, month)[1]
    ]
    for year in past:
        start = date(year, month, day or 1)
        if start <= reference:
            break
        if start - reference <= FUTURE_WINDOW:
            return year
    return next((y for y in past if date(y, month, day or 1) <= reference), None)


def month_day_value(year: int | None, month: int, day: int, reference: date | None) -> str | None:
    """A day's value; a year the text does not give comes from the reference (see the
    docstring), else stays ``XXXX``. None when the day does not exist."""
    if year is None and reference is not None:
        year = anchor_year(month, day, reference)
        if year is None:
            return None
    return day_value(year, month, day)


def month_value(month: int, reference: date | None) -> Normalised:
    """A month written without a year: its year from the reference, else ``XXXX-MM``."""
    year = anchor_year(month, None, reference) if reference is not None else None
    return Normalised(f"{year:04d}-{month:02d}" if year else f"XXXX-{month:02d}", "month")


def weekday_before(reference: date, weekday: int) -> date:
    """The last given weekday (0 is Monday) on or before the reference."""
    return reference - timedelta(days=(reference.weekday() - weekday) % 7)


def quarter_value(number: int, year: int | None, reference: date | None) -> Normalised:
    """``2018-Q4``; without a year, the quarter's year as for a month without one."""
    if year is None:
        if reference is None:
            return Normalised(None, "quarter", relative=True)
        year = anchor_year(3 * number - 2, 1, reference)
        if year is None:
            return Normalised(None, "quarter", relative=True)
        return Normalised(f"{year:04d}-Q{number}", "quarter", relative=True)
    return Normalised(f"{year:04d}-Q{number}", "quarter")


def shifted(anchor: date, unit: str, amount: int) -> Normalised:
    """The date ``amount`` units (d, w, m, y) from the anchor, at that unit's granularity."""
    if unit == "d":
        return Normalised((anchor + timedelta(days=amount)).isoformat(), "day", relative=True)
    if unit == "w":
        iso = (anchor + timedelta(weeks=amount)).isocalendar()
        return Normalised(f"{iso.year:04d}-W{iso.week:02d}", "week", relative=True)
    if unit == "m":
        index = anchor.year * 12 + anchor.month - 1 + amount
        return Normalised(f"{index // 12:04d}-{index % 12 + 1:02d}", "month", relative=True)
    return Normalised(f"{anchor.year + amount:04d}", "year", relative=True)


def is_duration(text: str) -> bool:
    """Durations and sets, which have no calendar value ("six-year", "every few minutes")."""
    return bool(_NOT_A_DATE.match(" ".join(text.split()).strip(" ,.;:")))


_FULL_DAY = re.compile(r"^\d{4}-\d\d-\d\d$")


def anchored(
    text: str,
    start: int,
    earlier: Sequence[tuple[int, str | None]],
    reference: date | None,
    unit: str,
    amount: int,
    local: bool,
) -> Normalised:
    """A date anchored to the last full date before ``start`` (in its paragraph if ``local``,
    where the reference is the fallback), shifted by ``amount`` units."""
    paragraph = text.rfind("\n", 0, start)
    anchor = None
    for position, value in reversed(earlier):
        if value and _FULL_DAY.match(value):
            if local and position < paragraph:
                break
            anchor = date.fromisoformat(value)
            break
    anchor = anchor or reference
    if anchor is None:
        return Normalised(None, "day", relative=True)
    return shifted(anchor, unit, amount)


def _anaphor(text: str) -> tuple[str, int, bool] | None:
    """(unit, amount, local) for an English expression anchored to another date."""
    match = _ANAPHORA.match(_TRAILING.sub("", " ".join(text.split())))
    if match is None:
        return None
    if match["same"]:
        return "d", 0, True
    if match["next"]:
        return "d", 1, False
    if match["before"]:
        return "d", -1, False
    count = match["n"].lower()
    amount = _NUMBER_WORDS.get(count) or int(float(count.replace(",", ".")))
    return match["unit"][0].lower(), amount if match["dir"].lower() == "later" else -amount, False


def _month_number(name: str) -> int:
    return _MONTHS[name.lower().rstrip(".")]


def _day_number(text: str) -> int:
    return int(re.sub(r"\D", "", text))


def _explicit(text: str, reference: date | None) -> Normalised | None:
    """The explicit forms, parsed exactly; None when the text is not one of them."""
    if match := _BARE_YEAR.match(text):
        return Normalised(match["y"], "year")
    if match := _ISO_DAY.match(text):
        value = day_value(int(match["y"]), int(match["m"]), int(match["d"]))
        return Normalised(value, "day") if value and 1 <= int(match["m"]) <= 12 else None
    if match := _ISO_MONTH.match(text):
        return Normalised(f"{match['y']}-{match['m']}", "month")
    if match := _MONTH_YEAR.match(text):
        return Normalised(f"{match['y']}-{_month_number(match['m']):02d}", "month")
    if match := _MONTH_DAY.match(text) or _DAY_MONTH.match(text):
        year = int(match["y"]) if match["y"] else None
        month, day = _month_number(match["m"]), _day_number(match["d"])
        value = month_day_value(year, month, day, reference)
        return Normalised(value, "day") if value else _UNKNOWN
    if match := _BARE_MONTH.match(text):
        return month_value(_month_number(match["m"]), reference)
    if match := _SEASON.match(text):
        return Normalised(f"{match['y']}-{_SEASONS[match['s'].lower()]}", "season")
    if match := _DECADE.match(text):
        return Normalised(f"{match['c']}{match['d']}X", "decade")
    if _SHORT_DECADE.match(text):
        return Normalised(None, "decade")
    if match := _CENTURY.match(text):
        return Normalised(f"{int(match['n']) - 1:02d}", "century")
    if match := _CENTURY_WORD.match(text):
        return Normalised(f"{_CENTURY_WORDS[match['w'].lower()] - 1:02d}", "century")
    return None


def _with_dateparser(text: str, reference: date | None, relative: bool) -> Normalised:
    """dateparser for what our regexes do not cover; parts it filled from the base are masked."""
    parser = _parser_for(reference) if reference is not None else _SENTINEL_PARSER
    data = parser.get_date_data(text)
    found = data.date_obj
    period = data.period or "day"
    if found is None:
        return Normalised(None, "unknown", relative=relative)
    has_year = bool(_HAS_YEAR.search(text))
    has_month = bool(_HAS_MONTH.search(text))
    if not relative and not has_month and period in ("day", "time", "week"):
        relative = True  # "the 28th": the month comes from the reference
    if relative and reference is None:
        return Normalised(None, _granularity(period), relative=True)
    year = f"{found.year:04d}" if has_year or reference is not None else "XXXX"
    if period == "year":
        value = year if year != "XXXX" else None
    elif period == "month":
        value = f"{year}-{found.month:02d}"
    elif period == "week":
        iso = found.isocalendar()
        value = f"{iso.year:04d}-W{iso.week:02d}" if year != "XXXX" else None
    else:
        value = f"{year}-{found.month:02d}-{found.day:02d}"
    return Normalised(value, _granularity(period), relative=relative)


def _granularity(period: str) -> str:
    return "day" if period == "time" else period


def _single(text: str, reference: date | None) -> Normalised:
    if not text:
        return _UNKNOWN
    if _CLOCK_ONLY.match(text):
        return Normalised(None, "time")
    if match := _WEEKDAY.match(text):
        if reference is None:
            return Normalised(None, "day", relative=True)
        day = weekday_before(reference, _WEEKDAY_NAMES.index(match["w"].lower()))
        return Normalised(day.isoformat(), "day", relative=True)
    if match := _QUARTER.match(text):
        number = _QUARTER_WORDS[match["w"].lower()] if match["w"] else int(match["n"])
        return quarter_value(number, int(match["y"]) if match["y"] else None, reference)
    relative = bool(_RELATIVE.search(text))
    if not relative and (explicit := _explicit(text, reference)) is not None:
        return explicit
    if relative and reference is not None and text.lower() in ("today", "now", "currently"):
        return Normalised(reference.isoformat(), "day", relative=True)
    return _with_dateparser(text, reference, relative)


def _range(text: str, reference: date | None) -> Normalised | None:
    match = _RANGE.match(text)
    if not match:
        return None
    if match["join"].lower() == "and" and (match["open"] or "").strip().lower() != "between":
        return None  # "2014 and 2019" are two years; only "between X and Y" is a range
    left, right = _strip(match["a"]), _strip(match["b"])
    if _TWO_DIGIT.match(right) and _BARE_YEAR.match(left):
        century = int(left) // 100 * 100
        year = century + int(right)
        right = str(year if year > int(left) else year + 100)
    elif (day_only := _DAY_ONLY.match(right)) and (md := _MONTH_DAY.match(left)):
        right = f"{md['m']} {day_only['d']}" + (f", {day_only['y']}" if day_only["y"] else "")
    end = _single(right, reference)
    if end.value is None or end.granularity in ("range", "unknown"):
        return None
    if not _HAS_YEAR.search(left) and (year_match := _HAS_YEAR.search(right)):
        left = f"{left} {year_match.group()}"
    begin = _single(left, reference)
    if begin.value is None or begin.granularity in ("range", "unknown"):
        return None
    if begin.value.replace("X", "0") > end.value.replace("X", "9"):
        return None  # "2019-01" is a month, not the years 2019 to 2001
    return Normalised(
        f"{begin.value}/{end.value}",
        "range",
        start_value=begin.value,
        end_value=end.value,
        relative=begin.relative or end.relative,
    )


@lru_cache(maxsize=8192)
def normalise(text: str, reference: date | None = None) -> Normalised:
    """Normalise one date span as written; cached, since the same spans recur across documents."""
    stripped = _strip(text)
    if _ISO_DAY.match(stripped) or _ISO_MONTH.match(stripped):
        return _single(stripped, reference)
    return _range(stripped, reference) or _single(stripped, reference)


@dataclass(frozen=True, slots=True)
class _Candidate:
    start: int
    end: int
    source: str


def _merge_ranges(text: str, spans: list[_Candidate]) -> list[_Candidate]:
    """Join NER spans that one range expression was split into ("between 2014" + "2019")."""
    merged: list[_Candidate] = []
    for span in spans:
        if merged and _RANGE_JOINER.match(text[merged[-1].end : span.start]):
            previous = merged[-1]
            start = previous.start
            if opener := _RANGE_OPENER.search(text, max(0, start - 12), start):
                start = opener.start()
            candidate = _Candidate(start, span.end, previous.source)
            if normalise(text[start : span.end]).granularity == "range":
                merged[-1] = candidate
                continue
        merged.append(span)
    return merged


def _rule_spans(text: str) -> list[_Candidate]:
    found = []
    for match in _RULES.finditer(text):
        group = "year" if match["year"] else match.lastgroup or ""
        found.append(_Candidate(match.start(group), match.end(group), "rule"))
    return found


def _add_rules(
    spans: list[_Candidate], rules: list[_Candidate], text: str, reference: date | None
) -> list[_Candidate]:
    """Keep a rule match where NER found nothing, where it swallows NER spans whole, or
    where the one NER span around it has no value and the rule match has ("the week to
    February 22")."""
    result = sorted(spans, key=lambda s: s.start)
    for rule in rules:
        overlapping = [s for s in result if s.start < rule.end and rule.start < s.end]
        if not overlapping:
            bisect.insort(result, rule, key=lambda s: s.start)
        elif all(rule.start <= s.start and s.end <= rule.end for s in overlapping) and any(
            (s.end - s.start) < (rule.end - rule.start) for s in overlapping
        ):
            for span in overlapping:
                result.remove(span)
            bisect.insort(result, rule, key=lambda s: s.start)
        elif (
            len(overlapping) == 1
            and normalise(text[overlapping[0].start : overlapping[0].end], reference).value is None
            and normalise(text[rule.start : rule.end], reference).value is not None
        ):
            result.remove(overlapping[0])
            bisect.insort(result, rule, key=lambda s: s.start)
    return result


def extract_dates(
    text: str,
    ner_spans: Sequence[tuple[int, int]],
    reference: date | None,
    dateline: tuple[int, int] | None = None,
) -> list[DateMention]:
    """Date mentions from NER DATE/TIME spans plus the rule pass, each normalised."""
    spans = _merge_ranges(text, [_Candidate(s, e, "ner") for s, e in sorted(ner_spans)])
    spans = _add_rules(spans, _rule_spans(text), text, reference)
    mentions: list[DateMention] = []
    for span in spans:
        surface = text[span.start : span.end]
        if is_duration(surface):
            continue
        if anaphor := _anaphor(surface):
            earlier = [(m.start, m.value) for m in mentions]
            reading = anchored(text, span.start, earlier, reference, *anaphor)
        else:
            reading = normalise(surface, reference)
        mentions.append(date_mention(text, span.start, span.end, reading, span.source, dateline))
    return mentions


def date_mention(
    text: str,
    start: int,
    end: int,
    reading: Normalised,
    source: str,
    dateline: tuple[int, int] | None,
) -> DateMention:
    """The record of one date span; inside the dateline its source is "dateline"."""
    if dateline is not None and dateline[0] <= start and end <= dateline[1]:
        source = "dateline"
    return DateMention(
        text=text[start:end],
        start=start,
        end=end,
        value=reading.value,
        granularity=reading.granularity,
        start_value=reading.start_value,
        end_value=reading.end_value,
        relative=reading.relative,
        source=source,
    )
