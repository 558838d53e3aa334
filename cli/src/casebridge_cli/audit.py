"""`casebridge audit [--since T] [--actor A] [--action X] [--limit N]`: the admin actions on
record (who, when, what, how many, under which topology prefix), oldest first.

Reading the audit log is itself not audited (it reveals no payload and changes nothing).
`--action dlq` selects every `dlq.*` action; `--prefix` the entries of one deployment.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from casebridge.control import AuditEntry
from casebridge_cli import admin


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "audit",
        help="the audit log: who did what, when, to how many",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--since",
        type=admin.parse_since,
        default=None,
        metavar="T",
        help="entries at or after T (ISO timestamp, or an age: 30m, 2h, 7d)",
    )
    parser.add_argument("--actor", dest="who", default=None, help="only this actor's entries")
    parser.add_argument(
        "--action", default=None, help="only this action (dlq.replay), or a family (dlq)"
    )
    parser.add_argument(
        "--prefix", default=None, help="only entries of this topology prefix (TOPOLOGY_PREFIX)"
    )
    parser.add_argument(
        "--limit", type=int, default=None, metavar="N", help="the N most recent entries only"
    )
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print JSON")
    fmt.add_argument("--plain", action="store_true", help="print tab-separated text")
    parser.set_defaults(handler=run)


def wanted(entry: AuditEntry, args: argparse.Namespace) -> bool:
    if args.who and entry.actor != args.who:
        return False
    if (
        args.action
        and entry.action != args.action
        and not entry.action.startswith(f"{args.action}.")
    ):
        return False
    return not (args.prefix and entry.detail.get("prefix") != args.prefix)


def run(args: argparse.Namespace) -> int:
    config = admin.settings()

    async def read() -> list[AuditEntry]:
        store = await admin.open_store(config)
        try:
            return await store.audit_log(args.since)
        finally:
            await store.close()

    entries = [e for e in asyncio.run(read()) if wanted(e, args)]
    if args.limit is not None:
        entries = entries[-args.limit :] if args.limit > 0 else []
    records = [
        {
            "at": e.at.isoformat(),
            "actor": e.actor,
            "action": e.action,
            "count": e.count,
            "prefix": e.detail.get("prefix"),
            "detail": e.detail,
        }
        for e in entries
    ]
    rows = [
        [
            e.at.isoformat()[:19],
            e.actor,
            e.action,
            e.count,
            e.detail.get("prefix") or "",
            _brief(e.detail),
        ]
        for e in entries
    ]
    admin.emit(
        args,
        ("at", "actor", "action", "count", "prefix", "detail"),
        rows,
        records=records,
        title=f"audit entries: {len(rows)}",
        width=admin.TABLE_WIDTH,
        clip="detail",
    )
    return 0


def _brief(detail: dict[str, Any]) -> str:
    """The detail without the prefix (its own column) and with long id lists counted."""
    shown = {}
    for key, value in detail.items():
        if key == "prefix" or value in (None, [], {}, False):
            continue
        shown[key] = f"{len(value)} ids" if isinstance(value, list) and len(value) > 3 else value
    return json.dumps(shown, default=str, separators=(",", ":"))
