"""`casebridge status`: every work queue, retry tier and DLQ with its depth, consumers and rates;
the open circuit breakers of the loaders, the configuration problems services reported (e.g. a
Primero role that cannot read a filtered field, a 403 on the users index), and the fetchers'
cursors (from the control store).

Rates come from the RabbitMQ management API when it answers (the broker's own counters: publish,
deliver and ack per second, the figures of the management UI). Without it, status samples every
queue twice with `queue_declare(passive=True)`, `--sample` seconds apart, and shows the net
change of ready messages per second (positive: the queue grows; negative: it drains).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from pika.adapters.blocking_connection import BlockingConnection

from casebridge.control import BreakerRecord, Cursor, Problem, open_control_store
from casebridge.topology import Topology, retry_queue_name
from casebridge_cli import admin

#: Breaker states `status` lists (a closed breaker is business as usual).
OPEN_STATES = ("open", "half_open")
MANAGEMENT_TIMEOUT_S = 3.0


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "status",
        help="queue depths, consumers, rates, open circuit breakers, cursors",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--no-cursors",
        "--no-store",
        dest="no_store",
        action="store_true",
        help="skip the control store (cursors and circuit breakers)",
    )
    parser.add_argument(
        "--sample",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="without the management API: sample depths this far apart for a net rate"
        " (default 2; 0: no rates)",
    )
    parser.add_argument(
        "--no-management",
        action="store_true",
        help="do not ask the management API; sample instead",
    )
    parser.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="NAME",
        help="a loader target besides the shipped and installed ones (repeatable)",
    )
    admin.add_common(parser)
    parser.set_defaults(handler=run)


@dataclass
class QueueRead:
    """One passive declare: the queue, when it was read, and what the broker said."""

    work_queue: str
    kind: str
    queue: str
    at: float
    counts: tuple[int, int] | None


def queue_names(topology: Topology) -> list[tuple[str, str, str]]:
    """(work queue, kind, queue) for every work queue, retry tier and DLQ of the topology."""
    out: list[tuple[str, str, str]] = []
    for wq in topology.work_queues.values():
        out.append((wq.name, "work", wq.name))
        out += [(wq.name, "retry", retry_queue_name(wq.name, d)) for d in wq.retry_delays]
        out.append((wq.name, "dlq", wq.dlq))
    return out


def read_queues(conn: BlockingConnection, names: list[tuple[str, str, str]]) -> list[QueueRead]:
    reads = []
    for work_queue, kind, queue in names:
        counts = admin.queue_counts(conn, queue)
        reads.append(QueueRead(work_queue, kind, queue, time.monotonic(), counts))
    return reads


def sampled_rates(
    conn: BlockingConnection, first: list[QueueRead], interval_s: float
) -> dict[str, float]:
    """Net change of ready messages per second, each queue read twice `interval_s` apart."""
    time.sleep(interval_s)
    second = read_queues(conn, [(r.work_queue, r.kind, r.queue) for r in first])
    rates: dict[str, float] = {}
    for before, after in zip(first, second, strict=True):
        if before.counts is None or after.counts is None or after.at <= before.at:
            continue
        rates[before.queue] = (after.counts[0] - before.counts[0]) / (after.at - before.at)
    return rates


def management_base(config: admin.AdminSettings) -> tuple[str, str | None, str]:
    """(API base URL, basic-auth credentials or None, vhost) for the management API."""
    amqp = urllib.parse.urlsplit(config.rabbitmq_url.get_secret_value())
    vhost = urllib.parse.unquote(amqp.path[1:]) if len(amqp.path) > 1 else "/"
    if config.rabbitmq_management_url is not None:
        url = urllib.parse.urlsplit(config.rabbitmq_management_url.get_secret_value())
    else:
        netloc = f"{amqp.username or ''}:{amqp.password or ''}@{amqp.hostname or 'localhost'}:15672"
        url = urllib.parse.urlsplit(f"http://{netloc}")
    credentials = None
    if url.username is not None:
        user = urllib.parse.unquote(url.username)
        credentials = f"{user}:{urllib.parse.unquote(url.password or '')}"
    host = url.hostname or "localhost"
    base = f"{url.scheme}://{host}{f':{url.port}' if url.port else ''}{url.path.rstrip('/')}"
    return base, credentials, vhost


def management_rates(
    config: admin.AdminSettings, queues: set[str]
) -> tuple[dict[str, dict[str, Any]] | None, str]:
    """Per queue: unacked, in/s (publish), out/s (ack), deliver/s; or None and why not."""
    base, credentials, vhost = management_base(config)
    if not base.startswith(("http://", "https://")):
        return None, f"management API URL {base!r} is not http(s)"
    request = urllib.request.Request(  # noqa: S310 - http(s) only, checked above
        f"{base}/api/queues/{urllib.parse.quote(vhost, safe='')}"
        "?columns=name,messages_unacknowledged,message_stats"
    )
    if credentials is not None:
        token = base64.b64encode(credentials.encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=MANAGEMENT_TIMEOUT_S) as response:  # noqa: S310
            document = json.loads(response.read())
    except (OSError, ValueError) as exc:  # refused, timeout, 401, not JSON
        return None, f"management API at {base} not answering ({type(exc).__name__})"
    if not isinstance(document, list):
        return None, f"management API at {base} answered something unexpected"
    rates: dict[str, dict[str, Any]] = {}
    for item in document:
        if not isinstance(item, dict) or item.get("name") not in queues:
            continue
        stats = item.get("message_stats") or {}
        rates[item["name"]] = {
            "unacked": item.get("messages_unacknowledged"),
            "in_per_s": _rate(stats, "publish"),
            "out_per_s": _rate(stats, "ack"),
            "deliver_per_s": _rate(stats, "deliver_get"),
        }
    return rates, f"management API at {base}"


def _rate(stats: dict[str, Any], name: str) -> float:
    details = stats.get(f"{name}_details") or {}
    return float(details.get("rate") or 0.0)


async def from_store(
    config: admin.AdminSettings,
) -> tuple[list[Cursor], list[BreakerRecord], list[Problem]]:
    store = await open_control_store(config.control_database_url.get_secret_value())
    try:
        return await store.list_cursors(), await store.list_breakers(), await store.list_problems()
    finally:
        await store.close()


def run(args: argparse.Namespace) -> int:
    config = admin.settings()
    topology = admin.topology(config, args.target)
    names = queue_names(topology)
    management: dict[str, dict[str, Any]] | None = None
    net: dict[str, float] = {}
    rates_source = "none"
    with admin.connection(config) as conn:
        reads = read_queues(conn, names)
        if not args.no_management:
            management, why = management_rates(config, {q for _, _, q in names})
            if management is not None:
                rates_source = why
            elif args.sample > 0:
                print(f"casebridge: {why}; sampling depths instead", file=sys.stderr)
        if management is None and args.sample > 0:
            net = sampled_rates(conn, reads, args.sample)
            rates_source = f"sampled over {args.sample:g}s (net change of ready messages)"
    queues = [_queue_row(r, management, net) for r in reads]

    status = 0
    cursors: list[Cursor] = []
    breakers: list[BreakerRecord] = []
    problems: list[Problem] = []
    if not args.no_store:
        try:
            cursors, breakers, problems = asyncio.run(from_store(config))
        except Exception as exc:
            status = admin.fail(f"control store unreachable ({type(exc).__name__})")
            args.no_store = True
    open_breakers = [b for b in breakers if b.state in OPEN_STATES]
    admin.audit(
        config,
        args,
        "status",
        len(queues),
        {"targets": list(topology_targets(topology)), "rates": rates_source},
        required=False,
    )
    _print(args, queues, rates_source, open_breakers, cursors, problems)
    return status


def topology_targets(topology: Topology) -> list[str]:
    return [name.rsplit(".", 1)[-1] for name in topology.work_queues if ".loader." in name]


def _queue_row(
    read: QueueRead, management: dict[str, dict[str, Any]] | None, net: dict[str, float]
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "work_queue": read.work_queue,
        "kind": read.kind,
        "queue": read.queue,
        "ready": None if read.counts is None else read.counts[0],
        "consumers": None if read.counts is None else read.counts[1],
        "exists": read.counts is not None,
        "unacked": None,
        "in_per_s": None,
        "out_per_s": None,
        "net_per_s": None,
    }
    if management is not None and read.queue in management:
        found = management[read.queue]
        row.update(found)
        row["net_per_s"] = round(found["in_per_s"] - found["out_per_s"], 2)
    elif read.queue in net:
        row["net_per_s"] = round(net[read.queue], 2)
    return row


def _print(
    args: argparse.Namespace,
    queues: list[dict[str, Any]],
    rates_source: str,
    breakers: list[BreakerRecord],
    cursors: list[Cursor],
    problems: list[Problem],
) -> None:
    breaker_rows = [
        {
            "target": b.target,
            "instance": b.instance,
            "state": b.state,
            "since": b.since.isoformat(),
            "failures": b.failures,
            "last_error_class": b.last_error_class,
        }
        for b in breakers
    ]
    cursor_rows = [
        {"name": c.name, "value": c.value, "updated_at": c.updated_at.isoformat()} for c in cursors
    ]
    problem_rows = [
        {
            "source": p.source,
            "reason": p.reason,
            "since": p.since.isoformat(),
            "last_at": p.last_at.isoformat(),
            "count": p.count,
        }
        for p in problems
    ]
    if args.json:
        document = {
            "queues": queues,
            "rates": rates_source,
            "open_breakers": breaker_rows,
            "problems": problem_rows,
            "cursors": cursor_rows,
        }
        admin.emit(args, [], [], records=document)
        return
    columns = ("queue", "kind", "ready", "unacked", "consumers", "in/s", "out/s", "net/s")
    admin.emit(
        args,
        columns,
        [
            [
                q["queue"],
                q["kind"],
                _n(q["ready"]),
                _blank(q["unacked"]),
                _n(q["consumers"]),
                _blank(q["in_per_s"]),
                _blank(q["out_per_s"]),
                _blank(q["net_per_s"]),
            ]
            for q in queues
        ],
        title=f"queues (rates: {rates_source})",
    )
    if args.no_store:
        return
    admin.emit(
        args,
        ("target", "instance", "state", "since", "failures", "last_error_class"),
        [list(b.values()) for b in breaker_rows],
        title=f"open circuit breakers: {len(breaker_rows)}",
    )
    admin.emit(
        args,
        ("source", "reason", "since", "last_at", "count"),
        [list(p.values()) for p in problem_rows],
        title=f"configuration problems: {len(problem_rows)}",
    )
    admin.emit(
        args,
        ("name", "value", "updated_at"),
        [[c["name"], c["value"], c["updated_at"]] for c in cursor_rows],
        title="cursors",
    )


def _n(value: int | None) -> str:
    return "missing" if value is None else str(value)


def _blank(value: Any) -> str:
    return "" if value is None else str(value)
