"""Turning the bytes of a text file into str: binary sniffing and charset detection.

UTF-8 is tried first because a strict UTF-8 decode almost never succeeds by accident.
Anything else goes to ``charset_normalizer``, whose guesses between the Cyrillic code pages
(Windows-1251, KOI8-R, Mac Cyrillic, CP866, ISO 8859-5) are unreliable on short text, so
whenever the bytes look like Cyrillic we re-rank those code pages by how Russian-like the
decoded letters are and how few stray symbols they produce.
"""

from __future__ import annotations

import codecs
import math
import unicodedata
from dataclasses import dataclass

from charset_normalizer import from_bytes

from services.ingest.formats._common import ExtractionError

# File signatures of formats that are never plain text, whatever the file is called.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (docx, xlsx, odt...)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7z archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an OLE file (doc, xls, msg)"),
    (b"\x7fELF", "an executable"),
    (b"MZ\x90\x00", "an executable"),
    (b"RIFF", "a RIFF media file"),
    (b"OggS", "an Ogg media file"),
    (b"ID3", "an MP3 file"),
    (b"fLaC", "a FLAC file"),
    (b"wOFF", "a web font"),
    (b"\x00\x00\x01\x00", "an icon"),
    (b"SQLite format 3\x00", "an SQLite database"),
)

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

# C0 controls that do not occur in text files (tab, LF, VT, FF, CR and ESC are allowed).
_CONTROL_BYTES = frozenset(set(range(0x01, 0x09)) | {0x0E, 0x0F} | set(range(0x10, 0x1B)))
_CONTROL_BYTES = _CONTROL_BYTES | {0x1C, 0x1D, 0x1E, 0x1F, 0x7F}
_CONTROL_DELETE = bytes(sorted(_CONTROL_BYTES))  # for bytes.translate: counting in C
_SNIFF_BYTES = 65536
_MAX_CONTROL_SHARE = 0.005

_CYRILLIC_CODEPAGES = ("cp1251", "koi8-r", "koi8-u", "mac-cyrillic", "cp866", "iso8859-5")
_CYRILLIC_FAMILY = frozenset(
    {*_CYRILLIC_CODEPAGES, "koi8-t", "cp1125", "cp855", "ptcp154", "kz1048"}
)
# Russian letter frequencies (per cent), for ranking candidate decodings.
_RU_FREQ = {
    "о": 10.97, "е": 8.45, "а": 8.01, "и": 7.35, "н": 6.70, "т": 6.26, "с": 5.47,
    "р": 4.73, "в": 4.54, "л": 4.40, "к": 3.49, "м": 3.21, "д": 2.98, "п": 2.81,
    "у": 2.62, "я": 2.01, "ы": 1.90, "ь": 1.74, "г": 1.70, "з": 1.65, "б": 1.59,
    "ч": 1.44, "й": 1.21, "х": 0.97, "ж": 0.94, "ш": 0.73, "ю": 0.64, "ц": 0.48,
    "щ": 0.36, "э": 0.32, "ф": 0.26, "ъ": 0.04, "ё": 0.04,
}  # fmt: skip
_RU_LOGP = {c: -math.log(f / 100.0) for c, f in _RU_FREQ.items()}
# Ukrainian and Belarusian letters are common enough; Serbian/Macedonian ones (ђ, љ, ћ...)
# are what Windows-1251 makes of another code page's capitals, so they count as rare.
_SLAVIC_LOGP = {c: -math.log(0.01) for c in "іїєґў"}
_OTHER_CYRILLIC_LOGP = -math.log(0.0005)
# Punctuation that Russian text in a Cyrillic code page commonly contains.
_PLAIN_PUNCT = frozenset("«»–—…“”„‘’№°·•\u00a0")
_ODD_PENALTY = 4.0
# Cyrillic letters must dominate before a non-Cyrillic guess is overruled...
_MIN_CYRILLIC_SHARE = 0.6
_MIN_CYRILLIC_LETTERS = 8
# ...read like Russian: real Russian scores about 3.0 (nats per letter), a random
# permutation of the alphabet (a wrong code page) 3.9 or more...
_MAX_RUSSIAN_SCORE = 3.6
# ...and be mostly lower case, as prose is: Hebrew or Greek bytes read as KOI8-R come out
# as capitals.
_MIN_LOWER_SHARE = 0.5


def sniff_binary(data: bytes) -> None:
    """Raise ``binary`` for bytes that are clearly not a text file (signatures, NULs, controls)."""
    for magic, what in _MAGIC:
        if data.startswith(magic):
            raise ExtractionError("binary", f"the file is {what}, not text")
    if any(data.startswith(bom) for bom, enc in _BOMS if enc.startswith(("utf-16", "utf-32"))):
        return
    head = data[:_SNIFF_BYTES]
    if b"\x00" in head:
        raise ExtractionError("binary", "the file contains NUL bytes: binary data, not text")
    controls = len(head) - len(head.translate(None, _CONTROL_DELETE))
    if controls > max(2, _MAX_CONTROL_SHARE * len(head)):
        raise ExtractionError(
            "binary", f"{controls} control bytes in the first {len(head)}: binary data, not text"
        )


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode a text file's bytes; return ``(text, encoding)`` or raise ``undecodable``.

    Does not sniff for binary data: call ``sniff_binary`` first.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError as exc:
                raise ExtractionError(
                    "undecodable", f"the file starts with a {encoding} BOM but is not {encoding}"
                ) from exc
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    return _detect(data)


def _detect(data: bytes) -> tuple[str, str]:
    try:
        matches = from_bytes(data)
    except Exception as exc:  # charset_normalizer is not expected to fail; never leak it
        raise ExtractionError("undecodable", f"charset detection failed: {exc}") from exc
    best = matches.best()
    guesses = [_canonical(m.encoding) for m in matches]
    best_name = _canonical(best.encoding) if best is not None else None

    for encoding, score in _rank_cyrillic(data, guesses):
        if best_name in _CYRILLIC_FAMILY or (
            score.share >= _MIN_CYRILLIC_SHARE
            and score.score <= _MAX_RUSSIAN_SCORE
            and score.lower_share >= _MIN_LOWER_SHARE
        ):
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError:
                continue  # the sample decoded, a later byte does not: try the next
    if best is None or best_name is None:
        raise ExtractionError(
            "undecodable", "the text is not UTF-8 and its encoding could not be detected"
        )
    try:
        return data.decode(best_name), best_name
    except (UnicodeDecodeError, LookupError) as exc:
        raise ExtractionError(
            "undecodable", f"the text does not decode as the detected {best_name}"
        ) from exc


def _canonical(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return name


def _rank_cyrillic(data: bytes, guesses: list[str]) -> list[tuple[str, RussianScore]]:
    """The Cyrillic code pages that decode the text's start, most Russian-looking first."""
    if sum(1 for byte in data[:_SNIFF_BYTES] if byte >= 0x80) < _MIN_CYRILLIC_LETTERS:
        return []
    # Scoring a sample keeps this linear-time detail cheap on megabyte files.
    sample = data[:_SNIFF_BYTES]
    candidates = [*_CYRILLIC_CODEPAGES]
    candidates += [g for g in guesses if g in _CYRILLIC_FAMILY and g not in candidates]
    ranked: list[tuple[str, RussianScore]] = []
    for encoding in candidates:
        try:
            text = sample.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        scored = russian_score(text)
        if scored is not None:
            ranked.append((encoding, scored))
    # A stable sort: ties (same text) keep the more common code page, cp866 before cp1125.
    ranked.sort(key=lambda item: item[1].score)
    return ranked


@dataclass(frozen=True)
class RussianScore:
    """How Russian a decoding reads: ``score`` is lower for more plausible text."""

    score: float
    share: float  # Cyrillic letters among all letters
    lower_share: float  # lower-case letters among the Cyrillic ones


_GLUE = frozenset("-'’.")  # may sit between two letters of a word


def russian_score(text: str) -> RussianScore | None:
    """Score a decoding by Russian letter frequencies and the debris of a wrong code page.

    The score is the mean surprise of each Cyrillic letter under Russian letter frequencies,
    plus a penalty for every stray symbol, symbol glued inside a word or mid-word capital,
    all typical of the wrong code page. None when there are too few Cyrillic letters to judge.
    """
    letters = cyrillic = lower = odd = 0
    surprise = 0.0
    for index, char in enumerate(text):
        previous = text[index - 1] if index else " "
        if char.isalpha():
            letters += 1
            low = char.lower()
            if "\u0400" <= low <= "\u04ff":
                cyrillic += 1
                lower += char == low
                surprise += _RU_LOGP.get(low) or _SLAVIC_LOGP.get(low, _OTHER_CYRILLIC_LOGP)
                if char != low and previous.isalpha() and previous.islower():
                    odd += 1
            elif not low.isascii():
                odd += 1
        elif char.isascii():
            if unicodedata.category(char) == "Cc" and char not in "\t\n\r\f":
                odd += 1
        elif char not in _PLAIN_PUNCT:
            odd += 1
        elif (
            previous.isalpha()
            and index + 1 < len(text)
            and text[index + 1].isalpha()
            and char not in _GLUE
        ):
            odd += 1  # "Љи»в": a quote mark inside a word
    if cyrillic < _MIN_CYRILLIC_LETTERS:
        return None
    return RussianScore(
        score=surprise / cyrillic + _ODD_PENALTY * odd / cyrillic,
        share=cyrillic / letters,
        lower_share=lower / cyrillic,
    )
