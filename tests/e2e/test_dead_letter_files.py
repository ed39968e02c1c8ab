"""A document enrich cannot handle, through the real services: dead letter, its file in
failed/ with the stage and error, the good file beside it published; after the fix, a
`dropwire dlq retry` publishes it and its file returns to archive/.

enrich has no input that fails by content alone (it isolates each document of a batch and
cuts long texts into pieces), so the failure comes from the environment, as in a real
deployment: the enrich process runs without natasha, the package that ships the Russian
models, and enrich reports it missing for every Russian document while English ones go
through. No test hook in the product: a ``sitecustomize`` on PYTHONPATH hides the package.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from shared.models import content_id
from shared.settings import Settings
from tests.conftest import service_env
from tests.pipeline import Pipeline, jsonl_records, wait_for

pytestmark = pytest.mark.e2e

RUSSIAN = (
    "Новости дня\n\n"
    "Москва, 28 января – Президент России Владимир Путин провёл совещание "
    "с членами правительства.\n"
)


def _without_russian_models(tmp_path: Path) -> dict[str, str]:
    """Environment of a deployment whose enrich lacks natasha (the Russian models)."""
    site = tmp_path / "no-natasha"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import sys\n\nsys.modules['natasha'] = None  # find_spec('natasha') is None\n"
    )
    paths = [str(site), os.environ.get("PYTHONPATH", "")]
    return {"PYTHONPATH": os.pathsep.join(p for p in paths if p)}


def _files(root: Path) -> set[str]:
    if not root.exists():
        return set()
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_poison_document_ends_in_failed_with_its_reason_and_a_retry_after_the_fix_publishes_it(
    settings: Settings, sample_article: Path, tmp_path: Path
) -> None:
    broken = Pipeline(settings, tmp_path / "logs-broken", env=_without_russian_models(tmp_path))
    with broken:
        (settings.inbox / "russian.txt").write_text(RUSSIAN, encoding="utf-8")
        shutil.copy(sample_article, settings.inbox / "good.txt")
        wait_for(lambda: jsonl_records(settings.outbox), what="the good file's record")
        wait_for(
            lambda: (settings.failed_dir / "russian.txt.error.json").exists(),
            what="the poison file in failed/",
        )

    sidecar = json.loads((settings.failed_dir / "russian.txt.error.json").read_text())
    assert sidecar["file"] == "russian.txt"
    assert sidecar["stage"] == "enrich"
    assert sidecar["reason"] == "RuntimeError"
    assert sidecar["message"] == "the natasha package (which ships the Russian models) is missing"
    assert sidecar["doc_id"] == content_id(RUSSIAN.encode())
    assert (settings.failed_dir / "russian.txt").read_text(encoding="utf-8") == RUSSIAN
    assert _files(settings.failed_dir) == {"russian.txt", "russian.txt.error.json"}
    assert _files(settings.archive_dir) == {"good.txt"}
    assert _files(settings.inbox) == set()
    assert [r["source"]["name"] for r in jsonl_records(settings.outbox)] == ["good.txt"]
    client = redis.Redis.from_url(settings.redis_url.get_secret_value(), decode_responses=True)
    try:
        [(dlq_id, letter)] = client.xrange(settings.streams.dead_letter)
    finally:
        client.close()
    assert (letter["stage"], letter["source_file"]) == ("enrich", "russian.txt")
    moved = [e for e in broken.log_events() if e.get("event") == "ingest.file_failed_downstream"]
    assert [e["doc_id"] for e in moved] == [sidecar["doc_id"]]

    # The fix: enrich with its Russian models again. The operator retries the dead letter.
    with Pipeline(settings, tmp_path / "logs-fixed") as fixed:
        fixed.wait_ready(timeout=120)
        retry = subprocess.run(
            [sys.executable, "-m", "services.cli", "dlq", "retry", dlq_id],
            env=service_env(settings),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert retry.returncode == 0, retry.stderr
        wait_for(lambda: len(jsonl_records(settings.outbox)) == 2, what="the retried record")
        wait_for(
            lambda: _files(settings.archive_dir) == {"good.txt", "russian.txt"},
            what="the retried file back in archive/",
        )

    assert _files(settings.failed_dir) == set()
    russian = next(r for r in jsonl_records(settings.outbox) if r["id"] == sidecar["doc_id"])
    assert russian["source"]["name"] == "russian.txt"
    assert "Владимир Путин" in {e["name"] for e in russian["enrichment"]["entities"]}
