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
import sys
import time
from dataclasses import dataclass
from typing import Any

from pika.adapters.blocking_connection import BlockingConnection

from casebridge.control import BreakerRecord, Cursor, Problem
from casebridge.topology import Topology, retry_queue_name
from casebridge_cli import admin

#: Breaker states `status` lists (a closed breaker is business as usual).
OPEN_STATES = ("open", "half_open")


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


#: Retry tiers looked for by name when the management API cannot list the queues: a service
#: deployed with other RETRY_DELAYS_S than the CLI's environment still has its tiers shown.
PROBED_DELAYS_S = (0.5, 1, 2, 3, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 240, 300, 600, 900,
                   1200, 1800, 3600, 7200)  # fmt: skip


def queue_names(
    topology: Topology, found_tiers: dict[str, list[str]] | None = None
) -> list[tuple[str, str, str]]:
    """(work queue, kind, queue) for every work queue, retry tier and DLQ.

    Retry tiers: the ones the topology (this environment's RETRY_DELAYS_S) names, plus those
    `found_tiers` says exist on the broker, ordered by delay.
    """
    out: list[tuple[str, str, str]] = []
    for wq in topology.work_queues.values():
        out.append((wq.name, "work", wq.name))
        tiers = [retry_queue_name(wq.name, d) for d in wq.retry_delays]
        tiers += [t for t in (found_tiers or {}).get(wq.name, []) if t not in tiers]
        out += [(wq.name, "retry", t) for t in sorted(tiers, key=_tier_seconds)]
        out.append((wq.name, "dlq", wq.dlq))
    return out


def _tier_seconds(name: str) -> float:
    label = name.rsplit(".", 1)[-1]
    try:
        return float(label[:-2]) / 1000 if label.endswith("ms") else float(label.rstrip("s"))
    except ValueError:
        return float("inf")


def tiers_on_broker(
    conn: BlockingConnection, topology: Topology, listed: list[dict[str, Any]] | None
) -> dict[str, list[str]]:
    """The retry tiers that exist on the broker per work queue: from the management API's queue
    list when there is one, else by passive declares of the names PROBED_DELAYS_S would give."""
    found: dict[str, list[str]] = {}
    names = None if listed is None else {str(q.get("name", "")) for q in listed}
    for wq in topology.work_queues.values():
        if names is not None:
            found[wq.name] = [n for n in names if n.startswith(f"{wq.name}.retry.")]
            continue
        candidates = dict.fromkeys(retry_queue_name(wq.name, d) for d in PROBED_DELAYS_S)
        found[wq.name] = [n for n in candidates if admin.queue_counts(conn, n) is not None]
    return found


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


def management_rates(listed: list[dict[str, Any]], queues: set[str]) -> dict[str, dict[str, Any]]:
    """Per queue: unacked, in/s (publish), out/s (ack), deliver/s, from the management API."""
    rates: dict[str, dict[str, Any]] = {}
    for item in listed:
        if item.get("name") not in queues:
            continue
        stats = item.get("message_stats") or {}
        rates[item["name"]] = {
            "unacked": item.get("messages_unacknowledged"),
            "in_per_s": _rate(stats, "publish"),
            "out_per_s": _rate(stats, "ack"),
            "deliver_per_s": _rate(stats, "deliver_get"),
        }
    return rates


def _rate(stats: dict[str, Any], name: str) -> float:
    details = stats.get(f"{name}_details") or {}
    return float(details.get("rate") or 0.0)


async def from_store(
    config: admin.AdminSettings,
) -> tuple[list[Cursor], list[BreakerRecord], list[Problem]]:
    store = await admin.open_store(config)
    try:
        return await store.list_cursors(), await store.list_breakers(), await store.list_problems()
    finally:
        await store.close()


def run(args: argparse.Namespace) -> int:
    config = admin.settings()
    topology = admin.topology(config, args.target)
    management: dict[str, dict[str, Any]] | None = None
    net: dict[str, float] = {}
    rates_source = "none"
    with admin.connection(config) as conn:
        admin.require_prefix(conn, config, topology)
        listed: list[dict[str, Any]] | None = None
        why = "management API not asked (--no-management)"
        if not args.no_management:
            listed, why = admin.management(config).queues(
                "name,messages_unacknowledged,message_stats"
            )
        names = queue_names(topology, tiers_on_broker(conn, topology, listed))
        reads = read_queues(conn, names)
        if listed is not None:
            management = management_rates(listed, {q for _, _, q in names})
            rates_source = why
        elif args.sample > 0 and not args.no_management:
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
            status = admin.fail(f"control store not read: {admin.why(exc)}")
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
