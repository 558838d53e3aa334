"""`casebridge status`, `cursor show | reset` and `mappings check`."""

from __future__ import annotations

import base64
import json
import socket
import threading
from contextlib import closing
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from casebridge.control import BreakerRecord

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
        "prefix": admin.prefix,
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


def test_status_samples_a_net_rate_when_the_management_api_is_not_there(admin: Admin) -> None:
    """The sampled rate: two passive declares around the publishes, on the real broker."""
    from casebridge_cli import admin as admin_module
    from casebridge_cli import status

    config = admin_module.settings()
    work = admin.loader_queue("primero")
    names = [("w", "work", work), ("w", "dlq", f"{work}.dlq")]
    with admin_module.connection(config) as conn:
        first = status.read_queues(conn, names)
        for n in range(20):
            admin.publish(work, b"{}", {}, f"work-{n}")
        rates = status.sampled_rates(conn, first, 0.1)
    assert rates[work] > 0  # 20 arrived during the sample, nobody consumed
    assert rates[f"{work}.dlq"] == 0

    # End to end: port 15672 answers nothing here, so status says it sampled.
    code, out, err = admin.run("status", "--json", "--sample", "0.2")
    assert code == 0, err
    document = json.loads(out)
    assert document["rates"].startswith("sampled over 0.2s")
    assert "management API" in err
    by_queue = {q["queue"]: q for q in document["queues"]}
    assert by_queue[work]["ready"] == 20
    assert by_queue[work]["net_per_s"] == 0  # nothing moved during this sample


class _ManagementApi(BaseHTTPRequestHandler):
    """Answers GET /api/queues/<vhost> like RabbitMQ's management plugin (the fields used)."""

    body: bytes = b"[]"
    seen: list[tuple[str, str | None]] = []  # reset by the test

    def do_GET(self) -> None:
        type(self).seen.append((self.path, self.headers.get("Authorization")))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(type(self).body)

    def log_message(self, *_: object) -> None:
        return None


def test_status_reads_rates_from_the_management_api(
    admin: Admin, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = admin.loader_queue("oscar")
    _ManagementApi.seen = []
    _ManagementApi.body = json.dumps(
        [
            {
                "name": work,
                "messages_unacknowledged": 7,
                "message_stats": {
                    "publish_details": {"rate": 12.5},
                    "ack_details": {"rate": 10.0},
                    "deliver_get_details": {"rate": 11.0},
                },
            },
            {"name": "someone-else.queue", "message_stats": {}},
        ]
    ).encode()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ManagementApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        monkeypatch.setenv("RABBITMQ_MANAGEMENT_URL", f"http://monitor:s3cret@127.0.0.1:{port}/")
        document = admin.run_json("status")
    finally:
        server.shutdown()
        server.server_close()
    assert document["rates"] == f"management API at http://127.0.0.1:{port}"
    [(path, authorization)] = _ManagementApi.seen
    assert path.startswith("/api/queues/%2F?")
    assert authorization == "Basic " + base64.b64encode(b"monitor:s3cret").decode()
    row = {q["queue"]: q for q in document["queues"]}[work]
    assert (row["unacked"], row["in_per_s"], row["out_per_s"]) == (7, 12.5, 10.0)
    assert row["net_per_s"] == 2.5


def test_status_lists_open_circuit_breakers_and_every_target(
    admin: Admin, monkeypatch: pytest.MonkeyPatch
) -> None:
    since = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    admin.record_breakers(
        BreakerRecord("oscar", "loader-oscar-7d9f:1", "open", since, 5, "TransientHttpError"),
        BreakerRecord("oscar", "loader-oscar-2b1c:1", "closed", since),
        BreakerRecord("progres", "loader-progres-1:1", "half_open", since, 3, "ReadTimeout"),
    )
    # A plugin target: installed (entry point), configured, or named on the command line.
    monkeypatch.setattr(
        "casebridge_cli.admin.entry_points",
        lambda group: [EntryPoint("acme", "acme_target:build", group)],
    )
    monkeypatch.setenv("CASEBRIDGE_TARGETS", "kobo")
    document = admin.run_json("status", "--sample", "0", "--target", "dhis2")

    assert [(b["target"], b["state"]) for b in document["open_breakers"]] == [
        ("oscar", "open"),
        ("progres", "half_open"),
    ]
    assert document["open_breakers"][0] == {
        "target": "oscar",
        "instance": "loader-oscar-7d9f:1",
        "state": "open",
        "since": "2026-01-02T03:04:05+00:00",
        "failures": 5,
        "last_error_class": "TransientHttpError",
    }
    work_queues = {q["work_queue"] for q in document["queues"]}
    for target in ("oscar", "primero", "progres", "ona", "acme", "kobo", "dhis2"):
        assert admin.loader_queue(target) in work_queues
    assert {q["ready"] for q in document["queues"] if "acme" in q["queue"]} == {None}  # missing
    [entry] = [e for e in admin.audit_log() if e.action == "status"]
    assert entry.actor == "alice@mosvy"
    assert {"acme", "kobo", "dhis2"} <= set(entry.detail["targets"])

    code, out, err = admin.run("status", "--plain", "--sample", "0")
    assert code == 0, err
    assert "# open circuit breakers: 2" in out
    row = "oscar\tloader-oscar-7d9f:1\topen\t2026-01-02T03:04:05+00:00\t5\tTransientHttpError"
    assert row in out


def test_status_lists_configuration_problems(admin: Admin) -> None:
    filter_reason = (
        "Primero ignored the filter on oscar_number: the API user's role cannot read that field"
    )
    admin.report_problems(
        ("loader-primero:filter:oscar_number", filter_reason),
        ("fetcher-primero:p3", "configuration error: primero GET /api/v2/users answered 403"),
        ("fetcher-primero:p3", "configuration error: primero GET /api/v2/users answered 403"),
    )
    document = admin.run_json("status", "--sample", "0")
    rows = {p["source"]: p for p in document["problems"]}
    assert rows["loader-primero:filter:oscar_number"]["reason"] == filter_reason
    assert rows["fetcher-primero:p3"]["count"] == 2
    code, out, err = admin.run("status", "--plain", "--sample", "0")
    assert code == 0, err
    assert "# configuration problems: 2" in out
    assert filter_reason in out


def test_status_shows_the_queues_when_the_control_store_is_down(
    admin: Admin, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with closing(socket.socket()) as s:  # a port nothing listens on: the database is down
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("CONTROL_DATABASE_URL", f"postgresql://postgres@127.0.0.1:{port}/control")
    code, out, err = admin.run("status", "--plain", "--sample", "0")
    assert code == 1
    assert admin.loader_queue("oscar") in out
    assert "control store unreachable" in err
    assert "audit log not written" in err
