"""Export every contract's JSON Schema, so a contract change shows up as a reviewed file diff.

Run: `python -m casebridge.messages.schema_export shared/schemas` (also `make schemas`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson

from casebridge.messages.dead_letter import DeadLetter
from casebridge.messages.registry import default_registry


def contract_schemas() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema for every registered message and the dead-letter record."""
    schemas = {
        f"{model.message_type}.v{model.current_version}.json": model.model_json_schema()
        for model in default_registry()
    }
    schemas["dead-letter.json"] = DeadLetter.model_json_schema()
    return schemas


def render(schema: dict[str, Any]) -> bytes:
    """Stable, diff-friendly JSON."""
    return orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def main(argv: list[str]) -> int:
    """Write the schemas into the directory given (default: shared/schemas)."""
    target = Path(argv[1] if len(argv) > 1 else "shared/schemas")
    target.mkdir(parents=True, exist_ok=True)
    for name, schema in contract_schemas().items():
        (target / name).write_bytes(render(schema))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
