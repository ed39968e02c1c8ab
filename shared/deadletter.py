"""The dead-letter stream: where an entry goes when a stage cannot process it, with why."""

from __future__ import annotations

from typing import Any

from shared.models import utcnow


def dead_letter_fields(
    *,
    stage: str,
    error_type: str,
    message: str,
    doc_id: str | None,
    source_file: str | None = None,
    attempts: int = 1,
    entry: dict[str, Any] | None = None,
) -> dict[str, str]:
    """Plain fields for an XADD to the dead-letter stream, readable by any client."""
    fields = {
        "stage": stage,
        "error_type": error_type,
        "message": message[:2000],
        "doc_id": doc_id or "",
        "source_file": source_file or "",
        "attempts": str(attempts),
        "failed_at": utcnow().isoformat(),
    }
    if entry is not None:
        for key, value in entry.items():
            fields[f"entry.{key}"] = value if isinstance(value, str) else str(value)
    return fields
