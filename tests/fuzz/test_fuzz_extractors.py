"""Property fuzzing of the extractors: mutated valid files never crash or hang ``extract``.

For every format, valid seeds (tests/fuzz/seeds.py) are mutated: bytes flipped, cut, inserted,
deleted, spliced, format tokens dropped in, or replaced by random bytes. Whatever comes out,
``extract`` must return non-empty text within the limit, or raise ExtractionError with a
known reason, not through the catch-all for library errors nobody anticipated, and within
``_MAX_SECONDS``.

Profiles (environment ``DROPWIRE_FUZZ_PROFILE``):

* ``ci`` (default): 60 examples per format, derandomized, so the suite is repeatable.
* ``long``: many random examples, failures kept in .dropwire/hypothesis; ``scripts/fuzz``
  runs it for a given number of minutes (``DROPWIRE_FUZZ_UNTIL`` ends it on time).
"""

from __future__ import annotations

import json
import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase

from services.ingest.extract import Extracted, ExtractionError, extract
from tests.fuzz.seeds import FILENAMES, docx_part, rezip, seeds

_MAX_SECONDS = 5.0
_SUPPRESSED = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]
settings.register_profile(
    "ci",
    max_examples=60,
    derandomize=True,
    database=None,
    deadline=_MAX_SECONDS * 1000,
    suppress_health_check=_SUPPRESSED,
    print_blob=True,
)
settings.register_profile(
    "long",
    max_examples=int(os.environ.get("DROPWIRE_FUZZ_EXAMPLES", "2000")),
    derandomize=False,
    database=DirectoryBasedExampleDatabase(
        Path(__file__).resolve().parents[2] / ".dropwire" / "hypothesis"
    ),
    deadline=_MAX_SECONDS * 1000,
    suppress_health_check=_SUPPRESSED,
    print_blob=True,
)
PROFILE = os.environ.get("DROPWIRE_FUZZ_PROFILE", "ci")
fuzz_settings = settings(settings.get_profile(PROFILE))
# scripts/fuzz: examples drawn after this time (epoch seconds) are skipped, so a run ends
# on time without a failure.
_UNTIL = float(os.environ.get("DROPWIRE_FUZZ_UNTIL", "inf"))

KNOWN_REASONS = frozenset(
    {"unsupported", "empty", "binary", "undecodable", "no_text", "too_long", "too_large"}
    | {"corrupt_pdf", "encrypted", "corrupt_docx", "unsafe_xml", "invalid_email", "invalid_json"}
)

# Tokens worth inserting: the constructs each parser branches on.
TOKENS: dict[str, tuple[bytes, ...]] = {
    "txt": (b"\n", b"\r\n", b"\xef\xbb\xbf", b"\xff\xfe", b"\x00", b"\xd0", b"\xe2\x80", b" -- "),
    "md": (b"---\n", b"\n---\n", b"# ", b"title: ", b"date: 2019-13-45\n", b"*", b"===\n"),
    "html": (
        b"<!--", b"<a ", b"</", b"<!", b"<?xml version='1.0' encoding='utf-8'?>", b"&#x",
        b"<script>", b"<title>", b"<meta charset=utf-16>", b'<html lang="', b"<![CDATA[",
        b'<!DOCTYPE x [<!ENTITY a "aaaa">]>', b"&a;", b"<div>" * 50,
    ),
    "pdf": (
        b"obj", b"endobj", b"stream\n", b"endstream", b"/Length 999999999", b"<<", b">>",
        b"/Type /Pages", b"/Kids [", b"/Count 99999", b"xref", b"trailer", b"%%EOF",
        b"/Encrypt", b"(", b")", b"\\", b"BT /F1 12 Tf (x) Tj ET", b"/Filter /FlateDecode",
    ),
    "docx": (
        b"<w:p>", b"</w:p>", b"<w:r>", b"<w:t>", b"</w:t>", b"<w:tab/>", b'<w:br w:type="x"/>',
        b"<w:tbl><w:tr><w:tc>", b"<w:hyperlink>", b"<!DOCTYPE w [<!ENTITY a 'b'>]>", b"&a;",
        b"&amp;", b"\x00", b"<?xml version='1.0' encoding='utf-16'?>",
    ),
    "eml": (
        b"\n", b"\n\n", b"Content-Type: multipart/mixed; boundary=x\n", b"--x\n", b"--x--\n",
        b"=?utf-8?b?", b"=?x-unknown?q?a?=", b'"', b"(", b"<", b"@", b",",
        b"Content-Transfer-Encoding: base64\n", b"charset=utf-7", b"Date: 99 Foo 0\n",
    ),
    "json": (
        b"{", b"}", b"[", b"]", b'"', b"\\u", b"\\ud800", b"1e999999", b"9" * 5000, b"null",
        b'"text":', b",", b"[" * 2000,
    ),
}  # fmt: skip

COUNTS: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _write_stats() -> Iterator[None]:
    """Executions per format, appended to ``DROPWIRE_FUZZ_STATS`` when set (scripts/fuzz)."""
    yield
    path = os.environ.get("DROPWIRE_FUZZ_STATS")
    if path and COUNTS:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(dict(COUNTS)) + "\n")
    COUNTS.clear()


@st.composite
def mutated(draw: st.DrawFn, base: bytes, tokens: tuple[bytes, ...]) -> bytes:
    """``base`` after a few random edits (a seeded Random keeps the draws small)."""
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(("flip", "cut", "insert", "delete", "splice", "token", "tail")))
        at = rng.randrange(len(data) + 1)
        if op == "flip" and data:
            at = min(at, len(data) - 1)
            data[at] ^= 1 << rng.randrange(8)
        elif op == "cut":
            del data[at:]
        elif op == "insert":
            data[at:at] = rng.randbytes(rng.randrange(1, 64))
        elif op == "delete":
            del data[at : at + rng.randrange(1, 256)]
        elif op == "splice" and data:
            start = rng.randrange(len(data))
            chunk = data[start : start + rng.randrange(1, 512)]
            data[at:at] = chunk * rng.randrange(1, 20)
        elif op == "token":
            data[at:at] = rng.choice(tokens) * rng.choice((1, 1, 1, 3, 100))
        elif op == "tail":  # keeps a PDF's trailer or a zip's directory while damaging the end
            data[-rng.randrange(1, 64) :] = rng.randbytes(rng.randrange(0, 64))
    return bytes(data)


def inputs(fmt: str) -> st.SearchStrategy[bytes]:
    tokens = TOKENS[fmt]
    from_seeds = st.sampled_from(seeds()[fmt]).flatmap(lambda base: mutated(base, tokens))
    options = [from_seeds, from_seeds, from_seeds, st.binary(max_size=2048)]
    if fmt == "docx":  # also damage the XML inside an intact archive, where python-docx reads
        options.append(
            st.sampled_from(seeds()["docx"]).flatmap(
                lambda base: mutated(docx_part(base), tokens).map(
                    lambda xml: rezip(base, "word/document.xml", xml)
                )
            )
        )
    return st.one_of(options)


def check(data: bytes, fmt: str, max_chars: int) -> None:
    """The property: a document within limits, or ExtractionError with a known reason."""
    if time.time() > _UNTIL:
        return
    COUNTS[fmt] += 1
    started = time.perf_counter()
    try:
        result = extract(data, FILENAMES[fmt], max_text_chars=max_chars)
    except ExtractionError as exc:
        assert exc.reason in KNOWN_REASONS, exc
        assert exc.message
        # extract's catch-all: a library error the format module did not anticipate.
        assert not exc.message.startswith(f"cannot read the {fmt} file: "), exc
    else:
        assert isinstance(result, Extracted)
        assert result.media_type == fmt
        assert result.text.strip()
        assert len(result.text) <= max_chars
        result.text.encode("utf-8")  # no lone surrogates: the text must go over the wire
        result.metadata.model_dump_json()
    elapsed = time.perf_counter() - started
    assert elapsed < _MAX_SECONDS, f"extract took {elapsed:.1f} s"


_max_chars = st.sampled_from((2_000_000, 2_000_000, 100))


@fuzz_settings
@given(data=inputs("txt"), max_chars=_max_chars)
def test_fuzz_txt(data: bytes, max_chars: int) -> None:
    check(data, "txt", max_chars)


@fuzz_settings
@given(data=inputs("md"), max_chars=_max_chars)
def test_fuzz_md(data: bytes, max_chars: int) -> None:
    check(data, "md", max_chars)


@fuzz_settings
@given(data=inputs("html"), max_chars=_max_chars)
def test_fuzz_html(data: bytes, max_chars: int) -> None:
    check(data, "html", max_chars)


@fuzz_settings
@given(data=inputs("pdf"), max_chars=_max_chars)
def test_fuzz_pdf(data: bytes, max_chars: int) -> None:
    check(data, "pdf", max_chars)


@fuzz_settings
@given(data=inputs("docx"), max_chars=_max_chars)
def test_fuzz_docx(data: bytes, max_chars: int) -> None:
    check(data, "docx", max_chars)


@fuzz_settings
@given(data=inputs("eml"), max_chars=_max_chars)
def test_fuzz_eml(data: bytes, max_chars: int) -> None:
    check(data, "eml", max_chars)


@fuzz_settings
@given(data=inputs("json"), max_chars=_max_chars)
def test_fuzz_json(data: bytes, max_chars: int) -> None:
    check(data, "json", max_chars)


@pytest.mark.parametrize("fmt", sorted(FILENAMES))
def test_seeds_are_valid(fmt: str) -> None:
    """Every seed extracts: mutations start from files the extractors accept."""
    for data in seeds()[fmt]:
        assert extract(data, FILENAMES[fmt]).text.strip()
