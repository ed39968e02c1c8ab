"""Coverage-guided fuzzing of ``services.ingest.extract`` with atheris (libFuzzer).

    .venv/bin/python fuzz/atheris_extract.py -max_total_time=120 -timeout=10 corpus/

The first byte of each input picks the format (txt, md, html, pdf, docx, eml, json), the rest
is the file's content. An empty corpus folder is first filled with the valid samples of
tests/fuzz/seeds.py. Any exception other than ExtractionError, an ExtractionError from
extract's catch-all (a library error no format module anticipated), text over the limit or
not encodable, or a call slower than 5 s is reported as a crash, with the input saved as
``crash-<sha1>`` for libFuzzer to replay (run the script with that file as the argument).
Our modules and the stdlib e-mail package are instrumented; lxml and PDFium are C code that
libFuzzer cannot see into, so for them this is plain mutation fuzzing.

atheris ships Linux x86-64 wheels only (it is a dev dependency there, absent elsewhere).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import atheris

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

with atheris.instrument_imports(include=["services.ingest", "email", "json"]):
    from services.ingest.extract import ExtractionError, extract
    from services.ingest.formats import docx, eml, html, jsondoc, pdf, text  # noqa: F401

from tests.fuzz.seeds import FILENAMES, FORMATS, seeds  # noqa: E402

MAX_CHARS = 100_000
MAX_SECONDS = 5.0


def test_one_input(data: bytes) -> None:
    if not data:
        return
    fmt = FORMATS[data[0] % len(FORMATS)]
    started = time.perf_counter()
    try:
        result = extract(data[1:], FILENAMES[fmt], max_text_chars=MAX_CHARS)
    except ExtractionError as exc:
        if exc.message.startswith(f"cannot read the {fmt} file: "):
            raise AssertionError(f"unanticipated library error: {exc}") from exc
    else:
        if not result.text.strip() or len(result.text) > MAX_CHARS:
            raise AssertionError(f"bad text: {len(result.text)} characters")
        result.text.encode("utf-8")
        result.metadata.model_dump_json()
    elapsed = time.perf_counter() - started
    if elapsed > MAX_SECONDS:
        raise AssertionError(f"{fmt}: extract took {elapsed:.1f} s")


def _seed_corpus(argv: list[str]) -> None:
    """Write the valid samples into the corpus folder given on the command line, if empty."""
    folders = [Path(a) for a in argv[1:] if not a.startswith("-")]
    if not folders or folders[0].is_file():
        return
    corpus = folders[0]
    corpus.mkdir(parents=True, exist_ok=True)
    if any(corpus.iterdir()):
        return
    for index, fmt in enumerate(FORMATS):
        for n, sample in enumerate(seeds()[fmt]):
            (corpus / f"seed-{fmt}-{n}").write_bytes(bytes([index]) + sample)


def main() -> None:
    _seed_corpus(sys.argv)
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
