"""Settings come from the environment or .env, with safe defaults, and are documented."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from scripts.gen_env_example import render
from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[3]


def test_env_example_documents_every_setting_and_is_current() -> None:
    text = (ROOT / ".env.example").read_text()
    assert text == render(), "run: .venv/bin/python scripts/gen_env_example.py"
    for name in Settings.model_fields:
        assert f"DROPWIRE_{name.upper()}=" in text


def test_environment_overrides_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DROPWIRE_STREAM_PREFIX", "acme")
    monkeypatch.setenv("DROPWIRE_BATCH_SIZE", "32")
    s = Settings()
    assert s.streams.raw == "acme:raw"
    assert s.streams.published == "acme:published"
    assert s.batch_size == 32


def test_dotenv_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("DROPWIRE_REDIS_URL=redis://:s3cret@db:6379/2\n")
    s = Settings()
    assert s.redis_url.get_secret_value() == "redis://:s3cret@db:6379/2"
    assert "s3cret" not in repr(s) and "s3cret" not in str(s.model_dump())


def test_archive_inside_inbox_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="must not be inside the inbox"):
        Settings(inbox=tmp_path / "in", archive_dir=tmp_path / "in" / "done")


def test_bad_value_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DROPWIRE_BATCH_SIZE", "lots")
    with pytest.raises(ValidationError, match="batch_size"):
        Settings()
