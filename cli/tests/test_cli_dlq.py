"""`casebridge dlq` on the real broker: list shows metadata only and consumes nothing, show reveals
and audits, replay sends the original back once (loop guard, dry run), purge needs confirmation."""

from __future__ import annotations

import json

import pytest

from casebridge import headers as h
from casebridge import intents
from casebridge.messages import default_registry
from casebridge.testing.builders import an_upsert_command

from .admin_helpers import CHILD_NAME, Admin

pytestmark = pytest.mark.integration


def test_list_shows_metadata_only_and_leaves_the_dlq_as_it_was(admin: Admin) -> None:
    admin.dead_letter("msg-1", target="oscar", flow="c1")
    admin.dead_letter("msg-2", target="primero", flow="c2", error_class="PermanentError")

    code, out, err = admin.run("dlq", "list")
    assert code == 0, err
    assert "msg-1" in out
    assert "msg-2" in out
    assert "loader-oscar" in out  # the stage
    assert CHILD_NAME not in out
    assert "Chan" not in out
    code, out, err = admin.run("dlq", "list", "--wide")
    assert code == 0, err
    assert "HttpStatusError" in out
    assert CHILD_NAME not in out

    code, out, _ = admin.run("dlq", "list", "--plain", "--flow", "c2")
    assert "msg-2" in out
    assert "msg-1" not in out
    listed = admin.run_json("dlq", "list", "--queue", "loader.oscar")
    assert [d["message_id"] for d in listed] == ["msg-1"]
    assert listed[0] == {
        "queue": admin.loader_queue("oscar"),
        "stage": "loader-oscar",
        "message_id": "msg-1",
        "correlation_id": "corr-msg-1",
        "flow": "c1",
        "error_class": "HttpStatusError",
        "reason": "oscar POST /clients/upsert answered 422",
        "attempts": 1,
        "first_failure": "2026-01-02T03:04:05+00:00",
        "last_failure": "2026-01-02T03:04:05+00:00",
        "replays": 0,
    }
    assert CHILD_NAME not in json.dumps(listed)
    assert admin.run_json("dlq", "list", "--error-class", "PermanentError")[0]["flow"] == "c2"
    assert admin.run_json("dlq", "list", "--since", "2030-01-01") == []
    assert len(admin.run_json("dlq", "list", "--since", "2026-01-01T00:00:00Z")) == 2

    # Nothing was consumed: the messages went back when the channel closed.
    assert admin.depth(f"{admin.loader_queue('oscar')}.dlq") == 1
    assert admin.depth(f"{admin.loader_queue('primero')}.dlq") == 1
    # Each listing is on record (who looked, with which filters, how many), never a payload.
    entries = admin.audit_log()
    assert {e.action for e in entries} == {"dlq.list"}
    assert [e.count for e in entries][:3] == [2, 2, 1]
    assert entries[2].detail["flow"] == "c2"
    assert CHILD_NAME not in json.dumps([e.detail for e in entries])


def test_show_reveals_the_payload_and_is_audited(admin: Admin) -> None:
    admin.dead_letter("msg-1")
    code, out, err = admin.run("dlq", "show", "msg-1", "--actor", "bob")
    assert code == 0, err
    shown = json.loads(out)
    assert shown["payload"]["payload"]["organization"]["given_name"] == CHILD_NAME
    assert shown["error_class"] == "HttpStatusError"
    [entry] = admin.audit_log()
    assert (entry.actor, entry.action, entry.count) == ("bob", "dlq.show", 1)
    assert entry.detail["message_id"] == "msg-1"
    assert admin.depth(f"{admin.loader_queue('oscar')}.dlq") == 1

    code, _, err = admin.run("dlq", "show", "nope")
    assert code == 1
    assert "no dead letter" in err
    assert len(admin.audit_log()) == 1


def test_dry_run_changes_nothing(admin: Admin) -> None:
    admin.dead_letter("msg-1")
    code, out, err = admin.run("dlq", "replay", "--all", "--dry-run")
    assert code == 0, err
    assert "would replay msg-1" in out
    assert admin.depth(f"{admin.loader_queue('oscar')}.dlq") == 1
    assert admin.depth(admin.loader_queue("oscar")) == 0
    [entry] = admin.audit_log()
    assert (entry.action, entry.count, entry.detail["dry_run"]) == ("dlq.replay", 1, True)


def test_replay_moves_the_original_back_once_and_the_loop_guard_refuses(admin: Admin) -> None:
    work, dlq = admin.loader_queue("oscar"), f"{admin.loader_queue('oscar')}.dlq"
    body = admin.dead_letter("msg-1", extra_headers={"x-custom": "kept"})
    admin.dead_letter("msg-2")

    code, out, err = admin.run("dlq", "replay", "msg-1", "--max-replays", "1")
    assert code == 0, err
    assert "replayed msg-1" in out
    assert admin.depth(dlq) == 1  # msg-2 stays
    [(props, replayed)] = admin.take(work)
    assert replayed == body  # byte for byte
    assert props.message_id == "msg-1"
    headers = dict(props.headers or {})
    assert headers[h.REPLAY_COUNT] == 1
    assert headers["x-custom"] == "kept"
    assert headers[h.MESSAGE_ID] == "msg-1"
    assert headers[h.FLOW] == "c1"
    assert not [k for k in headers if k.startswith(h.DEAD_PREFIX)]
    assert h.ATTEMPTS not in headers
    [entry] = admin.audit_log()
    assert (entry.action, entry.count, entry.actor) == ("dlq.replay", 1, "alice@mosvy")
    assert entry.detail["message_ids"] == ["msg-1"]
    assert entry.detail["dry_run"] is False

    # It fails again: dead-lettered with its replay count. The guard keeps it in the DLQ.
    admin.dead_letter("msg-1", replay_count=1)
    code, out, err = admin.run("dlq", "replay", "msg-1", "--max-replays", "1")
    assert code == 1
    assert "refused msg-1" in err
    assert admin.depth(work) == 0
    assert admin.depth(dlq) == 2
    assert admin.audit_log()[-1].detail["refused"] == ["msg-1"]

    # --filter replays what the filters select, the guarded one excepted.
    code, out, err = admin.run("dlq", "replay", "--filter", "--flow", "c1", "--max-replays", "1")
    assert code == 0, err
    assert "replayed 1, refused 1" in out
    assert [p.message_id for p, _ in admin.take(work)] == ["msg-2"]


def test_purge_needs_confirmation_and_is_audited(admin: Admin) -> None:
    admin.dead_letter("msg-1")
    admin.dead_letter("msg-2", target="primero")
    dlq = f"{admin.loader_queue('oscar')}.dlq"

    code, _, err = admin.run("dlq", "purge")  # stdin is not a terminal: nobody to ask
    assert code == 2
    assert "cancelled" in err
    assert admin.depth(dlq) == 1
    assert admin.audit_log() == []

    code, out, err = admin.run("dlq", "purge", "--queue", "loader.oscar", "--yes")
    assert code == 0, err
    assert "purged 1" in out
    assert admin.depth(dlq) == 0
    assert admin.depth(f"{admin.loader_queue('primero')}.dlq") == 1
    [entry] = admin.audit_log()
    assert (entry.action, entry.count) == ("dlq.purge", 1)
    assert entry.detail["message_ids"] == ["msg-1"]


def test_limit_bounds_list_replay_and_purge(admin: Admin) -> None:
    work, dlq = admin.loader_queue("oscar"), f"{admin.loader_queue('oscar')}.dlq"
    for n in range(6):
        admin.dead_letter(f"msg-{n}")

    assert [d["message_id"] for d in admin.run_json("dlq", "list", "--limit", "2")] == [
        "msg-0",
        "msg-1",
    ]
    code, out, err = admin.run("dlq", "replay", "--all", "--limit", "2")
    assert code == 0, err
    assert "replayed 2, refused 0" in out
    assert [p.message_id for p, _ in admin.take(work)] == ["msg-0", "msg-1"]
    assert admin.depth(dlq) == 4

    code, out, err = admin.run("dlq", "purge", "--limit", "3", "--yes")
    assert code == 0, err
    assert "purged 3" in out
    assert [d["message_id"] for d in admin.run_json("dlq", "list")] == ["msg-5"]
    purge = [e for e in admin.audit_log() if e.action == "dlq.purge"]
    assert [(e.count, e.detail["message_ids"], e.detail["filter"]["limit"]) for e in purge] == [
        (3, ["msg-2", "msg-3", "msg-4"], 3)
    ]
    code, _, _ = admin.run("dlq", "replay", "--all", "--limit", "0")
    assert code == 2  # usage error


def test_a_replay_reads_each_dlq_no_deeper_than_it_was(admin: Admin) -> None:
    """A message that comes back into the DLQ while the command runs is not met again."""
    from casebridge_cli import admin as admin_module
    from casebridge_cli import dlq

    queue = f"{admin.loader_queue('oscar')}.dlq"
    admin.dead_letter("msg-1")
    admin.dead_letter("msg-2")
    config = admin_module.settings()
    with admin_module.connection(config) as conn, dlq.reading(conn) as channel:
        seen = []
        for held in dlq.scan(conn, channel, [queue]):
            seen.append(held.letter.message_id)
            channel.basic_ack(held.delivery_tag)
            admin.dead_letter(f"again-{held.letter.message_id}")  # fails again at once
    assert seen == ["msg-1", "msg-2"]
    assert admin.depth(queue) == 2


def test_replay_and_purge_keep_no_payloads_in_memory(
    admin: Admin, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Streaming: at most one message body is alive at a time, however long the DLQ."""
    import gc

    from casebridge_cli import dlq

    for n in range(30):
        admin.dead_letter(f"msg-{n}")
    alive: list[int] = []
    real_scan = dlq.scan

    def counting_scan(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        for held in real_scan(*args, **kwargs):  # type: ignore[arg-type]
            gc.collect()
            alive.append(sum(1 for o in gc.get_objects() if isinstance(o, dlq.Held)))
            yield held

    monkeypatch.setattr(dlq, "scan", counting_scan)
    code, out, err = admin.run("dlq", "replay", "--all", "--dry-run")
    assert code == 0, err
    assert "would replay 30" in out
    code, out, err = admin.run("dlq", "purge", "--yes")
    assert code == 0, err
    assert "purged 30" in out
    assert len(alive) == 60
    assert max(alive) <= 2  # the one being handled (and the previous one, not yet collected)


def test_resend_drops_the_intent_of_an_uncertain_write_before_it_is_replayed(admin: Admin) -> None:
    command = an_upsert_command(
        operation="client_upsert", key={"external_id": "case-7", "service": "s", "referral": "r"}
    )
    intent = intents.intent_id(command.operation, command.key)
    stage = intents.loader_stage("oscar")
    admin.remember(stage, intent)
    body = default_registry().encode(command)
    admin.dead_letter(command.message_id, error_class="PermanentError", body=body)

    # A plain replay leaves the intent: the loader would refuse it again as uncertain.
    code, _, err = admin.run("dlq", "replay", command.message_id, "--dry-run", "--resend")
    assert code == 0, err
    assert admin.seen(stage, intent) == {intent}, "a dry run changes nothing"

    code, out, err = admin.run("dlq", "replay", command.message_id, "--resend")
    assert code == 0, err
    assert "replayed 1" in out
    assert admin.seen(stage, intent) == set()
    assert admin.depth(admin.loader_queue("oscar")) == 1
    [entry] = [e for e in admin.audit_log() if e.action == "dlq.replay" and not e.detail["dry_run"]]
    assert entry.detail["resend"] is True
    assert entry.count == 1


def test_resend_refuses_what_is_not_a_loader_command(admin: Admin) -> None:
    admin.dead_letter("msg-1")  # a body that decodes to no message
    code, out, err = admin.run("dlq", "replay", "msg-1", "--resend")
    assert code == 1
    assert "replayed 0, refused 1" in out
    assert "--resend" in err
    assert admin.depth(f"{admin.loader_queue('oscar')}.dlq") == 1
