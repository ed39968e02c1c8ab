"""The extraction sandbox with real child processes: a parser that hangs, eats memory or
dies costs its own file, never the ingest loop."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator

import pytest
import redis.asyncio as aioredis
from fpdf import FPDF

from services.ingest import sandbox
from services.ingest.extract import extract
from services.ingest.formats._common import ExtractionError
from services.ingest.ingestor import Ingestor
from services.ingest.publisher import RawPublisher
from shared.settings import Settings
from shared.streams import ensure_groups
from tests import sandbox_targets

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def fresh_sandbox() -> Iterator[None]:
    sandbox.shutdown()
    yield
    sandbox.shutdown()


def test_a_hanging_parser_is_stopped_and_the_next_call_gets_a_new_child() -> None:
    first = sandbox.run_limited(sandbox_targets.child_pid, timeout=30, memory_mb=0)
    assert first != os.getpid()
    started = time.monotonic()
    with pytest.raises(ExtractionError) as caught:
        sandbox.run_limited(sandbox_targets.sleep, 60, timeout=0.5, memory_mb=0)
    assert caught.value.reason == "timeout"
    assert "DROPWIRE_EXTRACT_TIMEOUT_SECONDS" in caught.value.message
    assert time.monotonic() - started < 30  # stopped, not waited out
    second = sandbox.run_limited(sandbox_targets.child_pid, timeout=30, memory_mb=0)
    assert second not in (first, os.getpid())


def test_a_parser_over_its_memory_limit_fails_the_file() -> None:
    with pytest.raises(ExtractionError) as caught:
        sandbox.run_limited(sandbox_targets.allocate, 2048, timeout=60, memory_mb=512)
    assert caught.value.reason == "too_large"
    assert sandbox.run_limited(sandbox_targets.allocate, 16, timeout=60, memory_mb=512) > 0


def test_a_crashing_parser_fails_the_file() -> None:
    with pytest.raises(ExtractionError) as caught:
        sandbox.run_limited(sandbox_targets.die, 3, timeout=30, memory_mb=0)
    assert caught.value.reason == "parser_crashed"
    assert "exit code 3" in caught.value.message


def test_the_parsers_own_errors_and_results_come_back_whole() -> None:
    with pytest.raises(ExtractionError) as caught:
        sandbox.run_limited(extract, b"%PDF-1.4 not really", "x.pdf", timeout=60, memory_mb=0)
    assert caught.value.reason == "corrupt_pdf"
    html = b"<html><head><title>Caracas</title></head><body><p>Oil talks.</p></body></html>"
    got = sandbox.run_limited(extract, html, "page.html", timeout=60, memory_mb=0)
    assert got == extract(html, "page.html")


def many_pages_pdf(pages: int, lines: int = 60) -> bytes:
    """A valid PDF whose ``pages`` pages share one content stream of ``lines`` text lines:
    quick to build, slow to extract (PDFium reads every page's text)."""
    text = "Vladimir Putin spoke in Moscow about Venezuela and oil prices."
    ops = ["BT /F1 8 Tf 10 TL 20 820 Td"] + [f"({text}) '" for _ in range(lines)] + ["ET"]
    content = "\n".join(ops).encode()
    first_page = 5
    kids = " ".join(f"{first_page + i} 0 R" for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    ] + [
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 3 0 R >> >> /Contents 4 0 R >>"
    ] * pages
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _pdf(text: str) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())


async def test_ingest_fails_a_file_whose_extraction_runs_out_of_time_and_goes_on(
    settings: Settings, redis_client: aioredis.Redis
) -> None:
    """2,000 pages take PDFium seconds to read here; the limit is half a second."""
    await ensure_groups(redis_client, settings.streams)
    hasty = settings.model_copy(
        update={"extract_timeout_seconds": 0.5, "max_text_chars": 50_000_000}
    )
    ingestor = Ingestor(hasty, RawPublisher(redis_client, hasty.streams))
    slow, fine = settings.inbox / "slow.pdf", settings.inbox / "fine.txt"
    slow.write_bytes(many_pages_pdf(2000))
    fine.write_text("Fine\n\nA plain text note about Minsk.\n")
    small = settings.inbox / "small.pdf"
    small.write_bytes(_pdf("Vladimir Putin spoke in Moscow about Venezuela."))

    assert await ingestor.handle_batch([slow, fine, small]) == ["failed", "accepted", "accepted"]

    sidecar = json.loads((settings.failed_dir / "slow.pdf.error.json").read_text())
    assert sidecar["reason"] == "timeout"
    assert (settings.failed_dir / "slow.pdf").exists()
    assert {p.name for p in settings.archive_dir.iterdir()} == {"fine.txt", "small.pdf"}
