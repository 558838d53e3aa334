"""`casebridge cursor show | reset NAME [--to VALUE]`: the fetchers' watermarks.

`reset` without `--to` deletes the cursor, so the next fetch starts from the beginning (the loaders'
processed-message record keeps a re-fetch from writing twice). Every reset is audited, before the
cursor changes. To re-read a window of one flow, `casebridge fetch --flow F --since T` is the
safer tool: it knows the flow's cursors and their format and only moves them back.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from casebridge_cli import admin


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "cursor", help="show or reset the fetchers' cursors", description=__doc__
    )
    sub = parser.add_subparsers(dest="cursor_command", required=True, metavar="ACTION")
    show = sub.add_parser("show", help="every cursor")
    admin.add_common(show)
    show.set_defaults(handler=run_show)
    reset = sub.add_parser("reset", help="delete a cursor, or set it with --to (audited)")
    reset.add_argument("name", metavar="NAME", help="cursor name, e.g. primero:c1-cases")
    reset.add_argument("--to", default=None, metavar="VALUE", help="new value instead of none")
    admin.add_common(reset, output=False)
    reset.set_defaults(handler=run_reset)


def run_show(args: argparse.Namespace) -> int:
    config = admin.settings()

    async def read() -> list[list[Any]]:
        store = await admin.open_store(config)
        try:
            return [[c.name, c.value, c.updated_at.isoformat()] for c in await store.list_cursors()]
        finally:
            await store.close()

    rows = asyncio.run(read())
    admin.audit(config, args, "cursor.show", len(rows), {}, required=False)
    admin.emit(args, ("name", "value", "updated_at"), rows, title="cursors")
    return 0


def run_reset(args: argparse.Namespace) -> int:
    config = admin.settings()

    async def current() -> str | None:
        store = await admin.open_store(config)
        try:
            before = await store.get_cursor(args.name)
            return before.value if before else None
        finally:
            await store.close()

    async def reset() -> None:
        store = await admin.open_store(config)
        try:
            if args.to is None:
                await store.delete_cursor(args.name)
            else:
                await store.set_cursor(args.name, args.to)
        finally:
            await store.close()

    before = asyncio.run(current())
    if before is None and args.to is None:
        return admin.fail(f"no cursor named {args.name}")
    # Audited first: a reset the audit log cannot record does not happen.
    admin.audit(config, args, "cursor.reset", 1, {"name": args.name, "from": before, "to": args.to})
    asyncio.run(reset())
    print(
        f"cursor {args.name}: {before or '(none)'} -> {args.to or '(none: fetch from the start)'}"
    )
    return 0
