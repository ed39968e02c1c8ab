"""Plain text and Markdown: decoding (UTF-8, Cyrillic code pages), binary refusal, layout."""

from __future__ import annotations

import pickle
import random
from pathlib import Path

import pytest

from services.ingest.extract import SUPPORTED_SUFFIXES, ExtractionError, extract, media_type_for
from services.ingest.formats.dateline import parse_dateline
from services.ingest.formats.text import byline_author

RUSSIAN = (
    "Москва, 28 января - Путинский режим поддерживает венесуэльского диктатора не потому, "
    "что видит в этой стране источник дохода. Кремль боится, что если оппозиция добьется "
    "успеха, то же самое может произойти и в России. Об этом сообщает телеграм-канал "
    '"Серпом по", и с ним трудно не согласиться.'
)
RUSSIAN_TITLE = "Путинские элиты видят в Венесуэле свое будущее"


def reason_of(data: bytes, filename: str, **kwargs: int) -> str:
    with pytest.raises(ExtractionError) as info:
        extract(data, filename, **kwargs)
    assert info.value.message  # every refusal explains itself
    return info.value.reason


def test_sample_article_layout(sample_article: Path) -> None:
    result = extract(sample_article.read_bytes(), sample_article.name)
    meta = result.metadata
    assert result.media_type == "txt"
    assert result.encoding == "utf-8"
    assert meta.title == (
        "Putin Elites See in Venezuela Their Own Future, SerpomPo Telegram Channel Says"
    )
    assert meta.author == "Paul Goble"
    assert meta.dateline_place == "Staunton"
    assert meta.dateline_text == "Staunton, January 28 –"
    assert meta.published_at == "XXXX-01-28"
    assert meta.published_at_source == "dateline"
    assert "t.me/SerpomPo/2527" in result.text
    # Offsets are computed on this text later: the paragraph indentation is kept as written.
    paragraph = sample_article.read_text(encoding="utf-8").split("\n")[4]
    assert paragraph.rstrip() in result.text
    assert result.text == result.text.strip()


@pytest.mark.parametrize("encoding", ["cp1251", "koi8-r"])
def test_russian_code_pages_decode_exactly(encoding: str) -> None:
    original = f"{RUSSIAN_TITLE}\n\n{RUSSIAN}"
    result = extract(original.encode(encoding), "statya.txt")
    assert result.text == original
    assert result.encoding == encoding
    assert result.metadata.title == RUSSIAN_TITLE
    assert result.metadata.dateline_place == "Москва"
    assert result.metadata.published_at == "XXXX-01-28"


@pytest.mark.parametrize("encoding", ["cp1251", "koi8-r", "mac-cyrillic", "cp866", "iso8859-5"])
@pytest.mark.parametrize(
    "text",
    [
        "Привет, мир! Это короткий текст.",  # charset_normalizer alone calls KOI8-R Shift-JIS
        "Съешь же ещё этих мягких французских булок, да выпей чаю.",
        "ВНИМАНИЕ! Сегодня в Москве ожидается сильный ветер и дождь.",
    ],
)
def test_short_russian_text_in_any_cyrillic_code_page(encoding: str, text: str) -> None:
    assert extract(text.encode(encoding), "short.txt").text == text


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("Le gouvernement français a annoncé mercredi des mesures très attendues.", "cp1252"),
        ("Η Αθήνα είναι η πρωτεύουσα της Ελλάδας και η μεγαλύτερη πόλη της χώρας.", "cp1253"),
        ("הממשלה הודיעה ביום רביעי על צעדים כלכליים חדשים שיכנסו לתוקף בחודש הבא.", "cp1255"),
    ],
)
def test_other_scripts_are_not_mistaken_for_cyrillic(text: str, encoding: str) -> None:
    assert extract(text.encode(encoding), "other.txt").text == text


def test_utf8_bom_and_crlf_are_normalised() -> None:
    data = "\ufeffTitle\r\n\r\nFirst line\r\nsecond line\rthird.\r\n".encode()
    result = extract(data, "notes.TXT")
    assert result.text == "Title\n\nFirst line\nsecond line\nthird."
    assert result.encoding == "utf-8-sig"


def test_utf16_with_bom_is_text() -> None:
    result = extract("Заголовок\n\nТекст статьи.".encode("utf-16"), "u16.txt")
    assert result.text == "Заголовок\n\nТекст статьи."


def test_empty_and_blank_files() -> None:
    assert reason_of(b"", "a.txt") == "empty"
    assert reason_of(b" \n\t\r\n  ", "a.txt") == "empty"
    assert reason_of("\u00a0\u2003\n".encode(), "a.md") == "empty"  # Unicode spaces only


def test_binary_junk_named_txt() -> None:
    junk = random.Random(1).randbytes(4096)
    assert reason_of(junk, "junk.txt") == "binary"
    assert reason_of(b"some text\x00\x00\x01 more text" * 20, "nul.txt") == "binary"
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + random.Random(2).randbytes(200)
    assert reason_of(png, "image.txt") == "binary"
    assert reason_of(b"PK\x03\x04" + b"x" * 100, "archive.md") == "binary"


def test_high_bytes_without_controls_still_need_a_plausible_encoding() -> None:
    # Random bytes above 0x7f contain no control bytes: decoded or refused, never a crash.
    junk = bytes(random.Random(3).randrange(0x80, 0x100) for _ in range(2000))
    try:
        result = extract(junk, "high.txt")
    except ExtractionError as exc:
        assert exc.reason in {"binary", "undecodable"}
    else:
        assert result.text


def test_too_long() -> None:
    assert reason_of(b"word " * 100, "long.txt", max_text_chars=50) == "too_long"
    assert extract(b"word " * 10, "ok.txt", max_text_chars=50).text == ("word " * 10).strip()


def test_unsupported_suffix() -> None:
    assert reason_of(b"a,b\n1,2\n", "table.csv") == "unsupported"
    assert reason_of(b"data", "README") == "unsupported"


def test_media_type_for() -> None:
    assert media_type_for("REPORT.PDF") == "pdf"
    assert media_type_for("page.htm") == "html"
    assert media_type_for("dir.v2/notes.md") == "md"
    assert media_type_for("archive.tar.gz") is None
    assert media_type_for("noext") is None
    assert {".txt", ".md", ".html", ".htm", ".pdf", ".docx", ".eml", ".json"} == SUPPORTED_SUFFIXES


def test_markdown_front_matter_heading_and_byline() -> None:
    md = (
        "---\n"
        'title: "Elites and Venezuela"\n'
        "author: Paul Goble\n"
        "date: 2019-01-28\n"
        "lang: en\n"
        "tags: russia\n"
        "---\n"
        "# A Heading That Is Not The Title\n\n"
        "Staunton, January 28 – The regime is worried.\n"
    )
    result = extract(md.encode(), "post.md")
    meta = result.metadata
    assert result.text.startswith("# A Heading")  # front matter is metadata, not text
    assert meta.title == "Elites and Venezuela"
    assert meta.author == "Paul Goble"
    assert meta.published_at == "2019-01-28"
    assert meta.published_at_source == "metadata"
    assert meta.language == "en"
    assert meta.extra == {"tags": "russia"}
    assert meta.dateline_place == "Staunton"  # the dateline is still found


def test_markdown_heading_is_the_title_and_emphasised_byline_the_author() -> None:
    md = "## The Kremlin's Fear ##\n\n*By Jane van Dyke*\n\nMOSCOW, Jan. 28 (Reuters) - Text."
    meta = extract(md.encode(), "post.md").metadata
    assert meta.title == "The Kremlin's Fear"
    assert meta.author == "Jane van Dyke"
    assert meta.dateline_place == "Moscow"
    assert meta.dateline_text == "MOSCOW, Jan. 28 (Reuters) -"
    assert meta.published_at == "XXXX-01-28"


def test_a_sentence_after_the_title_is_not_a_byline() -> None:
    text = "A Title\n\nThe regime is worried.\n\nMore text follows here."
    meta = extract(text.encode(), "a.txt").metadata
    assert meta.title == "A Title"
    assert meta.author is None
    assert meta.published_at is None


@pytest.mark.parametrize(
    ("line", "author"),
    [
        ("Paul Goble", "Paul Goble"),
        ("By John R. Smith", "John R. Smith"),
        ("by Jean-Paul O'Brien and Mary Major", "Jean-Paul O'Brien and Mary Major"),
        ("Павел Гобл", "Павел Гобл"),
        ("Goble", None),  # one word
        ("Putin is worried.", None),  # a sentence
        ("This is the first paragraph of the story", None),  # lower-case words
        ("One Two Three Four Five Six", None),  # too many words
    ],
)
def test_byline(line: str, author: str | None) -> None:
    assert byline_author(line) == author


@pytest.mark.parametrize(
    ("line", "place", "text", "published_at"),
    [
        ("Staunton, January 28 – The", "Staunton", "Staunton, January 28 –", "XXXX-01-28"),
        (
            "Staunton, January 28, 2019 – X",
            "Staunton",
            "Staunton, January 28, 2019 –",
            "2019-01-28",
        ),
        ("MOSCOW, Jan. 28 (Reuters) - X", "Moscow", "MOSCOW, Jan. 28 (Reuters) -", "XXXX-01-28"),
        (
            "WASHINGTON, D.C., Feb. 29 — X",
            "Washington",
            "WASHINGTON, D.C., Feb. 29 —",
            "XXXX-02-29",
        ),
        ("London, 28 January 2019 - X", "London", "London, 28 January 2019 -", "2019-01-28"),
        (
            "ST. PETERSBURG, Sept. 3 -- X",
            "St. Petersburg",
            "ST. PETERSBURG, Sept. 3 --",
            "XXXX-09-03",
        ),
        ("Москва, 28 января – Путин", "Москва", "Москва, 28 января –", "XXXX-01-28"),
        ("МОСКВА, 28 января. /ТАСС/. X", "Москва", "МОСКВА, 28 января. /ТАСС/.", "XXXX-01-28"),
        ("Ростов-на-Дону, 3 марта 2020 г. — X", "Ростов-на-Дону", None, "2020-03-03"),
        ("MOSCOW (AP) — Russia said", "Moscow", "MOSCOW (AP) —", None),
    ],
)
def test_dateline_forms(line: str, place: str, text: str | None, published_at: str | None) -> None:
    found = parse_dateline(line)
    assert found is not None
    assert found.place == place
    assert found.text == (text or line[: line.index("—") + 1])
    assert found.published_at == published_at


@pytest.mark.parametrize(
    "line",
    [
        "Staunton, February 30 – no such day",
        "Staunton, February 29, 2019 – not a leap year",
        "The report, January 28 – lower-case words are not a place",
        "In January 28 people came.",
        "Moscow - no date and no agency",
    ],
)
def test_not_a_dateline(line: str) -> None:
    assert parse_dateline(line) is None


def test_every_suffix_refuses_random_bytes_with_extraction_error_only() -> None:
    rng = random.Random(4)
    for suffix in sorted(SUPPORTED_SUFFIXES):
        for size in (1, 7, 300, 5000):
            try:
                extract(rng.randbytes(size), f"fuzz{suffix}")
            except ExtractionError as exc:
                assert exc.reason and exc.message


def test_extraction_error_survives_pickling() -> None:
    error = pickle.loads(pickle.dumps(ExtractionError("binary", "not text")))
    assert (error.reason, error.message, str(error)) == ("binary", "not text", "binary: not text")
