"""Headline sentence-casing, title/byline/dateline finding, language and word count."""

from __future__ import annotations

from services.enrich.document import (
    Zone,
    detect_language,
    find_byline,
    find_dateline,
    find_title,
    sentence_case,
    word_count,
)

BODY = "The Putin regime, SerpomPo says, sees in Venezuela a warning; the Telegram Channel agrees."


def test_sentence_case_keeps_names_the_body_capitalises() -> None:
    title = "Putin Elites See in Venezuela Their Own Future, SerpomPo Telegram Channel Says"
    cased = sentence_case(title, BODY)
    assert cased == "Putin elites see in Venezuela their own future, SerpomPo Telegram Channel says"
    assert len(cased) == len(title)


def test_sentence_case_keeps_acronyms_and_first_word() -> None:
    assert sentence_case("Why NATO Fears The Coming Winter", "nothing") == (
        "Why NATO fears the coming winter"
    )


def test_sentence_case_leaves_sentence_case_alone() -> None:
    title = "Putin elites see their own future in Venezuela"
    assert sentence_case(title, BODY) == title


def test_sentence_case_of_an_all_caps_headline() -> None:
    assert sentence_case("PUTIN FEARS VENEZUELA", BODY) == "Putin fears Venezuela"


def test_find_title_from_metadata_and_by_shape() -> None:
    text = "Putin Elites See Their Future\n\nPaul Goble\n\nStaunton, January 28 – Text."
    assert find_title(text, "Putin Elites See Their Future") == Zone(0, 29)
    assert find_title(text, None) == Zone(0, 29)
    assert find_title(text, "A title that is not in the text") is None
    assert find_title("This is an ordinary sentence.\n\nAnd another one.", None) is None
    assert find_title("the first line is lower case\n\nbody", None) is None


def test_find_byline() -> None:
    text = "Putin Elites See Their Future\n\nBy Paul Goble\n\nStaunton, January 28 – Text."
    zone = Zone(text.index("Paul"), text.index("Paul") + len("Paul Goble"))
    assert find_byline(text, "Paul Goble", 29) == zone
    assert find_byline(text, None, 29) == zone
    assert find_byline(text, "Someone Else", 29) is None
    assert find_byline("Title Line Here\n\nStaunton, January 28 – Text.", None, 15) is None


def test_find_dateline_from_metadata_or_text() -> None:
    text = "Title Line Here\n\n   STAUNTON, Jan. 28, 2019 (Reuters) - The regime acted."
    found = find_dateline(text, None, None, 15)
    assert found is not None
    assert (found.place, found.date_text) == ("STAUNTON", "Jan. 28, 2019")
    assert text[found.zone.start : found.zone.end] == "STAUNTON, Jan. 28, 2019 (Reuters) -"
    given = find_dateline(text, "STAUNTON, Jan. 28, 2019 (Reuters) -", "Staunton", 15)
    assert given is not None and given.place == "Staunton"
    assert find_dateline("No dateline here, just prose – really.", None, None, 0) is None


def test_language_detection() -> None:
    english = "The regime is not coming to the defense of the dictator because it fears the people."
    assert detect_language(english)[0] == "en"
    russian = "Путинские элиты видят в Венесуэле своё собственное будущее, пишет телеграм-канал."
    language, confidence = detect_language(russian)
    assert language == "ru" and confidence is not None and confidence > 0.9
    ukrainian = "Це означає, що їхні еліти бачать у Венесуелі своє майбутнє і бояться його."
    assert detect_language(ukrainian)[0] == "uk"
    german = "Die Eliten sehen in Venezuela ihre eigene Zukunft, schreibt der Kanal."
    assert detect_language(german) == (None, None)
    assert detect_language("12 34") == (None, None)


def test_word_count() -> None:
    assert word_count("Don't count U.S. twice: 2014-2019 is one, (t.me) too.") == 9
    assert word_count("") == 0
