"""`casebridge fetch --flow F --since T [--dry-run]`: backfill a window by moving the flow's
fetch cursors back to T.

The fetchers keep one cursor per source query in the control store and start each pass at the
cursor (minus their overlap). Lowering the cursors to T makes the next pass re-read everything
changed since T. Every record version already published has the same deterministic message id
as before and is dropped by the fetcher's dedup (and the loaders' processed-message record);
what the window holds that was never published goes out. (O1 remembers only its overlap, so it
re-sends the whole window; the ONA upsert makes the repeats no-ops.) A cursor already at or
before T is left as it is. The command changes no fetcher code path and imports no service: it
writes the cursors the fetchers read, in their own format, and is audited (old and new values).
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from casebridge_cli import admin


@dataclass(frozen=True)
class FlowCursors:
    """Which fetcher reads a flow, the cursors of its queries, how it writes them."""

    fetcher: str
    cursors: tuple[str, ...]
    style: str  # "primero": 2026-01-02T03:04:05.000Z; "iso": Python isoformat with offset
    note: str = ""


#: The fetchers' cursor names per flow (cli/tests check them against the fetchers' constants).
FLOWS: dict[str, FlowCursors] = {
    "c1": FlowCursors("fetcher-primero", ("primero:c1-cases",), "primero"),
    "o1": FlowCursors("fetcher-primero", ("primero:o1-4.8", "primero:o1-4.11a"), "primero"),
    "p2": FlowCursors("fetcher-primero", ("primero:p2-cases",), "primero"),
    "p3": FlowCursors("fetcher-primero", ("primero:p3-cases",), "primero"),
    "c0": FlowCursors(
        "fetcher-oscar",
        ("oscar:clients",),
        "iso",
        "c0 and c2 share OSCaR's clients feed: both flows re-read it, from midnight of T's day",
    ),
    "c2": FlowCursors(
        "fetcher-oscar",
        ("oscar:clients",),
        "iso",
        "c0 and c2 share OSCaR's clients feed: both flows re-read it, from midnight of T's day",
    ),
}
#: Flows that arrive by webhook (inbox): nothing here polls them, so nothing to move back.
PUSHED = {"p1", "p4"}


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "fetch",
        help="backfill: move a flow's fetch cursors back so the next pass re-reads since T",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--flow",
        action="append",
        required=True,
        metavar="F",
        help=f"flow to backfill ({', '.join(FLOWS)}); repeatable or comma-separated",
    )
    parser.add_argument(
        "--since",
        type=admin.parse_since,
        required=True,
        metavar="T",
        help="start of the window: an ISO timestamp (UTC when naive) or an age (30m, 2h, 7d)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="show old -> new for each cursor, change nothing"
    )
    parser.add_argument(
        "--create",
        action="store_true",
        help="a query without a cursor yet gets one at T (without: refused, since its next"
        " pass reads from the fetcher's configured start, not from T)",
    )
    admin.add_common(parser)
    parser.set_defaults(handler=run)


def cursor_text(moment: datetime, style: str) -> str:
    """`moment` the way the fetcher of that style writes its cursors."""
    utc = moment.astimezone(UTC)
    if style == "primero":
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    return utc.isoformat()


def _parse(value: str) -> datetime:
    moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def flows_of(args: argparse.Namespace) -> list[str]:
    named = [f.strip().lower() for item in args.flow for f in item.split(",") if f.strip()]
    return list(dict.fromkeys(named))


@dataclass
class Move:
    flow: str
    cursor: str
    before: str | None
    after: str | None  # None: left as it is
    why: str


#: Why a missing cursor is refused without `--create`.
NO_CURSOR = "no cursor yet: the next pass reads from the fetcher's configured start, not from T"


def plan(
    flows: list[str], since: datetime, current: dict[str, str], *, create: bool = False
) -> list[Move]:
    """What happens to each cursor of `flows` (a cursor shared by two flows appears once)."""
    moves: list[Move] = []
    done: set[str] = set()
    for flow in flows:
        spec = FLOWS[flow]
        for name in spec.cursors:
            if name in done:
                continue
            done.add(name)
            before = current.get(name)
            target = cursor_text(since, spec.style)
            if before is None and create:
                moves.append(Move(flow, name, None, target, "created at T"))
            elif before is None:
                moves.append(Move(flow, name, None, None, NO_CURSOR))
            elif _parse(before) <= since:
                moves.append(Move(flow, name, before, None, "already at or before T"))
            else:
                moves.append(Move(flow, name, before, target, "lowered"))
    return moves


def run(args: argparse.Namespace) -> int:
    flows = flows_of(args)
    pushed = sorted(set(flows) & PUSHED)
    if pushed:
        return admin.fail(
            f"{', '.join(pushed)} arrive by webhook through the inbox: no cursor to move back"
            " (ask the sender to resend, or replay from the DLQ)",
            2,
        )
    unknown = sorted(set(flows) - set(FLOWS))
    if unknown:
        return admin.fail(f"unknown flow {', '.join(unknown)}; known: {', '.join(FLOWS)}", 2)
    since: datetime = args.since
    if since > datetime.now(UTC):
        return admin.fail("--since is in the future: nothing to backfill", 2)
    config = admin.settings()

    async def read() -> dict[str, str]:
        store = await admin.open_store(config)
        try:
            return {c.name: c.value for c in await store.list_cursors()}
        finally:
            await store.close()

    try:
        moves = plan(flows, since, asyncio.run(read()), create=args.create)
    except ValueError as exc:
        return admin.fail(f"a stored cursor is not a timestamp: {exc}")
    missing = [m.cursor for m in moves if m.why == NO_CURSOR]
    if missing:
        # Nothing written: a partial backfill that reads as done would be silent success.
        return admin.fail(
            f"{', '.join(missing)}: no cursor yet, so the next pass reads from the fetcher's"
            " configured start, not from T; nothing changed (pass --create to start at T)"
        )
    lowered = [m for m in moves if m.after is not None]
    detail = {
        "flows": flows,
        "since": since.isoformat(),
        "dry_run": args.dry_run,
        "cursors": [{"name": m.cursor, "from": m.before, "to": m.after} for m in moves],
    }
    # Audited before anything moves (a dry run: best effort, it changes nothing).
    admin.audit(config, args, "fetch.backfill", len(lowered), detail, required=not args.dry_run)
    if not args.dry_run and lowered:

        async def write() -> None:
            store = await admin.open_store(config)
            try:
                for move in lowered:
                    assert move.after is not None
                    await store.set_cursor(move.cursor, move.after)
            finally:
                await store.close()

        asyncio.run(write())
    _report(args, moves, flows)
    return 0


def _result(args: argparse.Namespace, move: Move) -> str:
    if move.after is None:
        return move.why
    if move.before is None:
        return "would create at T" if args.dry_run else "created at T"
    return "would lower" if args.dry_run else "lowered"


def _report(args: argparse.Namespace, moves: list[Move], flows: list[str]) -> None:
    records = [
        {
            "flow": m.flow,
            "fetcher": FLOWS[m.flow].fetcher,
            "cursor": m.cursor,
            "from": m.before,
            "to": m.after,
            "result": _result(args, m),
        }
        for m in moves
    ]
    if args.json or args.plain:
        columns = ("flow", "fetcher", "cursor", "from", "to", "result")
        admin.emit(args, columns, [[r[c] for c in columns] for r in records], records=records)
        return
    for r in records:
        arrow = f"{r['from']} -> {r['to']}" if r["to"] else (r["from"] or "(none)")
        print(f"{r['cursor']} ({r['fetcher']}): {arrow}: {r['result']}")
    for note in dict.fromkeys(FLOWS[f].note for f in flows if FLOWS[f].note):
        print(f"note: {note}")
    lowered = sum(1 for r in records if r["to"])
    if lowered and not args.dry_run:
        print(
            f"{lowered} cursor(s) lowered or created: the fetcher's next pass re-reads the"
            " window; a pass running right now may move them forward again: check with"
            " `casebridge cursor show`"
        )
