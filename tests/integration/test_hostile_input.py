"""Hostile and broken files at the ingest level, against a real Redis.

Each case drops one bad file, checks what ingest does with it (failed with a reason in
failed/<name>.error.json, accepted, or ignored), and then checks that a good file dropped
after it is still accepted: one bad file must never wedge or kill the service.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import zipfile
from collections.abc import Callable
from functools import cache
from pathlib import Path

import docx
import pytest
import redis.asyncio as aioredis
from structlog.testing import capture_logs

from services.ingest.ingestor import Ingestor
from services.ingest.publisher import RawPublisher
from shared.settings import Settings
from shared.streams import ensure_groups
from shared.wire import decode_raw

pytestmark = pytest.mark.integration

GOOD_TEXT = "Good Report\n\nThe Kremlin is watching Venezuela closely, analysts say.\n"
LOL = (
    '<!DOCTYPE html [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)).replace(
        "&lol0;", "&lol;"
    )
    + "]>"
)


@pytest.fixture
async def ingestor(settings: Settings, redis_client: aioredis.Redis) -> Ingestor:
    await ensure_groups(redis_client, settings.streams)
    return Ingestor(settings, RawPublisher(redis_client, settings.streams))


async def _raw_docs(redis_client: aioredis.Redis, settings: Settings) -> list:
    return [decode_raw(f) for _id, f in await redis_client.xrange(settings.streams.raw)]


def _sidecar(settings: Settings, name: str) -> dict:
    path = settings.failed_dir / f"{name}.error.json"
    return json.loads(path.read_bytes().decode("utf-8"))  # strict: valid UTF-8 JSON


async def _good_file_still_accepted(ingestor: Ingestor, settings: Settings, tag: str) -> None:
    good = settings.inbox / f"good-{tag}.txt"
    good.write_text(GOOD_TEXT + f"Case {tag}.\n", encoding="utf-8")
    assert await ingestor.handle(good) == "accepted"
    assert (settings.archive_dir / good.name).exists()


@cache
def _docx_bomb() -> bytes:
    document = docx.Document()
    document.add_paragraph("A report with an appendix of zeros.")
    plain = io.BytesIO()
    document.save(plain)
    source = zipfile.ZipFile(plain)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for info in source.infolist():
            target.writestr(info, source.read(info))
        target.writestr("word/media/zeros.bin", bytes(64 * 1024 * 1024))  # 64 KB zipped
    return buffer.getvalue()


def _billion_laughs_html() -> bytes:
    return f"{LOL}<html><body><p>&lol9; Some text to read here.</p></body></html>".encode()


FAILING: list[tuple[str, Callable[[], bytes], str]] = [
    ("empty.txt", lambda: b"", "empty"),
    ("junk.txt", lambda: os.urandom(4096) + b"\x00\x01\x02", "binary"),
    ("bomb.docx", _docx_bomb, "too_large"),
    ("laughs.html", _billion_laughs_html, "unsafe_xml"),
    ("fake.pdf", lambda: b"This is plain text pretending to be a PDF.\n" * 20, "corrupt_pdf"),
]


@pytest.mark.parametrize(("name", "content", "reason"), FAILING, ids=[c[0] for c in FAILING])
async def test_bad_file_fails_with_reason_and_ingest_goes_on(
    ingestor: Ingestor,
    settings: Settings,
    redis_client: aioredis.Redis,
    name: str,
    content: Callable[[], bytes],
    reason: str,
) -> None:
    path = settings.inbox / name
    path.write_bytes(content())
    assert await ingestor.handle(path) == "failed"
    error = _sidecar(settings, name)
    assert error["reason"] == reason, error
    assert error["file"] == name
    assert (settings.failed_dir / name).exists() and not path.exists()
    assert await _raw_docs(redis_client, settings) == []
    await _good_file_still_accepted(ingestor, settings, name)


async def test_file_over_the_size_limit_fails_without_being_read(
    ingestor: Ingestor, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert settings.max_file_bytes == 50 * 1024 * 1024  # the default limit
    path = settings.inbox / "huge.txt"
    with path.open("wb") as fh:
        fh.truncate(settings.max_file_bytes + 1)  # sparse: no 50 MB written to disk
    read_bytes = Path.read_bytes

    def guarded(self: Path) -> bytes:
        assert self.name != "huge.txt", "the oversized file was read"
        return read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", guarded)
    assert await ingestor.handle(path) == "failed"
    error = _sidecar(settings, "huge.txt")
    assert error["reason"] == "too_large"
    assert "DROPWIRE_MAX_FILE_BYTES" in error["message"]
    await _good_file_still_accepted(ingestor, settings, "huge")


def _create(directory: Path, name: bytes, content: bytes) -> Path:
    """A file whose name is arbitrary bytes (not necessarily UTF-8), created via os.open."""
    fd = os.open(os.path.join(os.fsencode(directory), name), os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.write(fd, content)
    finally:
        os.close(fd)
    return directory / os.fsdecode(name)


async def test_name_with_newline_and_invalid_utf8_is_accepted_and_logged_safely(
    ingestor: Ingestor, settings: Settings, redis_client: aioredis.Redis
) -> None:
    path = _create(settings.inbox, b"bad\nname\xff.txt", GOOD_TEXT.encode())
    with capture_logs() as logs:
        assert await ingestor.handle(path) == "accepted"
    docs = await _raw_docs(redis_client, settings)  # the entry decodes: valid JSON
    assert len(docs) == 1
    source = docs[0].source
    assert source.name == source.path == "bad\\nname\\xff.txt"
    source.path.encode("utf-8")
    archived = settings.archive_dir / source.archived_as
    assert archived.read_bytes() == GOOD_TEXT.encode()  # archived_as names the real file
    assert not path.exists()
    accepted = next(e for e in logs if e["event"] == "ingest.accepted")
    assert accepted["file"] == "bad\\nname\\xff.txt"  # one line, no raw bytes
    await _good_file_still_accepted(ingestor, settings, "name")


async def test_bad_file_with_invalid_utf8_name_gets_a_valid_sidecar(
    ingestor: Ingestor, settings: Settings
) -> None:
    path = _create(settings.inbox, b"broken\n\xfe.pdf", b"not a pdf at all\n")
    assert await ingestor.handle(path) == "failed"
    sidecars = list(settings.failed_dir.glob("*.error.json"))
    assert len(sidecars) == 1
    error = json.loads(sidecars[0].read_bytes().decode("utf-8"))
    assert error["reason"] == "corrupt_pdf"
    assert error["file"] == "broken\\n\\xfe.pdf"
    assert (settings.failed_dir / error["stored_as"]).read_bytes() == b"not a pdf at all\n"
    await _good_file_still_accepted(ingestor, settings, "sidecar")


async def test_symlink_out_of_the_inbox_is_ignored_and_its_target_untouched(
    ingestor: Ingestor, settings: Settings, redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.txt"
    secret.write_text("Secret\n\nNot for the pipeline.\n")
    link = settings.inbox / "link.txt"
    link.symlink_to(secret)
    (settings.inbox / "linked-dir").symlink_to(outside, target_is_directory=True)

    assert await ingestor.handle(link) == "skipped"
    assert await ingestor.handle(settings.inbox / "linked-dir" / "secret.txt") == "skipped"
    await _run_until(ingestor, settings, lambda: (settings.archive_dir / "good.txt").exists())
    assert secret.read_text() == "Secret\n\nNot for the pipeline.\n"
    assert link.is_symlink()  # left where it is, neither archived nor failed
    assert not settings.failed_dir.exists() or not any(settings.failed_dir.iterdir())
    docs = await _raw_docs(redis_client, settings)
    assert [d.source.name for d in docs] == ["good.txt"]


async def test_file_being_written_under_a_temporary_name_waits_for_its_rename(
    ingestor: Ingestor, settings: Settings, redis_client: aioredis.Redis
) -> None:
    partial = settings.inbox / "report.txt.part"
    partial.write_text("Report\n\nHalf of it")
    assert await ingestor.handle(partial) == "skipped"
    assert partial.exists()
    stop = asyncio.Event()
    task = asyncio.create_task(ingestor.run(stop))
    try:
        await asyncio.sleep(0.5)
        assert partial.exists()  # still ignored by the scan and the watcher
        with partial.open("a") as fh:
            fh.write(", and the other half.\n")
        partial.rename(settings.inbox / "report.txt")
        for _ in range(100):
            if len(await _raw_docs(redis_client, settings)) == 1:
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
    docs = await _raw_docs(redis_client, settings)
    assert len(docs) == 1 and docs[0].text.endswith("and the other half.")
    await _good_file_still_accepted(ingestor, settings, "partial")


async def _run_until(ingestor: Ingestor, settings: Settings, done: Callable[[], bool]) -> None:
    """Run the watch loop over the inbox (plus one good file) until ``done()``."""
    (settings.inbox / "good.txt").write_text(GOOD_TEXT)
    stop = asyncio.Event()
    task = asyncio.create_task(ingestor.run(stop))
    try:
        for _ in range(200):
            if done():
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
    assert done()


async def test_watch_loop_survives_every_bad_file_at_once(
    ingestor: Ingestor, settings: Settings, redis_client: aioredis.Redis
) -> None:
    """All the bad files together in the inbox at start-up: each fails, the good one passes."""
    for name, content, _reason in FAILING:
        (settings.inbox / name).write_bytes(content())
    _create(settings.inbox, b"odd\nname\xff.txt", b"Odd Name\n\nContent is fine.\n")
    await _run_until(
        ingestor,
        settings,
        lambda: (
            (settings.archive_dir / "good.txt").exists()
            and ingestor.stats.failed == len(FAILING)
            and ingestor.stats.accepted == 2
        ),
    )
    for name, _content, reason in FAILING:
        assert _sidecar(settings, name)["reason"] == reason
    names = sorted(d.source.name for d in await _raw_docs(redis_client, settings))
    assert names == ["good.txt", "odd\\nname\\xff.txt"]
    assert list(settings.inbox.iterdir()) == []
