"""`casebridge status`, `cursor show | reset` and `mappings check`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .admin_helpers import Admin

pytestmark = pytest.mark.integration


def test_status_counts_every_queue_and_lists_cursors(admin: Admin) -> None:
    admin.dead_letter("msg-1")
    admin.dead_letter("msg-2")
    admin.publish(admin.loader_queue("primero"), b"{}", {}, "work-1")
    admin.set_cursor("primero:c1-cases", "2026-01-02T03:04:05.000Z")

    status = admin.run_json("status", "--sample", "0")
    by_queue = {q["queue"]: q for q in status["queues"]}
    assert by_queue[f"{admin.loader_queue('oscar')}.dlq"]["ready"] == 2
    assert by_queue[admin.loader_queue("primero")]["ready"] == 1
    assert by_queue[admin.loader_queue("primero")]["consumers"] == 0
    assert by_queue[f"{admin.prefix}.transformer.retry.5s"]["kind"] == "retry"
    assert all(q["exists"] for q in status["queues"])
    assert [c["name"] for c in status["cursors"]] == ["primero:c1-cases"]

    code, out, err = admin.run("status", "--plain", "--sample", "0")
    assert code == 0, err
    # queue, kind, ready, unacked (management API only), consumers, in/s, out/s, net/s
    assert f"{admin.loader_queue('oscar')}.dlq\tdlq\t2\t\t0\t\t\t\n" in out
    assert "primero:c1-cases\t2026-01-02T03:04:05.000Z" in out


def test_cursor_reset_is_audited(admin: Admin) -> None:
    admin.set_cursor("primero:c1-cases", "2026-01-02T03:04:05.000Z")
    code, _out, err = admin.run("cursor", "reset", "primero:c1-cases", "--to", "2025-12-01")
    assert code == 0, err
    assert [c["value"] for c in admin.run_json("cursor", "show")] == ["2025-12-01"]
    code, _, err = admin.run("cursor", "reset", "primero:c1-cases")
    assert code == 0, err
    assert admin.run_json("cursor", "show") == []
    code, _, err = admin.run("cursor", "reset", "primero:c1-cases")
    assert code == 1
    assert "no cursor" in err

    entries = [e for e in admin.audit_log() if e.action != "cursor.show"]
    assert [(e.action, e.actor, e.count) for e in entries] == [
        ("cursor.reset", "alice@mosvy", 1),
        ("cursor.reset", "alice@mosvy", 1),
    ]
    assert entries[0].detail == {
        "name": "primero:c1-cases",
        "from": "2026-01-02T03:04:05.000Z",
        "to": "2025-12-01",
    }
    assert entries[1].detail["to"] is None


def test_mappings_check_reports_ok_or_the_error(admin: Admin, tmp_path: Path) -> None:
    checked = admin.run_json("mappings", "check")
    assert {r["tables"]: r["status"] for r in checked} == {
        "cambodia": "OK",
        "ona": "OK",
        "progres": "OK",
    }
    broken = tmp_path / "mappings"
    broken.mkdir()
    (broken / "cambodia-province-users.json").write_text("{not json")
    code, out, _ = admin.run("mappings", "check", "--mapping-dir", str(broken), "--json")
    assert code == 1
    result = {r["tables"]: r for r in json.loads(out)}
    assert result["cambodia"]["status"] == "ERROR"
    assert "cambodia-province-users.json" in result["cambodia"]["detail"]
