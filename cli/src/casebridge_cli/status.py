"""`casebridge status`: depth and consumers of every work queue, retry tier and DLQ
(`queue_declare(passive=True)`), and the fetchers' cursors from the control store."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from casebridge.control import Cursor, open_control_store
from casebridge.topology import retry_queue_name
from casebridge_cli import admin


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "status", help="queue depths, consumers and cursors", description=__doc__
    )
    parser.add_argument("--no-cursors", action="store_true", help="skip the control store")
    admin.add_common(parser)
    parser.set_defaults(handler=run)


def queue_rows(config: admin.AdminSettings) -> list[dict[str, Any]]:
    """One row per queue of the topology: work queue, kind, name, ready, consumers."""
    topology = admin.topology(config)
    rows: list[dict[str, Any]] = []
    with admin.connection(config) as conn:
        for wq in topology.work_queues.values():
            names = [("work", wq.name)]
            names += [("retry", retry_queue_name(wq.name, d)) for d in wq.retry_delays]
            names.append(("dlq", wq.dlq))
            for kind, name in names:
                counts = admin.queue_counts(conn, name)
                rows.append(
                    {
                        "work_queue": wq.name,
                        "kind": kind,
                        "queue": name,
                        "ready": None if counts is None else counts[0],
                        "consumers": None if counts is None else counts[1],
                        "exists": counts is not None,
                    }
                )
    return rows


async def cursors(config: admin.AdminSettings) -> list[Cursor]:
    store = await open_control_store(config.control_database_url.get_secret_value())
    try:
        return await store.list_cursors()
    finally:
        await store.close()


def run(args: argparse.Namespace) -> int:
    config = admin.settings()
    queues = queue_rows(config)
    found = [] if args.no_cursors else asyncio.run(cursors(config))
    cursor_rows = [
        {"name": c.name, "value": c.value, "updated_at": c.updated_at.isoformat()} for c in found
    ]
    if args.json:
        admin.emit(args, [], [], records={"queues": queues, "cursors": cursor_rows})
        return 0
    columns = ("queue", "kind", "ready", "consumers")
    admin.emit(
        args,
        columns,
        [[q["queue"], q["kind"], _n(q["ready"]), _n(q["consumers"])] for q in queues],
        title="queues",
    )
    if not args.no_cursors:
        admin.emit(
            args,
            ("name", "value", "updated_at"),
            [[c["name"], c["value"], c["updated_at"]] for c in cursor_rows],
            title="cursors",
        )
    return 0


def _n(value: int | None) -> str:
    return "missing" if value is None else str(value)
