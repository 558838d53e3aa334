"""Readable output: `dlq list` fits 100 columns, `status` shows the retry tiers the broker holds
(not only the CLI's own RETRY_DELAYS_S), `audit` reads the audit log with filters."""

from __future__ import annotations

import pytest

from casebridge.topology import retry_queue_name

from .admin_helpers import Admin

pytestmark = pytest.mark.integration

LONG_ID = "c1-primero-" + "9f3a" * 14  # as long as the deterministic ids the fetchers make


def test_dlq_list_fits_100_columns_and_wide_or_json_keep_the_full_id(admin: Admin) -> None:
    admin.dead_letter(LONG_ID, flow="c1")
    admin.dead_letter("msg-2", target="primero", flow="c2")

    code, out, err = admin.run("dlq", "list")
    assert code == 0, err
    assert max(len(line) for line in out.splitlines()) <= 100
    rows = [line for line in out.splitlines() if LONG_ID[:12] in line]
    assert len(rows) == 1  # one line per dead letter, the id not wrapped
    assert "loader-oscar" in rows[0]
    assert "c1" in rows[0]
    assert LONG_ID not in out

    assert next(d["message_id"] for d in admin.run_json("dlq", "list")) == LONG_ID
    code, out, _ = admin.run("dlq", "list", "--wide", "--plain")
    assert LONG_ID in out
    # The short id is what `show` and `replay` take.
    code, out, err = admin.run("dlq", "show", LONG_ID[:12])
    assert code == 0, err
    assert LONG_ID in out


def test_status_shows_a_retry_tier_of_another_configuration(admin: Admin) -> None:
    """A service deployed with RETRY_DELAYS_S=[2, ...] made a `2s` tier; the CLI's environment
    does not name it, and the management API is not there: status still finds it on the broker."""
    work = admin.loader_queue("oscar")
    tier = retry_queue_name(work, 2)
    with admin.channel() as ch:
        ch.queue_declare(tier, durable=True)
    admin.publish(tier, b"{}", {}, "held-in-2s")

    document = admin.run_json("status", "--sample", "0", "--no-management")
    rows = {q["queue"]: q for q in document["queues"]}
    assert rows[tier]["kind"] == "retry"
    assert rows[tier]["ready"] == 1
    tiers = [q["queue"] for q in document["queues"] if q["work_queue"] == work]
    assert tiers.index(retry_queue_name(work, 1)) < tiers.index(tier)
    assert tiers.index(tier) < tiers.index(retry_queue_name(work, 5))


def test_audit_lists_entries_with_their_prefix_and_filters_them(admin: Admin) -> None:
    admin.dead_letter("msg-1")
    assert admin.run("dlq", "list")[0] == 0
    assert admin.run("dlq", "replay", "msg-1", "--actor", "bob@mosvy")[0] == 0
    admin.set_cursor("primero:c1-cases", "2026-01-02T03:04:05.000Z")
    assert admin.run("cursor", "reset", "primero:c1-cases")[0] == 0

    every = admin.run_json("audit")
    assert [e["action"] for e in every] == ["dlq.list", "dlq.replay", "cursor.reset"]
    assert {e["prefix"] for e in every} == {admin.prefix}
    assert [e["action"] for e in admin.run_json("audit", "--action", "dlq")] == [
        "dlq.list",
        "dlq.replay",
    ]
    [replay] = admin.run_json("audit", "--actor", "bob@mosvy")
    assert replay["action"] == "dlq.replay"
    assert replay["detail"]["message_ids"] == ["msg-1"]
    assert admin.run_json("audit", "--since", "2099-01-01") == []
    assert admin.run_json("audit", "--prefix", "someone-else") == []
    code, out, err = admin.run("audit")
    assert code == 0, err
    assert "bob@mosvy" in out
    assert max(len(line) for line in out.splitlines()) <= 100
    # Reading the log is not itself an entry.
    assert len(admin.audit_log()) == 3
