"""File-system side of ingest: which paths to consider, when a file is complete, and where
it goes afterwards (archive on success, failed/ with a sidecar on error). Nothing is
deleted: every file ends in a folder a person can look at."""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

TEMPORARY_SUFFIXES = (".part", ".tmp", ".crdownload", ".download", ".swp", ".partial")
# Control characters, line separators, and the surrogate escapes Python decodes undecodable
# bytes of a file name to (os.fsdecode(b"\xff") == "\udcff").
_UNSAFE_NAME_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if "\udc80" <= char <= "\udcff":
        return f"\\x{ord(char) - 0xDC00:02x}"
    return char.encode("unicode_escape").decode("ascii")


def safe_name(name: str) -> str:
    r"""A file name or relative path as printable, valid Unicode, for documents, sidecars,
    logs and archive names: ``b"bad\nname\xff.txt"`` becomes ``bad\nname\xff.txt``
    (a backslash escape for each control character and each byte that is not UTF-8)."""
    return _UNSAFE_NAME_CHARS.sub(_escape, name)


def is_ignored_name(name: str) -> bool:
    """Names that are still being written or are editor/OS litter; picked up once renamed."""
    lowered = name.lower()
    return (
        name.startswith(".")
        or name.startswith("~$")
        or lowered.endswith(TEMPORARY_SUFFIXES)
        or lowered.endswith("~")
    )


def is_candidate(path: Path, inbox: Path) -> bool:
    """A regular, non-temporary file inside the inbox, not behind a symlink."""
    try:
        rel = path.relative_to(inbox)
    except ValueError:
        return False
    if any(is_ignored_name(part) for part in rel.parts):
        return False
    # Never follow links: a link could point anywhere on the machine.
    if any((inbox.joinpath(*rel.parts[: i + 1])).is_symlink() for i in range(len(rel.parts))):
        return False
    return path.is_file()


def scan(inbox: Path) -> list[Path]:
    """Every candidate already in the inbox (start-up catch-up), oldest first."""
    found: list[Path] = []
    for root, dirs, files in os.walk(inbox, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not is_ignored_name(d))
        for name in files:
            path = Path(root) / name
            if is_candidate(path, inbox):
                found.append(path)
    return sorted(found, key=_mtime_or_zero)


def _mtime_or_zero(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


@dataclass(frozen=True)
class FileState:
    size: int
    mtime_ns: int


def file_state(path: Path) -> FileState | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return FileState(st.st_size, st.st_mtime_ns)


def free_destination(dest: Path, tag: str) -> Path:
    """``dest``, or ``name.<tag>.ext`` (then numbered) when a file of that name exists."""
    if not dest.exists():
        return dest
    candidate = dest.with_name(f"{dest.stem}.{tag}{dest.suffix}")
    n = 1
    while candidate.exists():
        n += 1
        candidate = dest.with_name(f"{dest.stem}.{tag}-{n}{dest.suffix}")
    return candidate


def destination(path: Path, inbox: Path, target_root: Path, tag: str) -> Path:
    """Where ``path`` would go under ``target_root``: the same relative place, or a tagged
    name beside it when that is taken. Nothing is ever overwritten. Names are made safe
    (``safe_name``), so what a document or sidecar says names the file exactly."""
    rel = path.relative_to(inbox)
    return free_destination(target_root.joinpath(*map(safe_name, rel.parts)), tag)


def move_file(path: Path, dest: Path) -> Path:
    """Move ``path`` to ``dest`` (or a free name beside it if ``dest`` appeared meanwhile)."""
    dest = free_destination(dest, "dup")
    dest.parent.mkdir(parents=True, exist_ok=True)
    # shutil.move copies then deletes when archive and inbox are different volumes.
    shutil.move(path, dest)
    return dest


def move_to(path: Path, inbox: Path, target_root: Path, tag: str) -> Path:
    """Move ``path`` to the same relative place under ``target_root``; never overwrite."""
    return move_file(path, destination(path, inbox, target_root, tag))


def move_to_failed(
    path: Path,
    inbox: Path,
    failed_root: Path,
    *,
    reason: str,
    message: str,
    doc_id: str | None,
    stage: str = "ingest",
    original: str | None = None,
) -> Path:
    """Move a file that could not be processed to failed/ with ``<name>.error.json`` beside
    it. ``inbox`` is the folder ``path`` is relative to (the inbox, or the archive when a
    later stage failed); ``original`` is its path as dropped, when it differs."""
    tag = (doc_id or datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f"))[:12]
    rel = safe_name(str(path.relative_to(inbox)))
    dest = move_to(path, inbox, failed_root, tag)
    sidecar = sidecar_of(dest)
    payload: dict[str, object] = {
        "file": safe_name(original) if original else rel,
        "stored_as": dest.name,
        "stage": stage,
        "reason": reason,
        "message": message.encode("utf-8", "backslashreplace").decode("utf-8"),
        "doc_id": doc_id,
        "failed_at": datetime.now(UTC).isoformat(),
    }
    write_sidecar(sidecar, payload)
    return dest


def sidecar_of(path: Path) -> Path:
    """The ``<name>.error.json`` that says why ``path`` is in failed/."""
    return path.with_name(path.name + ".error.json")


def write_sidecar(sidecar: Path, payload: dict[str, object]) -> None:
    """Write (or replace) a sidecar atomically: a reader never sees half of one."""
    tmp = sidecar.with_name(sidecar.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, sidecar)
