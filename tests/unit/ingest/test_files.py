"""Which files ingest considers, and that moving them never overwrites or loses one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.ingest.files import is_candidate, is_ignored_name, move_to, move_to_failed, scan


@pytest.mark.parametrize(
    "name", ["report.txt.part", "a.tmp", "x.crdownload", ".hidden.txt", "~$draft.docx", "b.txt~"]
)
def test_temporary_and_hidden_names_are_ignored(name: str) -> None:
    assert is_ignored_name(name)


@pytest.mark.parametrize("name", ["report.txt", "a.part.txt", "notes.md", "x~y.pdf"])
def test_ordinary_names_are_not_ignored(name: str) -> None:
    assert not is_ignored_name(name)


def test_scan_finds_nested_files_and_skips_links_hidden_dirs_and_temporaries(
    tmp_path: Path,
) -> None:
    inbox = tmp_path / "inbox"
    (inbox / "a" / "b").mkdir(parents=True)
    (inbox / ".git").mkdir()
    (inbox / "top.txt").write_text("x")
    (inbox / "a" / "b" / "deep.md").write_text("x")
    (inbox / ".git" / "config.txt").write_text("x")
    (inbox / "copying.txt.part").write_text("x")
    outside = tmp_path / "secret.txt"
    outside.write_text("not yours")
    (inbox / "link.txt").symlink_to(outside)
    (inbox / "linkdir").symlink_to(tmp_path)
    found = {p.relative_to(inbox).as_posix() for p in scan(inbox)}
    assert found == {"top.txt", "a/b/deep.md"}
    assert not is_candidate(inbox / "link.txt", inbox)
    assert not is_candidate(outside, inbox)


def test_move_keeps_relative_path_and_never_overwrites(tmp_path: Path) -> None:
    inbox, archive = tmp_path / "inbox", tmp_path / "archive"
    (inbox / "sub").mkdir(parents=True)
    first = inbox / "sub" / "r.txt"
    first.write_text("one")
    assert move_to(first, inbox, archive, "aaaa") == archive / "sub" / "r.txt"
    first.write_text("two")
    second = move_to(first, inbox, archive, "bbbb")
    assert second == archive / "sub" / "r.bbbb.txt"
    assert (archive / "sub" / "r.txt").read_text() == "one"
    assert second.read_text() == "two"


def test_failed_file_gets_a_sidecar_with_the_reason(tmp_path: Path) -> None:
    inbox, failed = tmp_path / "inbox", tmp_path / "failed"
    inbox.mkdir()
    bad = inbox / "bad.pdf"
    bad.write_bytes(b"%PDF-1.7 truncated")
    dest = move_to_failed(
        bad, inbox, failed, reason="corrupt_pdf", message="cannot parse", doc_id="abc"
    )
    assert dest == failed / "bad.pdf" and dest.read_bytes() == b"%PDF-1.7 truncated"
    sidecar = json.loads((failed / "bad.pdf.error.json").read_text())
    assert sidecar["reason"] == "corrupt_pdf"
    assert sidecar["message"] == "cannot parse"
    assert sidecar["file"] == "bad.pdf"
    assert sidecar["doc_id"] == "abc"
