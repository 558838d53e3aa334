"""`casebridge transform`, run as a subprocess on the reference samples."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def casebridge(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "casebridge_cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def rejections(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("record ")]


def test_c1_prints_every_command_of_the_primero_samples() -> None:
    result = casebridge("transform", "--flow", "c1", FIXTURES / "primero-cases.json")

    assert result.returncode == 0, result.stderr
    commands = json.loads(result.stdout)
    assert [(c["target"], c["operation"]) for c in commands] == [
        ("oscar", "client_upsert"),
        ("oscar", "client_upsert"),
        ("oscar", "update_statuses"),
    ]
    assert set(commands[0]) == {"target", "operation", "key", "payload"}
    assert commands[0]["payload"]["organization"]["services"] == [
        {"uuid": "00b7078c-f989-4d23-af5c-4712232aab6c", "name": "Community social work"}
    ]
    assert commands[2]["payload"] == {
        "data": [
            {
                "external_id": "aac935f2-5e01-450b-8575-423915a04e68",
                "external_id_display": "5a04e68",
                "client_global_id": "01GA9PSXKEMHVWH7HQZ7XXCRJC",
                "referral_status": "Accepted",
                "referral_id": 1193,
            }
        ]
    }
    assert rejections(result.stderr) == []


def test_c2_and_c0_on_the_oscar_samples() -> None:
    c2 = casebridge("transform", "--flow", "c2", FIXTURES / "oscar-clients.json")
    c0 = casebridge("transform", "--flow", "c0", FIXTURES / "oscar-clients.json")

    assert c2.returncode == c0.returncode == 0
    assert [c["operation"] for c in json.loads(c2.stdout)] == [
        "case_upsert",
        "case_upsert",
        "case_upsert",
        "case_upsert",
        "service_status_fill",
        "case_upsert",
        "referral_decision",
    ]
    assert [(c["operation"], c["key"]) for c in json.loads(c0.stdout)] == [
        ("case_update", {"case_id": "173d7ad5-28f8-4343-a3df-dc6d85b38276"})
    ]


def test_rejected_records_are_reported_on_stderr_and_the_others_still_map(
    tmp_path: Path,
) -> None:
    clients: list[dict[str, Any]] = json.loads((FIXTURES / "oscar-clients.json").read_text())
    clients[0]["location_current_village_code"] = "19020304"
    clients[2]["organization_name"] = ""
    path = tmp_path / "clients.json"
    path.write_text(json.dumps(clients), encoding="utf-8")

    result = casebridge("transform", "--flow", "c2", path)

    assert result.returncode == 0
    assert rejections(result.stderr) == [
        "record 01EHAZ3XN6DJX0GQGR8R5KV7AZ: no Primero province user for province code 19"
        " (OSCaR client 01EHAZ3XN6DJX0GQGR8R5KV7AZ, location code 19020304)",
        "record 01E6AT3BEAFMQDVBHTJHZZ8Y00: organisation is empty for OSCaR client"
        " 01E6AT3BEAFMQDVBHTJHZZ8Y00",
    ]
    assert len(json.loads(result.stdout)) == 5


def test_a_partly_mapped_case_prints_its_mapped_commands_and_its_gap(tmp_path: Path) -> None:
    cases: list[dict[str, Any]] = json.loads((FIXTURES / "primero-cases.json").read_text())
    [case] = [c for c in cases if str(c.get("case_id")).startswith("aac935f2")]
    del case["oscar_number"]
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(cases), encoding="utf-8")

    result = casebridge("transform", "--flow", "c1", path)

    assert result.returncode == 0, result.stderr
    assert [c["operation"] for c in json.loads(result.stdout)] == ["client_upsert"] * 2
    [line] = rejections(result.stderr)
    assert line.endswith(
        "case aac935f2-5e01-450b-8575-423915a04e68 has OSCaR decisions but no oscar_number"
        " (its other 2 command(s) are sent)"
    )


def test_mapping_dir_override_is_used(tmp_path: Path) -> None:
    overrides = tmp_path / "mappings"
    overrides.mkdir()
    (overrides / "cambodia-agency-users.json").write_text(
        json.dumps({"data": {"agency-cif": "someone-else"}}), encoding="utf-8"
    )
    clients = json.loads((FIXTURES / "oscar-clients.json").read_text())[2:3]
    path = tmp_path / "clients.json"
    path.write_text(json.dumps(clients), encoding="utf-8")

    result = casebridge("transform", "--flow", "c2", "--mapping-dir", overrides, path)

    assert json.loads(result.stdout)[0]["payload"]["data"]["owned_by"] == "someone-else"


@pytest.mark.parametrize("content", ["{not json", '{"records": []}'])
def test_unreadable_or_non_array_file_exits_1(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    result = casebridge("transform", "--flow", "c1", path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "casebridge transform:" in result.stderr


def test_missing_file_exits_1(tmp_path: Path) -> None:
    assert casebridge("transform", "--flow", "c1", tmp_path / "absent.json").returncode == 1


def test_unknown_flow_is_a_usage_error(tmp_path: Path) -> None:
    result = casebridge("transform", "--flow", "z9", tmp_path / "x.json")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_o1_prints_one_ona_case_upsert_per_primero_sample() -> None:
    result = casebridge("transform", "--flow", "o1", FIXTURES / "primero-cases.json")

    assert result.returncode == 0, result.stderr
    commands = json.loads(result.stdout)
    assert {(c["target"], c["operation"]) for c in commands} == {("ona", "case_upsert")}
    ona = {c["key"]["case_id"]: c["payload"] for c in commands}
    assert ona["2d3e4f5"]["case"]["type_of_case"] == "children undergoing reintegration"
    assert ona["2d3e4f5"]["case"]["current_district_key"] == "107"
    assert [s["service_date"] for s in ona["2d3e4f5"]["services"]] == [
        "2023-11-20T00:00:00.000Z",
        None,
    ]
