"""Write schemas/enriched-record.v1.json, the JSON Schema of ``EnrichedRecord`` for consumers.

Run: .venv/bin/python scripts/gen_schema.py   (a test fails when the file is not current)

The schema is the serialised form (what sinks and the published stream carry). It never
forbids unknown properties: within major version 1 changes are additive, so a v1 consumer
validating a 1.y record must accept fields it does not know yet.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from shared.models import EnrichedRecord

SCHEMA_ID = "urn:dropwire:schema:enriched-record:v1"
TARGET = Path(__file__).resolve().parents[1] / "schemas" / "enriched-record.v1.json"


def build() -> dict[str, Any]:
    schema = EnrichedRecord.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    schema["title"] = "Dropwire EnrichedRecord v1"
    return schema


def render() -> str:
    """Deterministic text: sorted keys, two-space indent, trailing newline."""
    return json.dumps(build(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> int:
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
