"""Write .env.example from the Settings class, so the documented settings never drift.

Run: .venv/bin/python scripts/gen_env_example.py   (a test checks the file is current)
"""

from __future__ import annotations

import sys
from pathlib import Path

from pydantic import SecretStr

from shared.settings import Settings

HEADER = """\
# Dropwire settings. Copy to .env and edit; every variable is optional.
# Generated from shared/settings.py by scripts/gen_env_example.py: do not edit by hand.
"""


def render() -> str:
    lines = [HEADER]
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=False)
        if field.default_factory is not None:
            shown = ""
            note = " (default: computed at start)"
        else:
            if isinstance(default, SecretStr):
                default = default.get_secret_value()
            shown = "" if default is None else str(default)
            note = ""
        description = field.description or ""
        lines.append(f"# {description}{note}".rstrip())
        lines.append(f"#DROPWIRE_{name.upper()}={shown}")
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    target = Path(__file__).resolve().parents[1] / ".env.example"
    target.write_text(render(), encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
