"""The committed JSON Schemas are exactly what the code exports: contract changes are reviewed."""

from __future__ import annotations

from pathlib import Path

import orjson

from casebridge.messages.schema_export import contract_schemas, main, render

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
HOW_TO_FIX = "contracts changed: run `make schemas` and commit shared/schemas/ with the change"


def test_the_committed_schema_files_equal_the_exported_contracts():
    expected = {name: render(schema) for name, schema in contract_schemas().items()}
    committed = {p.name: p.read_bytes() for p in sorted(SCHEMAS.glob("*.json"))}
    assert sorted(committed) == sorted(expected), HOW_TO_FIX
    for name, body in expected.items():
        assert committed[name] == body, f"{name} is out of date; {HOW_TO_FIX}"


def test_every_registered_contract_and_the_dead_letter_record_is_exported():
    schemas = contract_schemas()
    assert set(schemas) == {"raw-record.v1.json", "upsert-command.v1.json", "dead-letter.json"}
    raw = schemas["raw-record.v1.json"]
    assert raw["additionalProperties"] is False
    assert {"message_id", "correlation_id", "payload", "source"} <= set(raw["required"])


def test_render_is_stable_sorted_indented_json_ending_in_a_newline():
    text = render({"b": 1, "a": {"d": 2, "c": 3}})
    assert text == b'{\n  "a": {\n    "c": 3,\n    "d": 2\n  },\n  "b": 1\n}\n'
    assert orjson.loads(text) == {"a": {"c": 3, "d": 2}, "b": 1}


def test_the_export_command_writes_one_file_per_contract(tmp_path):
    assert main(["schema_export", str(tmp_path / "out")]) == 0
    written = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    assert written == {name: render(s) for name, s in contract_schemas().items()}
