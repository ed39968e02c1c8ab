"""The committed JSON Schema and AsyncAPI document match the models, and v1 stays additive."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml
from pydantic import ValidationError

from scripts.gen_schema import SCHEMA_ID, TARGET, render
from shared.models import (
    DateMention,
    DocumentMetadata,
    EnrichedRecord,
    EnricherInfo,
    Enrichment,
    Entity,
    Link,
    Mention,
    SourceFile,
)

SCHEMAS = Path(__file__).resolve().parents[3] / "schemas"
REGENERATE = "the committed schema is stale: run .venv/bin/python scripts/gen_schema.py"


def _committed() -> dict[str, Any]:
    return json.loads(TARGET.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _validator() -> jsonschema.Draft202012Validator:
    schema = _committed()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _record() -> dict[str, Any]:
    now = datetime(2019, 1, 28, 12, 0, tzinfo=UTC)
    text = "MOSCOW, Jan 28 - Putin met the elites. See https://example.org/a."
    record = EnrichedRecord(
        id="a" * 64,
        source=SourceFile(path="a.txt", name="a.txt", size=len(text), mtime=now, media_type="txt"),
        text=text,
        metadata=DocumentMetadata(title="Putin and the elites", extra={"k": "v"}),
        enrichment=Enrichment(
            entities=[
                Entity(
                    name="Putin",
                    label="PERSON",
                    count=1,
                    salience=0.9,
                    mentions=[Mention(start=15, end=20, text="Putin", sentence=0)],
                )
            ],
            dates=[
                DateMention(text="Jan 28", start=8, end=14, value="XXXX-01-28", granularity="day")
            ],
            links=[
                Link(text="https://example.org/a", start=44, end=65, url="https://example.org/a")
            ],
            enricher=EnricherInfo(version="1.0.0", model="en_core_web_sm"),
        ),
        ingested_at=now,
        enriched_at=now,
    )
    return record.model_dump(mode="json")


def test_committed_schema_matches_the_model() -> None:
    assert TARGET.exists(), REGENERATE
    assert TARGET.read_text(encoding="utf-8") == render(), REGENERATE


def test_committed_schema_is_valid_and_identified() -> None:
    schema = _committed()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$id"] == SCHEMA_ID
    assert schema["title"]
    assert render().endswith("}\n") and render() == render()


def test_a_current_record_is_valid() -> None:
    _validator().validate(_record())


def _objects(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _objects(value)
    elif isinstance(node, list):
        for value in node:
            yield from _objects(value)


def test_schema_never_forbids_additional_properties() -> None:
    for node in _objects(_committed()):
        assert node.get("additionalProperties", True) is not False
        assert node.get("unevaluatedProperties", True) is not False


def test_v1_consumer_reads_a_newer_minor_record() -> None:
    """A future 1.x adds fields at any level: the v1 schema and the v1 model accept them."""
    newer = _record()
    newer["schema_version"] = "1.7"
    newer["sentiment"] = {"score": 0.1, "label": "neutral"}
    newer["source"]["sha1"] = "0" * 40
    newer["metadata"]["keywords"] = ["elites"]
    newer["enrichment"]["summary"] = "Putin met the elites."
    newer["enrichment"]["enricher"]["gpu"] = False
    newer["enrichment"]["entities"][0]["wikidata"] = "Q7747"
    newer["enrichment"]["entities"][0]["mentions"][0]["confidence"] = 0.98
    newer["enrichment"]["dates"][0]["calendar"] = "gregorian"
    newer["enrichment"]["links"][0]["archived"] = True

    _validator().validate(newer)
    parsed = EnrichedRecord.model_validate(newer)
    assert parsed.schema_version == "1.7"
    assert parsed.enrichment.entities[0].name == "Putin"
    assert EnrichedRecord.model_validate_json(json.dumps(newer)) == parsed


@pytest.mark.parametrize(
    "path",
    [("id",), ("enrichment",), ("source", "path"), ("enrichment", "entities", 0, "label")],
)
def test_a_record_missing_a_required_field_is_rejected(path: tuple[str | int, ...]) -> None:
    broken = copy.deepcopy(_record())
    parent: Any = broken
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    with pytest.raises(jsonschema.ValidationError):
        _validator().validate(broken)
    with pytest.raises(ValidationError):
        EnrichedRecord.model_validate(broken)


def test_asyncapi_parses_and_references_the_committed_record_schema() -> None:
    doc = yaml.safe_load((SCHEMAS / "asyncapi.yaml").read_text(encoding="utf-8"))
    assert doc["asyncapi"].startswith("3.")
    messages = doc["components"]["messages"]
    published = messages["PublishedRecord"]["payload"]
    assert set(published["required"]) == {"id", "schema_version", "record", "published_at"}
    ref = published["properties"]["record"]["contentSchema"]["$ref"]
    target = (SCHEMAS / ref).resolve()
    assert target == TARGET.resolve() and target.exists()
    assert json.loads(target.read_text(encoding="utf-8"))["$id"] == SCHEMA_ID

    dead = messages["DeadLetter"]["payload"]
    assert set(dead["required"]) == {
        "stage",
        "error_type",
        "message",
        "doc_id",
        "source_file",
        "attempts",
        "failed_at",
    }
    assert "^entry\\." in dead["patternProperties"]

    # Every local $ref in the document resolves.
    for node in _objects(doc):
        local = node.get("$ref")
        if isinstance(local, str) and local.startswith("#/"):
            target_node: Any = doc
            for part in local[2:].split("/"):
                target_node = target_node[part]
    for operation in doc["operations"].values():
        assert operation["channel"]["$ref"].startswith("#/channels/")


def test_asyncapi_matches_the_wire_format() -> None:
    """The documented fields are exactly what shared/wire.py and shared/deadletter.py write."""
    from shared.deadletter import dead_letter_fields
    from shared.wire import encode_published

    doc = yaml.safe_load((SCHEMAS / "asyncapi.yaml").read_text(encoding="utf-8"))
    messages = doc["components"]["messages"]
    entry = encode_published(EnrichedRecord.model_validate(_record()))
    assert set(entry) == set(messages["PublishedRecord"]["payload"]["properties"])
    fields = dead_letter_fields(
        stage="enrich", error_type="X", message="m", doc_id=None, entry={"id": "x"}
    )
    dead = messages["DeadLetter"]["payload"]
    assert {k for k in fields if not k.startswith("entry.")} == set(dead["properties"])
    jsonschema.Draft7Validator(dead).validate(fields)
