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
    в сентябре, с июня (no year)                                  month, year as in English
    в четвертом квартале, во втором полугодии, к концу года        quarter; year
    сегодня, вчера, позавчера, завтра, в понедельник             relative day
    на прошлой неделе, в прошлом месяце, прошлого года, три года назад  relative
    в тот же день, накануне, на следующий день, через три дня     anchored to another date

Prepositions ("в", "с") stay outside the span except where they make the range
("с 2014 по 2019 год"); modifiers ("в конце 2018 года") are left out, as in English.
"""

from __future__ import annotations

import re
from datetime import date

from services.enrich.dates import (
    Normalised,
    anchored,
    date_mention,
    day_value,
    month_day_value,
    month_value,
    quarter_value,
    shifted,
    weekday_before,
)
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
_WHICH |= {"этого": 0, "текущего": 0, "нынешнего": 0, "прошлого": -1, "минувшего": -1}
_WHICH |= {"позапрошлого": -2, "следующего": 1, "будущего": 1}
_ORDINALS = {"первом": 1, "втором": 2, "третьем": 3, "четвертом": 4, "четвёртом": 4}
_UNITS = r"(?:дн(?:я|ей)|день|недел(?:ю|и|ь)|месяц(?:а|ев)?|год(?:а)?|лет)"
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
    rf"|(?P<period>\b(?:в\s+)?(?P<p>этом|прошлом|минувшем|позапрошлом|следующем|текущем|"
    rf"будущем|нынешнем)\s+(?P<unit>году|месяце){_END})"
    rf"|(?P<periodgen>\b(?P<pg>этого|прошлого|позапрошлого|текущего|следующего|будущего|"
    rf"нынешнего|минувшего)\s+(?P<ug>года|месяца){_END})"
    rf"|(?P<yearpart>\b(?:в|во|к|до|с)\s+(?:конц[еуа]|начал[еуа]|середин[еуы])\s+"
    rf"(?:этого\s+|текущего\s+)?года{_END})"
    rf"|(?P<half>\bв(?:о)?\s+(?:первом|втором)\s+полугодии(?:\s+(?P<hy>{_YEAR}){_YEAR_WORD}?)?)"
    rf"|(?P<quarter>\bв\s+(?P<qn>{'|'.join(_ORDINALS)})\s+квартале"
    rf"(?:\s+(?P<qy>{_YEAR}){_YEAR_WORD}?)?)"
    rf"|(?P<same>\b(?:в\s+)?(?:тот|этот)\s+же\s+день{_END})"
    rf"|(?P<nextday>\bна\s+(?:следующий|другой)\s+день{_END})"
    rf"|(?P<eve>\bнакануне(?=\s*[,.;:—–-]))"
    rf"|(?P<later>\bчерез\s+(?:(?P<ln>\d{{1,2}}|{'|'.join(_NUMBER_WORDS)})\s+)?(?P<lu>{_UNITS}){_END})"
    rf"|(?P<ago>\b(?:(?P<n>\d{{1,2}}|{'|'.join(_NUMBER_WORDS)}|несколько)\s+)?"
    rf"(?P<u>дн(?:я|ей)|день|недел(?:ю|и|ь)|месяц(?:а|ев)?|год(?:а)?|лет)\s+назад{_END})"
    rf"|(?:\bв(?:о)?\s+(?P<weekday>{'|'.join(_WEEKDAYS)}){_END})"
    rf"|(?:\b(?:в|во|с|со|до|к|ко|после|по|от|около)\s+(?P<month>{_MONTH})(?!\s*\d))"
    rf"|(?:\b(?:в|во|с|со|до|к|ко|после|по|от|около|между)\s+(?P<year>{_YEAR})\b"
    rf"(?!\s*[-–—./]\d|-[а-яё]){_YEAR_WORD}?)"
    rf"|(?P<yearword>\b{_YEAR}{_YEAR_WORD})",
    re.IGNORECASE,
)
_SPAN_GROUPS = ("weekday", "year", "month")


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


def _range(begin: str | None, end: str | None) -> Normalised:
    if begin is None or end is None or begin.replace("X", "0") > end.replace("X", "9"):
        return Normalised(None, "unknown")
    return Normalised(f"{begin}/{end}", "range", start_value=begin, end_value=end)


_GRANULARITY = {"d": "day", "w": "week", "m": "month", "y": "year"}


def _relative(kind: str, amount: int, reference: date | None) -> Normalised:
    """An offset from the reference in days, weeks, months or years (negative is past)."""
    if reference is None:
        return Normalised(None, _GRANULARITY[kind], relative=True)
    return shifted(reference, kind, amount)


def _unit(word: str) -> str:
    """d, w, m or y for "дней", "недели", "месяцев", "лет"."""
    word = word.lower()
    return (
        "d"
        if word.startswith("д")
        else "w"
        if word.startswith("н")
        else ("m" if word.startswith("м") else "y")
    )


def _count(word: str | None) -> int | None:
    if word is None:
        return 1
    return int(word) if word.isdigit() else _NUMBER_WORDS.get(word.lower())


def _read(match: re.Match[str], reference: date | None) -> Normalised:
    """The value of one rule match (anchored expressions are read in ``find_dates``)."""
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
        end = month_day_value(end_year, end_month, _day(match["d2"]), reference)
        if end_year is None and end is not None and end[0] != "X":
            end_year = int(end[:4])
            start_year = end_year if start_month <= end_month else end_year - 1
        begin = month_day_value(start_year, start_month, _day(match["d1"]), reference)
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
        value = month_day_value(given, _month(match["m"]), _day(match["d"]), reference)
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
    if group == "periodgen":
        kind = "y" if match["ug"].lower() == "года" else "m"
        return _relative(kind, _WHICH[match["pg"].lower()], reference)
    if group in ("yearpart", "half"):  # "к концу года", "во втором полугодии": the year
        if group == "half" and match["hy"]:
            return Normalised(match["hy"], "year")
        return _relative("y", 0, reference)
    if group == "quarter":
        year = int(match["qy"]) if match["qy"] else None
        return quarter_value(_ORDINALS[match["qn"].lower()], year, reference)
    if group == "ago":
        amount = _count(match["n"])
        if amount is None:  # "несколько лет назад": no value
            return Normalised(None, _GRANULARITY[_unit(match["u"])], relative=True)
        return _relative(_unit(match["u"]), -amount, reference)
    if match["weekday"]:
        if reference is None:
            return Normalised(None, "day", relative=True)
        day = weekday_before(reference, _WEEKDAYS[match["weekday"].lower()])
        return Normalised(day.isoformat(), "day", relative=True)
    if match["month"]:
        return month_value(_month(match["month"]), reference)
    if match["year"]:
        return Normalised(match["year"], "year")
    if group == "yearword":
        return Normalised(re.match(r"\d{4}", match[group]).group(), "year")  # type: ignore[union-attr]
    return Normalised(None, "unknown")


def _anaphor(match: re.Match[str]) -> tuple[str, int, bool] | None:
    """(unit, amount, local) for an expression anchored to another date, else None."""
    group = match.lastgroup or ""
    if group == "same":
        return "d", 0, True
    if group == "eve":
        return "d", -1, True
    if group == "nextday":
        return "d", 1, False
    if group == "later" and (amount := _count(match["ln"])) is not None:
        return _unit(match["lu"]), amount, False
    return None


def find_dates(text: str, reference: date | None) -> list[tuple[int, int, Normalised]]:
    """Every Russian date expression in the text, as (start, end, reading)."""
    found: list[tuple[int, int, Normalised]] = []
    for match in _RULES.finditer(text):
        group = next((g for g in _SPAN_GROUPS if match[g]), None) or match.lastgroup or ""
        start, end = match.start(group), match.end(group)
        while end > start and text[end - 1] in " \t\n":
            end -= 1
        if anaphor := _anaphor(match):
            earlier = [(s, reading.value) for s, _, reading in found]
            found.append((start, end, anchored(text, start, earlier, reference, *anaphor)))
            continue
        reading = _read(match, reference)
        if reading.granularity == "unknown" and match.lastgroup == "yrange":
            # "в 2014 и 2019 годах": read the two years on their own.
            for year in ("y4", "y5"):
                if len(match[year]) == 4:
                    found.append(
                        (match.start(year), match.end(year), Normalised(match[year], "year"))
                    )
            continue
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
