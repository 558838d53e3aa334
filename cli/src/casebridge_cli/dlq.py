"""`casebridge dlq list | show | replay | purge`: dead letters, read without consuming them.

A DLQ is read on a blocking channel with `basic_get` and no ack; closing the channel returns every
message not acked to the queue, in order. Only replay and purge ack, and replay acks a message only
after the broker confirmed its republication.

Streaming: messages are read one at a time and handled as they come; only ids and metadata are
kept, never the whole DLQ's bodies. Each DLQ is read at most as deep as it was when the command
started (a replayed message that fails again during the run is not met twice), and `--limit N`
stops after N selected messages.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pika
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection
from pydantic import ValidationError

from casebridge import dead_letter_file, intents
from casebridge import headers as h
from casebridge.amqp import admin as admin_amqp
from casebridge.control import open_control_store
from casebridge.dead_letter_file import metadata
from casebridge.messages import DeadLetter, UpsertCommand, default_registry
from casebridge.startup import CONFIG, StartupError
from casebridge.topology import Topology
from casebridge_cli import admin

#: Headers a replay removes besides `cb-dead-*`: the retry bookkeeping and the broker's own.
RETRY_HEADERS = (h.ATTEMPTS, h.FIRST_FAILURE, h.LAST_ERROR_CLASS, "x-death", "x-first-death-queue",
                 "x-first-death-reason", "x-first-death-exchange", "x-last-death-queue",
                 "x-last-death-reason", "x-last-death-exchange", "x-delivery-count")  # fmt: skip
#: What `dlq list` shows by default, in at most LIST_WIDTH columns.
SHORT_COLUMNS = ("id", "age", "flow", "stage", "reason")
LIST_WIDTH = admin.TABLE_WIDTH
COLUMNS = (
    "queue",
    "message_id",
    "correlation_id",
    "flow",
    "error_class",
    "reason",
    "attempts",
    "first_failure",
    "last_failure",
    "replays",
)


@dataclass
class Held:
    """A DLQ message taken with `basic_get` and not acked yet."""

    dlq: str
    delivery_tag: int
    properties: pika.BasicProperties
    body: bytes
    letter: DeadLetter


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "dlq", help="dead letters: list, show, replay, purge", description=__doc__
    )
    sub = parser.add_subparsers(dest="dlq_command", required=True, metavar="ACTION")

    listing = sub.add_parser(
        "list",
        help="dead letters' metadata (never child data)",
        description="Short id (what `show` and `replay` take), age of the last failure, flow,"
        f" stage and reason, in {LIST_WIDTH} columns; --wide: every field with full ids.",
    )
    listing.add_argument(
        "--wide", action="store_true", help="full ids, queue, error class, attempts, times"
    )
    listing.add_argument(
        "--file",
        type=Path,
        default=None,
        metavar="PATH",
        help="read a JSON-lines file of dead letters (local mode's .local/dead-letters.jsonl)"
        " instead of the broker",
    )
    _filters(listing)
    _limit(listing, "list at most N dead letters")
    admin.add_common(listing)
    listing.set_defaults(handler=run_list)

    show = sub.add_parser("show", help="one dead letter with its payload (audited)")
    show.add_argument("message_id", metavar="ID", help="message id (as `dlq list` shows it)")
    show.add_argument("--queue", default=None, help="only this work queue's DLQ")
    admin.add_common(show, output=False)
    show.set_defaults(handler=run_show)

    replay = sub.add_parser("replay", help="send dead letters back to their work queue (audited)")
    which = replay.add_mutually_exclusive_group(required=True)
    which.add_argument("message_id", nargs="?", metavar="ID", help="one message id")
    which.add_argument("--all", action="store_true", help="every dead letter")
    which.add_argument(
        "--filter", action="store_true", help="the dead letters the filter options select"
    )
    _filters(replay)
    replay.add_argument(
        "--max-replays",
        type=int,
        default=3,
        help="loop guard: refuse a message already replayed this many times (default 3)",
    )
    replay.add_argument("--dry-run", action="store_true", help="say what would be replayed")
    replay.add_argument(
        "--resend",
        action="store_true",
        help="for a loader command dead-lettered because an interrupted attempt may have"
        " reached the target: you checked the target does not hold it, so send it again",
    )
    _limit(replay, "replay at most N dead letters (refused ones do not count)")
    admin.add_common(replay)
    replay.set_defaults(handler=run_replay)

    purge = sub.add_parser("purge", help="delete dead letters (confirmation; audited)")
    _filters(purge)
    purge.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    _limit(purge, "delete at most N dead letters (the oldest first)")
    admin.add_common(purge, output=False)
    purge.set_defaults(handler=run_purge)


def _limit(parser: argparse.ArgumentParser, text: str) -> None:
    parser.add_argument("--limit", type=_positive, default=None, metavar="N", help=text)


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("--limit takes a number of at least 1")
    return number


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--queue", default=None, help="work queue, e.g. loader.oscar")
    parser.add_argument("--flow", default=None, help="flow, e.g. c1")
    parser.add_argument("--error-class", default=None, help="e.g. HttpStatusError, MappingGap")
    parser.add_argument(
        "--since",
        type=admin.parse_since,
        default=None,
        help="last failure at or after (ISO timestamp, or an age: 30m, 2h, 7d)",
    )


# -- reading ----------------------------------------------------------------------------------


def _dlqs(topology: Topology, queue: str | None) -> list[str]:
    """The DLQs to read: every work queue's, or the one `--queue` names (with or without prefix)."""
    names = list(topology.work_queues)
    if queue is None:
        return [topology.work_queues[n].dlq for n in names]
    prefix = topology.raw_exchange.rsplit(".", 1)[0]
    wanted = {queue, f"{prefix}.{queue}", queue.removesuffix(".dlq")}
    chosen = [topology.work_queues[n].dlq for n in names if n in wanted]
    if not chosen:
        known = ", ".join(n.removeprefix(f"{prefix}.") for n in names)
        raise StartupError(f"unknown work queue {queue!r}; known: {known}", CONFIG)
    return chosen


#: Message ids an audit entry lists; past this, the entry says how many were left out.
AUDIT_IDS = 1000


@contextlib.contextmanager
def reading(conn: BlockingConnection) -> Iterator[BlockingChannel]:
    """One channel for a whole command; closing it returns every message not acked."""
    channel = conn.channel()
    try:
        yield channel
    finally:
        with contextlib.suppress(Exception):
            channel.close()


def scan(conn: BlockingConnection, channel: BlockingChannel, dlqs: list[str]) -> Iterator[Held]:
    """The messages of `dlqs`, one at a time, each held unacked on `channel`.

    A message the caller neither acks nor keeps stays held (the broker does not hand it out
    again) until the channel closes; the caller drops its body. Each DLQ is read at most as deep
    as its depth when its turn came, so new arrivals are not met.
    """
    for got in admin_amqp.get_each(conn, channel, dlqs):
        letter = _letter(got.body, got.properties)
        yield Held(got.queue, got.delivery_tag, got.properties, got.body, letter)


def _letter(body: bytes, props: pika.BasicProperties) -> DeadLetter:
    headers = dict(props.headers or {})
    try:
        return DeadLetter.from_message(
            body,
            headers,
            message_id=props.message_id,
            correlation_id=props.correlation_id,
            message_type=props.type,
        )
    except ValidationError:  # not ours at all: show what the broker knows
        return DeadLetter(
            queue="",
            stage="unknown",
            message_id=props.message_id,
            error_class="Unreadable",
            error_message="dead letter without casebridge or broker headers",
            attempts=0,
            original_headers=headers,
            body_b64=base64.b64encode(body).decode(),
        )


def selected(letter: DeadLetter, args: argparse.Namespace) -> bool:
    """Whether the message id and filter options select this dead letter."""
    return matches(metadata(letter), args)


def matches(m: dict[str, Any], args: argparse.Namespace) -> bool:
    """Whether the message id and filter options select a dead letter's metadata."""
    wanted = getattr(args, "message_id", None)
    if wanted and not _same_id(str(m.get("message_id") or ""), wanted):
        return False
    if args.flow and m.get("flow") != args.flow:
        return False
    if args.error_class and m.get("error_class") != args.error_class:
        return False
    since: datetime | None = args.since
    if since is not None:
        when = m.get("last_failure") or m.get("first_failure")
        if when is None or _aware(datetime.fromisoformat(when)) < since:
            return False
    return True


#: Characters of a message id `dlq list` shows; `show` and `replay` take such a prefix.
SHORT_ID = 12


def _same_id(message_id: str, wanted: str) -> bool:
    """The full id, or the short id `dlq list` shows (a prefix of at least SHORT_ID characters)."""
    return message_id == wanted or (len(wanted) >= SHORT_ID and message_id.startswith(wanted))


def _ids(ids: list[str]) -> dict[str, Any]:
    """Message ids for an audit entry, capped (the count says how many there were)."""
    return {"message_ids": ids[:AUDIT_IDS], "message_ids_left_out": max(0, len(ids) - AUDIT_IDS)}


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when else None


def _filter_detail(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "queue": args.queue,
        "flow": getattr(args, "flow", None),
        "error_class": getattr(args, "error_class", None),
        "since": _iso(getattr(args, "since", None)),
        "limit": getattr(args, "limit", None),
    }


# -- commands ---------------------------------------------------------------------------------


def run_list(args: argparse.Namespace) -> int:
    found = _from_file(args) if args.file is not None else _from_broker(args)
    title = f"dead letters: {len(found)}"
    if args.file is not None:
        title += f" (from {args.file})"
    if args.wide or args.json:
        records = [{c: m.get(c) for c in (*COLUMNS, "stage")} for m in found]
        rows = [[m[c] for c in COLUMNS] for m in records]
        admin.emit(args, COLUMNS, rows, records=records, title=title)
    else:
        now = datetime.now(UTC)
        rows = [_short(m, now) for m in found]
        admin.emit(args, SHORT_COLUMNS, rows, title=title, width=LIST_WIDTH, clip="reason")
    return 0


def _from_broker(args: argparse.Namespace) -> list[dict[str, Any]]:
    config = admin.settings()
    topology = admin.topology(config)
    found: list[dict[str, Any]] = []
    with admin.connection(config) as conn, reading(conn) as channel:
        admin.require_prefix(conn, config, topology)
        for item in scan(conn, channel, _dlqs(topology, args.queue)):
            if selected(item.letter, args):
                found.append(metadata(item.letter))
                if args.limit is not None and len(found) >= args.limit:
                    break
    admin.audit(config, args, "dlq.list", len(found), _filter_detail(args), required=False)
    return found


def _from_file(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The selected records of `--file`: no broker, no control store (nothing to audit: the
    file holds metadata only, and reading it changes nothing)."""
    path: Path = args.file
    if not path.is_file():
        raise StartupError(f"no dead-letter file at {path}", CONFIG)
    found: list[dict[str, Any]] = []
    try:
        for m in dead_letter_file.read(path):
            if _in_queue(m, args.queue) and matches(m, args):
                found.append(m)
                if args.limit is not None and len(found) >= args.limit:
                    break
    except dead_letter_file.UnreadableLine as exc:
        raise StartupError(str(exc), CONFIG) from exc
    return found


def _in_queue(m: dict[str, Any], queue: str | None) -> bool:
    """`--queue` for a file: the work queue's name with or without its topology prefix."""
    if queue is None:
        return True
    name, wanted = str(m.get("queue") or ""), queue.removesuffix(".dlq")
    return name == wanted or name.endswith(f".{wanted}")


def _short(m: dict[str, Any], now: datetime) -> list[Any]:
    when = m.get("last_failure") or m.get("first_failure")
    age = _age(now - _aware(datetime.fromisoformat(when))) if when else ""
    return [str(m.get("message_id") or "")[:SHORT_ID], age, m.get("flow"), m.get("stage"),
            m.get("reason")]  # fmt: skip


def _age(delta: timedelta) -> str:
    """A compact age: 45s, 12m, 5h, 3d."""
    seconds = max(0, int(delta.total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def run_show(args: argparse.Namespace) -> int:
    config = admin.settings()
    topology = admin.topology(config)
    args.flow = args.error_class = args.since = None
    found: Held | None = None
    with admin.connection(config) as conn, reading(conn) as channel:
        admin.require_prefix(conn, config, topology)
        for item in scan(conn, channel, _dlqs(topology, args.queue)):
            if selected(item.letter, args):
                found = item
                break
    if found is None:
        return admin.fail(f"no dead letter with message id {args.message_id}")
    letter = found.letter
    # Audited before anything is revealed: no audit entry, no payload.
    admin.audit(
        config,
        args,
        "dlq.show",
        1,
        {"message_id": letter.message_id, "queue": letter.queue, "dlq": found.dlq},
    )
    document = {
        **metadata(letter),
        "stage": letter.stage,
        "message_type": letter.message_type,
        "mapping_version": letter.mapping_version,
        "traceback": letter.traceback,
        "headers": letter.original_headers,
        "payload": _payload(letter.body),
    }
    json.dump(document, sys.stdout, ensure_ascii=False, indent=2, default=_json_default)
    sys.stdout.write("\n")
    return 0


def _payload(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return {"body_b64": base64.b64encode(body).decode()}


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def replay_properties(held: Held) -> pika.BasicProperties:
    """The original properties with the dead-letter and retry headers gone, the replay counted."""
    props = held.properties
    headers = {
        k: v
        for k, v in (props.headers or {}).items()
        if not k.startswith(h.DEAD_PREFIX) and k not in RETRY_HEADERS
    }
    headers[h.REPLAY_COUNT] = held.letter.replay_count + 1
    return pika.BasicProperties(
        content_type=props.content_type,
        content_encoding=props.content_encoding,
        headers=headers,
        delivery_mode=2,
        priority=props.priority,
        correlation_id=props.correlation_id,
        message_id=props.message_id,
        timestamp=props.timestamp,
        type=props.type,
        app_id=props.app_id,
    )


def run_replay(args: argparse.Namespace) -> int:
    config = admin.settings()
    topology = admin.topology(config)
    if not args.dry_run:
        admin.control_url(config)  # a replay the audit log cannot record does not start
    replayed: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    intents = IntentEraser(config) if args.resend and not args.dry_run else None
    try:
        with admin.connection(config) as conn, reading(conn) as channel:
            admin.require_prefix(conn, config, topology)
            if not args.dry_run:
                channel.confirm_delivery()
            for item in scan(conn, channel, _dlqs(topology, args.queue)):
                letter = item.letter
                if not selected(letter, args):
                    continue  # stays held, body dropped; back in the DLQ when the channel closes
                view = {"message_id": letter.message_id, "queue": letter.queue,
                        "replays": letter.replay_count}  # fmt: skip
                if letter.replay_count >= args.max_replays:
                    refused.append({**view, "why": f"replayed {letter.replay_count} times already"})
                elif not letter.queue or letter.queue not in topology.work_queues:
                    refused.append({**view, "why": f"unknown work queue {letter.queue!r}"})
                elif args.resend and (why := resend_refusal(item.body)):
                    refused.append({**view, "why": why})
                else:
                    if intents is not None:
                        # Before the republish: the loader must find no intent when it comes.
                        intents.erase(item.body)
                    if not args.dry_run:
                        # Default exchange, routing key = the work queue; mandatory: an
                        # unroutable message raises instead of vanishing. The DLQ copy goes
                        # only after the confirm (basic_publish waits for it).
                        admin_amqp.republish(
                            channel, letter.queue, item.body, replay_properties(item)
                        )
                        channel.basic_ack(item.delivery_tag)
                    replayed.append(view)
                if args.message_id or (args.limit is not None and len(replayed) >= args.limit):
                    break
    finally:
        # Also after a failure part-way: what was moved is on record.
        admin.audit(
            config,
            args,
            "dlq.replay",
            len(replayed),
            {
                "dry_run": args.dry_run,
                "selection": args.message_id or ("all" if args.all else "filter"),
                "filter": _filter_detail(args),
                "max_replays": args.max_replays,
                "resend": args.resend,
                **_ids([r["message_id"] for r in replayed]),
                "refused": [r["message_id"] for r in refused][:AUDIT_IDS],
            },
            required=not args.dry_run,
        )
        if intents is not None:
            intents.close()
    if args.message_id and not replayed and not refused:
        return admin.fail(f"no dead letter with message id {args.message_id}")
    _report_replay(args, replayed, refused)
    return 1 if refused and not replayed else 0


def _report_replay(
    args: argparse.Namespace, replayed: list[dict[str, Any]], refused: list[dict[str, Any]]
) -> None:
    verb = "would replay" if args.dry_run else "replayed"
    if args.json:
        document = {"dry_run": args.dry_run, "replayed": replayed, "refused": refused}
        json.dump(document, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    for item in replayed:
        print(f"{verb} {item['message_id']} -> {item['queue']} (replay {item['replays'] + 1})")
    for item in refused:
        print(f"refused {item['message_id']}: {item['why']}", file=sys.stderr)
    print(f"{verb} {len(replayed)}, refused {len(refused)}")


def run_purge(args: argparse.Namespace) -> int:
    config = admin.settings()
    topology = admin.topology(config)
    args.message_id = None
    with admin.connection(config) as conn, reading(conn) as channel:
        admin.require_prefix(conn, config, topology)
        # Held until the answer: exactly the messages counted are the ones deleted. Only their
        # delivery tags and ids are kept.
        chosen: list[tuple[int, str]] = []
        for item in scan(conn, channel, _dlqs(topology, args.queue)):
            if selected(item.letter, args):
                chosen.append((item.delivery_tag, str(item.letter.message_id)))
                if args.limit is not None and len(chosen) >= args.limit:
                    break
        if not chosen:
            print("nothing to purge")
            return 0
        if not args.yes and not _confirm(len(chosen)):
            return admin.fail("purge cancelled (pass --yes, or answer 'yes')", 2)
        ids = [message_id for _, message_id in chosen]
        # Audited first: a purge the audit log cannot record does not happen.
        admin.audit(
            config, args, "dlq.purge", len(ids), {"filter": _filter_detail(args), **_ids(ids)}
        )
        for tag, _ in chosen:
            channel.basic_ack(tag)
    print(f"purged {len(ids)}")
    return 0


def _confirm(count: int) -> bool:
    if not sys.stdin.isatty():
        return False
    answer = input(f"delete {count} dead letter(s) for good? type 'yes': ")
    return answer.strip().lower() == "yes"


def resend_refusal(body: bytes) -> str | None:
    """Why `--resend` cannot apply to this dead letter's body (None: it can)."""
    try:
        message = default_registry().decode(body)
    except Exception:
        return "--resend: the body is not a readable message"
    if not isinstance(message, UpsertCommand):
        return "--resend applies to loader commands only"
    return None


class IntentEraser:
    """Drops the intent rows of re-sent commands from the control store (one connection for the
    whole replay), so the loader sends them instead of refusing them again as uncertain."""

    def __init__(self, config: admin.AdminSettings) -> None:
        self._loop = asyncio.new_event_loop()
        url = admin.control_url(config)
        self._store = self._loop.run_until_complete(open_control_store(url))

    def erase(self, body: bytes) -> None:
        command = default_registry().decode(body)
        assert isinstance(command, UpsertCommand)
        stage = intents.loader_stage(command.target)
        intent = intents.intent_id(command.operation, command.key)
        self._loop.run_until_complete(self._store.forget(stage, [intent]))

    def close(self) -> None:
        self._loop.run_until_complete(self._store.close())
        self._loop.close()
