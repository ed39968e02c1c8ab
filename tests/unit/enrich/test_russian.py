"""Russian documents: routing, slovnet entities in their dictionary form, date rules."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from spacy.language import Language

from services.enrich import russian
from services.enrich.core import NO_MODEL, enrich, enrich_batch
from services.enrich.dates_ru import find_dates, normalise
from shared.models import RawDocument

MakeDoc = Callable[..., RawDocument]
REF = date(2019, 1, 28)

ARTICLE = """Кремль поддержал Мадуро

МОСКВА, 24 января — Пресс-секретарь президента России Дмитрий Песков заявил, что Москва \
считает Николаса Мадуро законным президентом Венесуэлы. Владимир Путин в тот же день \
провел телефонный разговор с Мадуро. Путина поддержал министр иностранных дел Сергей \
Лавров. Встреча Путина с Мадуро прошла в декабре 2018 года. Подробнее на президент.рф \
и t.me/kremlin_news.
"""


@pytest.fixture(scope="module")
def morph() -> object:
    return russian.load_models().morph


@pytest.mark.parametrize(
    ("mentions", "forms"),
    [
        ([("Путина", "PERSON"), ("Путиным", "PERSON")], ["Путин", "Путин"]),
        ([("Владимира Путина", "PERSON")], ["Владимир Путин"]),
        ([("Юлии Навальной", "PERSON")], ["Юлия Навальная"]),
        ([("Алексея Навального", "PERSON")], ["Алексей Навальный"]),
        ([("Николаса Мадуро", "PERSON"), ("Шойгу", "PERSON")], ["Николас Мадуро", "Шойгу"]),
        ([("Антон Силуанов", "PERSON")], ["Антон Силуанов"]),
        (
            [("Никола Пашиняна", "PERSON"), ("Никол Пашинян", "PERSON")],
            ["Никол Пашинян", "Никол Пашинян"],
        ),
        ([("Мария Захарова", "PERSON"), ("Захарова", "PERSON")], ["Мария Захарова", "Захарова"]),
        ([("Государственной думы", "ORG")], ["Государственная дума"]),
        ([("Министерства иностранных дел", "ORG")], ["Министерство иностранных дел"]),
        ([("Северному морскому пути", "LOC")], ["Северный морской путь"]),
        ([("Санкт-Петербурга", "LOC"), ("США", "LOC")], ["Санкт-Петербург", "США"]),
        ([("ЦБ", "ORG"), ("Центробанка", "ORG")], ["Банк России", "Банк России"]),
    ],
)
def test_name_forms(morph: object, mentions: list[tuple[str, str]], forms: list[str]) -> None:
    assert russian.name_forms(morph, mentions) == forms  # type: ignore[arg-type]


def test_places() -> None:
    assert russian.country_code("Россия") == "RU"
    assert russian.country_code("Соединённые Штаты Америки") == "US"
    assert russian.country_code("Венесуэла") == "VE"
    assert russian.place_label("Россия", "LOC") == "GPE"
    assert russian.place_label("Москва", "LOC") == "GPE"
    assert russian.place_label("Кремль", "LOC") == "ORG"
    assert russian.place_label("Арктика", "LOC") == "LOC"


def test_models_load_once() -> None:
    assert russian.load_models() is russian.load_models()


def test_russian_article(make_doc: MakeDoc, nlp: Language) -> None:
    result = enrich(make_doc(ARTICLE), nlp)
    assert (result.language, result.enricher.model) == ("ru", russian.MODEL_LABEL)
    assert result.language_confidence is not None and result.language_confidence > 0.9
    assert result.title == "Кремль поддержал Мадуро"
    assert (result.dateline_place, result.published_at) == ("МОСКВА", "XXXX-01-24")
    entities = {e.name: e for e in result.entities}
    assert entities["Владимир Путин"].label == "PERSON"
    assert [m.text for m in entities["Владимир Путин"].mentions] == [
        "Владимир Путин",
        "Путина",
        "Путина",
    ]
    assert entities["Николас Мадуро"].count == 4  # "Мадуро" in the title too
    assert entities["Россия"].ids == {"iso3166": "RU"}
    assert entities["Венесуэла"].ids == {"iso3166": "VE"}
    assert entities["Москва"].label == "GPE" and entities["Москва"].count == 2
    assert entities["Кремль"].label == "ORG"
    for entity in result.entities:
        for mention in entity.mentions:
            assert ARTICLE[mention.start : mention.end] == mention.text
            assert mention.sentence is not None
    by_text = {d.text: (d.value, d.source) for d in result.dates}
    assert by_text["24 января"] == ("XXXX-01-24", "dateline")
    assert by_text["декабре 2018 года"] == ("2018-12", "rule")
    assert by_text["в тот же день"] == (None, "rule")  # the reference is not a full date
    assert [link.url for link in result.links] == [
        "https://президент.рф",
        "https://t.me/kremlin_news",
    ]


def test_mixed_batch_keeps_order_and_routes_each_language(make_doc: MakeDoc, nlp: Language) -> None:
    documents = [
        make_doc(ARTICLE, published_at="2019-01-24"),
        make_doc("Vladimir Putin met Nicolas Maduro in Moscow on December 5, 2018."),
        make_doc("Путін зустрівся з Мадуро у Москві. Це означає, що їхні еліти бачать майбутнє."),
        make_doc("Сергей Лавров прилетел в Каракас 23 января."),
    ]
    results = enrich_batch(documents, nlp, batch_size=16)
    assert [r.language for r in results] == ["ru", "en", "uk", "ru"]
    assert results[1].enricher.model.startswith("en_core_web_sm")
    assert results[2].enricher.model == NO_MODEL and results[2].entities == []
    assert "Сергей Лавров" in {e.name for e in results[3].entities}
    assert results == [enrich(d, nlp) for d in documents]
    same_day = next(d for d in results[0].dates if d.text == "в тот же день")
    assert same_day.value == "2019-01-24"


@pytest.mark.parametrize(
    ("text", "without", "with_reference"),
    [
        ("28 января 2019 года", "2019-01-28", "2019-01-28"),
        ("28 января", "XXXX-01-28", "2019-01-28"),
        ("28-го января", "XXXX-01-28", "2019-01-28"),
        ("28.01.2019", "2019-01-28", "2019-01-28"),
        ("в марте 2018 года", "2018-03", "2018-03"),
        ("в 2018 году", "2018", "2018"),
        ("с 2014 по 2019 год", "2014/2019", "2014/2019"),
        ("в 2014–2019 годах", "2014/2019", "2014/2019"),
        ("между 2014 и 2019 годами", "2014/2019", "2014/2019"),
        ("с 1 по 5 марта 2019 года", "2019-03-01/2019-03-05", "2019-03-01/2019-03-05"),
        ("с января по март 2019 года", "2019-01/2019-03", "2019-01/2019-03"),
        ("весной 2018 года", "2018-SP", "2018-SP"),
        ("в 1990-е годы", "199X", "199X"),
        ("в XX веке", "19", "19"),
        ("в ХХ веке", "19", "19"),  # Cyrillic Х
        ("в сентябре", "XXXX-09", "2018-09"),
        ("в апреле", "XXXX-04", "2019-04"),  # within four months ahead
        ("в четвертом квартале", None, "2018-Q4"),
        ("к концу года", None, "2019"),
        ("сегодня", None, "2019-01-28"),
        ("вчера", None, "2019-01-27"),
        ("на прошлой неделе", None, "2019-W04"),
        ("в прошлом году", None, "2018"),
        ("прошлого года", None, "2018"),
        ("в прошлом месяце", None, "2018-12"),
        ("три года назад", None, "2016"),
        ("5 дней назад", None, "2019-01-23"),
        ("в понедельник", None, "2019-01-28"),
        ("в пятницу", None, "2019-01-25"),
        ("несколько лет назад", None, None),
    ],
)
def test_russian_dates(text: str, without: str | None, with_reference: str | None) -> None:
    assert normalise(text).value == without
    assert normalise(text, REF).value == with_reference


def test_russian_date_spans() -> None:
    text = "В 2014 и 2019 годах цены росли, а в XX веке падали."
    found = [(text[s:e], r.value) for s, e, r in find_dates(text, None)]
    # two years, not a range
    assert found == [("2014", "2014"), ("2019 годах", "2019"), ("XX веке", "19")]


def test_anchored_russian_dates() -> None:
    text = "Суд вынес решение 13 апреля 2018 года.\nЧерез три дня ведомство начало блокировку."
    found = [(text[s:e], r.value) for s, e, r in find_dates(text, REF)]
    assert found == [("13 апреля 2018 года", "2018-04-13"), ("Через три дня", "2018-04-16")]
    eve = "МОСКВА — Накануне, 23 января, он выступил."
    assert [(eve[s:e], r.value) for s, e, r in find_dates(eve, date(2019, 1, 24))] == [
        ("Накануне", "2019-01-23"),
        ("23 января", "2019-01-23"),
    ]
