"""Russian temporal expressions, found and normalised by rules (no NER model tags them).

Values follow the English rules in ``dates`` (ISO 8601 / TIMEX3 at the text's own
granularity, ranges as ``start/end``, the XXXX rule, relative expressions resolved only
against a full publication date). Forms handled, with or without a "год(а/у)"/"г."/"гг.":

    28 января 2019 года, 28-го января, 28.01.2019, 2019-01-28      day
    в марте 2018 года, март 2018                                  month
    в 2018 году, 2018 г., с 2014 года                             year
    с 2014 по 2019 год, в 2014–2019 годах, между 2014 и 2019      range of years
    с 1 по 5 марта 2019, 28 января – 3 февраля, с января по март  ranges of days, months
    весной 2018 года                                              season
    в 1990-е годы / 1990-х                                        decade
    в XX веке, XXI век                                            century
    сегодня, вчера, позавчера, завтра, в понедельник             relative day
    на прошлой неделе, в прошлом месяце, в этом году, три года назад  relative

Prepositions ("в", "с") stay outside the span except where they make the range
("с 2014 по 2019 год"); modifiers ("в конце 2018 года") are left out, as in English.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from services.enrich.dates import Normalised, date_mention, day_value, past_year
from shared.models import DateMention

_YEAR = r"(?:1[5-9]\d\d|20\d\d|21\d\d)"
_DAY = r"(?:3[01]|[12]\d|0?[1-9])(?:-?(?:го|е|ое))?"
_END = r"(?![а-яёА-ЯЁ\w])"
_MONTH = (
    r"(?:январ[ьяе]|феврал[ьяе]|март[ае]?|апрел[ьяе]|ма[йяе]|июн[ьяе]|июл[ьяе]|август[ае]?|"
    r"сентябр[ьяе]|октябр[ьяе]|ноябр[ьяе]|декабр[ьяе])" + _END
)
_YEAR_WORD = r"(?:\s*(?:год(?:а|у|ом|ы|ов|ах|ами)?" + _END + r"|гг?\.))"
_DASH = r"\s*[–—-]\s*"
_NUMBER_WORDS = {
    "один": 1,
    "одну": 1,
    "одна": 1,
    "два": 2,
    "две": 2,
    "пару": 2,
    "три": 3,
    "четыре": 4,
    "пять": 5,
    "шесть": 6,
    "семь": 7,
    "восемь": 8,
    "девять": 9,
    "десять": 10,
}
_WEEKDAYS = {
    "понедельник": 0,
    "вторник": 1,
    "среду": 2,
    "среда": 2,
    "четверг": 3,
    "пятницу": 4,
    "пятница": 4,
    "субботу": 5,
    "суббота": 5,
    "воскресенье": 6,
}
_DAY_WORDS = {"позавчера": -2, "вчера": -1, "сегодня": 0, "завтра": 1, "послезавтра": 2}
_WHICH = {
    "этой": 0,
    "этом": 0,
    "текущем": 0,
    "текущей": 0,
    "нынешнем": 0,
    "прошлой": -1,
    "прошлом": -1,
    "минувшей": -1,
    "минувшем": -1,
    "позапрошлом": -2,
    "следующей": 1,
    "следующем": 1,
    "будущем": 1,
}
_SEASONS = {"весн": "SP", "лет": "SU", "осен": "FA", "зим": "WI"}
_ROMAN = {"I": 1, "V": 5, "X": 10, "Х": 10}  # the Cyrillic "Х" too

_RULES = re.compile(
    rf"(?P<iso>\b{_YEAR}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])\b)"
    rf"|(?P<numeric>\b(?:0?[1-9]|[12]\d|3[01])\.(?:0[1-9]|1[0-2])\.{_YEAR}\b)"
    rf"|(?P<isomonth>\b{_YEAR}-(?:0[1-9]|1[0-2])\b(?![-–—]\d))"
    rf"|(?P<drange>(?:\bс\s+)?\b(?P<d1>{_DAY})(?:\s+(?P<m1>{_MONTH}))?(?:\s+(?P<y1>{_YEAR}))?"
    rf"(?:{_DASH}|\s+по\s+)(?P<d2>{_DAY})\s+(?P<m2>{_MONTH})(?:\s+(?P<y2>{_YEAR}){_YEAR_WORD}?)?)"
    rf"|(?P<mrange>(?:\bс\s+)?\b(?P<m3>{_MONTH})(?:{_DASH}|\s+по\s+)(?P<m4>{_MONTH})"
    rf"\s+(?P<y3>{_YEAR}){_YEAR_WORD}?)"
    rf"|(?P<yrange>(?:\b(?:с|со|между)\s+)?\b(?P<y4>{_YEAR})(?:\s*(?:года|г\.))?"
    rf"(?:{_DASH}|\s+по\s+|\s+и\s+)(?P<y5>{_YEAR}|\d\d)\b{_YEAR_WORD}?)"
    rf"|(?P<dmy>\b(?P<d>{_DAY})\s+(?P<m>{_MONTH})(?:\s+(?P<y>{_YEAR})\b{_YEAR_WORD}?)?)"
    rf"|(?P<my>\b(?P<m5>{_MONTH})\s+(?P<y6>{_YEAR})\b{_YEAR_WORD}?)"
    rf"|(?P<season>\b(?P<s>весн|лет|осен|зим)(?:ой|ом|ою|ью|а|о|ь)\s+(?P<y7>{_YEAR})\b{_YEAR_WORD}?)"
    rf"|(?P<decade>\b(?P<y8>1[5-9]\d0|20\d0|21\d0)-(?:е|х|м|ми){_END}(?:\s+год(?:ы|ов|ах|ами){_END})?)"
    rf"|(?P<sdecade>\b[2-9]0-(?:е|х){_END}(?:\s+год(?:ы|ов|ах|ами){_END})?)"
    rf"|(?P<century>\b(?P<c>[IVXХ]{{1,5}}|\d{{1,2}})\s+(?:век(?:а|е|у|ом|ов)?|столети(?:е|я|и)){_END})"
    rf"|(?P<dayword>\b(?:позавчера|вчера|сегодня|послезавтра|завтра){_END})"
    rf"|(?P<week>\bна\s+(?P<w>этой|прошлой|минувшей|следующей|текущей)\s+неделе{_END})"
    rf"|(?P<period>\bв\s+(?P<p>этом|прошлом|минувшем|позапрошлом|следующем|текущем|будущем|"
    rf"нынешнем)\s+(?P<unit>году|месяце){_END})"
    rf"|(?P<ago>\b(?:(?P<n>\d{{1,2}}|{'|'.join(_NUMBER_WORDS)}|несколько)\s+)?"
    rf"(?P<u>дн(?:я|ей)|день|недел(?:ю|и|ь)|месяц(?:а|ев)?|год(?:а)?|лет)\s+назад{_END})"
    rf"|(?:\bв(?:о)?\s+(?P<weekday>{'|'.join(_WEEKDAYS)}){_END})"
    rf"|(?:\b(?:в|во|с|со|до|к|ко|после|по|от|около|между)\s+(?P<year>{_YEAR})\b"
    rf"(?!\s*[-–—./]\d|-[а-яё]){_YEAR_WORD}?)"
    rf"|(?P<yearword>\b{_YEAR}{_YEAR_WORD})",
    re.IGNORECASE,
)
_SPAN_GROUPS = ("weekday", "year")


def _month(text: str) -> int:
    word = text.lower()
    for number, prefix in enumerate(
        ("янв", "фев", "мар", "апр", "ма", "июн", "июл", "авг", "сен", "окт", "ноя", "дек"),
        start=1,
    ):
        if word.startswith(prefix):
            return number
    raise ValueError(text)


def _day(text: str) -> int:
    return int(re.match(r"\d+", text).group())  # type: ignore[union-attr]


def _roman(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    values = [_ROMAN[c] for c in text.upper()]
    total = sum(
        -v if i + 1 < len(values) and v < values[i + 1] else v for i, v in enumerate(values)
    )
    return total if 0 < total <= 22 else None


def _dated(year: int | None, month: int, day: int, reference: date | None) -> str | None:
    if year is None and reference is not None:
        year = past_year(month, day, reference)
        if year is None:
            return None
    return day_value(year, month, day)


def _range(begin: str | None, end: str | None) -> Normalised:
    if begin is None or end is None or begin.replace("X", "0") > end.replace("X", "9"):
        return Normalised(None, "unknown")
    return Normalised(f"{begin}/{end}", "range", start_value=begin, end_value=end)


def _shift_month(year: int, month: int, by: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + by
    return index // 12, index % 12 + 1


def _week(day: date) -> str:
    iso = day.isocalendar()
    return f"{iso.year:04d}-W{iso.week:02d}"


def _relative(kind: str, amount: int, reference: date | None) -> Normalised:
    """An offset from the reference in days, weeks, months or years (negative is past)."""
    granularity = {"d": "day", "w": "week", "m": "month", "y": "year"}[kind]
    if reference is None:
        return Normalised(None, granularity, relative=True)
    if kind == "d":
        value = (reference + timedelta(days=amount)).isoformat()
    elif kind == "w":
        value = _week(reference + timedelta(weeks=amount))
    elif kind == "m":
        year, month = _shift_month(reference.year, reference.month, amount)
        value = f"{year:04d}-{month:02d}"
    else:
        value = f"{reference.year + amount:04d}"
    return Normalised(value, granularity, relative=True)


def _read(match: re.Match[str], reference: date | None) -> Normalised:
    """The value of one rule match."""
    group = match.lastgroup or ""
    if group == "isomonth":
        return Normalised(match[group], "month")
    if group == "iso":
        parts = [int(x) for x in match[group].split("-")]
        value = day_value(parts[0], parts[1], parts[2])
        return Normalised(value, "day") if value else Normalised(None, "unknown")
    if group == "numeric":
        parts = [int(x) for x in match[group].split(".")]
        value = day_value(parts[2], parts[1], parts[0])
        return Normalised(value, "day") if value else Normalised(None, "unknown")
    if group == "drange":
        end_month = _month(match["m2"])
        end_year = int(match["y2"]) if match["y2"] else None
        start_month = _month(match["m1"]) if match["m1"] else end_month
        start_year = int(match["y1"]) if match["y1"] else end_year
        if start_year is None and end_year is not None and start_month > end_month:
            start_year = end_year - 1
        end = _dated(end_year, end_month, _day(match["d2"]), reference)
        if end_year is None and end is not None and end[0] != "X":
            end_year = int(end[:4])
            start_year = end_year if start_month <= end_month else end_year - 1
        begin = _dated(start_year, start_month, _day(match["d1"]), reference)
        return _range(begin, end)
    if group == "mrange":
        last_year = int(match["y3"])
        first, last = _month(match["m3"]), _month(match["m4"])
        first_year = last_year if first <= last else last_year - 1
        return _range(f"{first_year:04d}-{first:02d}", f"{last_year:04d}-{last:02d}")
    if group == "yrange":
        low, high = match["y4"], match["y5"]
        joined_by_and = re.search(r"\sи\s", match[group]) is not None
        if joined_by_and and not match[group].lower().startswith("между"):
            return Normalised(None, "unknown")  # "2014 и 2019": two years, not a range
        if len(high) == 2:
            candidate = int(low) // 100 * 100 + int(high)
            high = str(candidate if candidate > int(low) else candidate + 100)
        return _range(low, high)
    if group == "dmy":
        given = int(match["y"]) if match["y"] else None
        value = _dated(given, _month(match["m"]), _day(match["d"]), reference)
        return Normalised(value, "day") if value else Normalised(None, "unknown")
    if group == "my":
        return Normalised(f"{match['y6']}-{_month(match['m5']):02d}", "month")
    if group == "season":
        return Normalised(f"{match['y7']}-{_SEASONS[match['s'].lower()]}", "season")
    if group == "decade":
        return Normalised(f"{match['y8'][:3]}X", "decade")
    if group == "sdecade":
        return Normalised(None, "decade")
    if group == "century":
        number = _roman(match["c"])
        return Normalised(f"{number - 1:02d}", "century") if number else Normalised(None, "unknown")
    if group == "dayword":
        return _relative("d", _DAY_WORDS[match[group].lower()], reference)
    if group == "week":
        return _relative("w", _WHICH[match["w"].lower()], reference)
    if group == "period":
        kind = "y" if match["unit"].lower() == "году" else "m"
        return _relative(kind, _WHICH[match["p"].lower()], reference)
    if group == "ago":
        unit = match["u"].lower()
        kind = (
            "d"
            if unit.startswith("д")
            else "w"
            if unit.startswith("н")
            else "m"
            if unit.startswith("м")
            else "y"
        )
        count = match["n"]
        if count is None:
            amount: int | None = 1
        elif count.isdigit():
            amount = int(count)
        else:
            amount = _NUMBER_WORDS.get(count.lower())
        if amount is None:  # "несколько лет назад": no value
            return Normalised(None, _relative(kind, 0, None).granularity, relative=True)
        return _relative(kind, -amount, reference)
    if match["weekday"]:
        if reference is None:
            return Normalised(None, "day", relative=True)
        back = (reference.weekday() - _WEEKDAYS[match["weekday"].lower()]) % 7
        return Normalised((reference - timedelta(days=back)).isoformat(), "day", relative=True)
    if match["year"]:
        return Normalised(match["year"], "year")
    if group == "yearword":
        return Normalised(re.match(r"\d{4}", match[group]).group(), "year")  # type: ignore[union-attr]
    return Normalised(None, "unknown")


def find_dates(text: str, reference: date | None) -> list[tuple[int, int, Normalised]]:
    """Every Russian date expression in the text, as (start, end, reading)."""
    found = []
    for match in _RULES.finditer(text):
        group = next((g for g in _SPAN_GROUPS if match[g]), None) or match.lastgroup or ""
        reading = _read(match, reference)
        if reading.granularity == "unknown" and match.lastgroup == "yrange":
            # "в 2014 и 2019 годах": read the two years on their own.
            for year in (match["y4"], match["y5"]):
                if len(year) == 4:
                    start = match.start("y4") if year == match["y4"] else match.start("y5")
                    found.append((start, start + 4, Normalised(year, "year")))
            continue
        start, end = match.start(group), match.end(group)
        while end > start and text[end - 1] in " \t\n":
            end -= 1
        found.append((start, end, reading))
    return found


def normalise(text: str, reference: date | None = None) -> Normalised:
    """The reading of one Russian date expression (a dateline's date, for instance)."""
    found = find_dates(text.strip(), reference)
    return found[0][2] if found else Normalised(None, "unknown")


def extract_dates(
    text: str, reference: date | None, dateline: tuple[int, int] | None = None
) -> list[DateMention]:
    """Date mentions of a Russian text, each normalised (the rules are the only source)."""
    return [
        date_mention(text, start, end, reading, "rule", dateline)
        for start, end, reading in find_dates(text, reference)
    ]
