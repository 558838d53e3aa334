"""`casebridge transform --flow p1..p4` on the proGres reference samples (as a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SAMPLES = Path(__file__).parents[2] / "services/transformer/tests/fixtures"


def transform(flow: str, records: list[object], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / f"{flow}.json"
    path.write_text(json.dumps(records), encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "casebridge_cli", "transform", "--flow", flow, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def records(name: str) -> list[dict[str, object]]:
    document = json.loads((SAMPLES / name).read_text(encoding="utf-8"))
    return [entry["record"] for entry in document["records"]]


def test_p1_prints_upserts_and_delivery_fails(tmp_path: Path) -> None:
    result = transform("p1", records("progres-referrals.json")[:4], tmp_path)
    assert result.returncode == 0, result.stderr
    commands = json.loads(result.stdout)
    assert [(c["target"], c["operation"]) for c in commands] == [
        ("primero", "progres_case_upsert"),
        ("primero", "progres_case_upsert"),
        ("progres", "feedback"),
        ("progres", "feedback"),
    ]


def test_p4_reports_the_uncorrelated_samples(tmp_path: Path) -> None:
    result = transform("p4", records("progres-decisions.json"), tmp_path)
    assert result.returncode == 0
    assert len(json.loads(result.stdout)) == 2
    assert result.stderr.count("progres_orgreferralid 'string'") == 2


def test_p2_and_p3_on_primero_cases(tmp_path: Path) -> None:
    cases = records("primero-cases.json")
    cases[2]["referrals"] = [{"service_record_id": "66299d30-7d59-40aa-a4fc-289669d0e16a"}]
    p2 = json.loads(transform("p2", cases, tmp_path).stdout)
    p3 = json.loads(transform("p3", cases, tmp_path).stdout)
    assert [(c["operation"], c["key"]) for c in p2] == [
        ("decision", {"progres_interventionnumber": "DAD-21-PRTITV-0000199", "status": "rejected"})
    ]
    assert [c["key"] for c in p3] == [{"id": "234bbac3-7278-430a-98b5-1abc460671ec#289669d0e16a"}]
    assert p3[0]["payload"]["body"] == records("dtp-outbound-messages.json")[1]
