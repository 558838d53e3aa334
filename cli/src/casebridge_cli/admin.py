"""What every admin command shares: configuration from the environment, the actor, the audit log,
and output (a `rich` table, plain tab-separated text, or JSON)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import json
import os
import re
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from pika.adapters.blocking_connection import BlockingConnection
from pydantic import Field, SecretStr
from sqlalchemy.engine import make_url

from casebridge.amqp import admin as admin_amqp
from casebridge.control import AuditEntry, ControlStoreSettings, SqlControlStore, open_control_store
from casebridge.settings import BrokerSettings
from casebridge.startup import CONFIG, StartupError, describe
from casebridge.topology import DEFAULT_TARGETS, Topology
from casebridge.transports import topology_from

#: The entry point group loader target plugins register under (names only are read here:
#: the admin command never imports a service package).
LOADER_TARGETS_GROUP = "casebridge.loader_targets"


class AdminSettings(BrokerSettings, ControlStoreSettings):
    """`RABBITMQ_URL`, `TOPOLOGY_PREFIX`, `CONTROL_DATABASE_URL` (each also as `*_FILE`), plus
    `CASEBRIDGE_TARGETS` and `RABBITMQ_MANAGEMENT_URL`."""

    casebridge_targets: str = Field(
        default="",
        description="Comma-separated loader targets besides the shipped ones and the installed"
        " plugins (a plugin target deployed without its package next to the CLI).",
    )
    rabbitmq_management_url: SecretStr | None = Field(
        default=None,
        description="RabbitMQ management API base URL (with credentials), for `status` rates;"
        " default: http://<RABBITMQ_URL host>:15672 with RABBITMQ_URL's credentials.",
    )


def add_common(parser: argparse.ArgumentParser, *, output: bool = True) -> None:
    """Options every admin subcommand takes."""
    parser.add_argument(
        "--actor",
        default=None,
        help="who is acting, for the audit log (default: $CASEBRIDGE_ACTOR, then the OS user)",
    )
    if output:
        fmt = parser.add_mutually_exclusive_group()
        fmt.add_argument("--json", action="store_true", help="print JSON")
        fmt.add_argument("--plain", action="store_true", help="print tab-separated text")


def settings() -> AdminSettings:
    return AdminSettings()


def loader_targets(config: AdminSettings, extra: Sequence[str] = ()) -> tuple[str, ...]:
    """Every loader target to administer: the shipped ones, every installed plugin (entry
    point names, nothing imported), `CASEBRIDGE_TARGETS` and `extra` (`--target`)."""
    names = list(DEFAULT_TARGETS)
    names += sorted(ep.name for ep in entry_points(group=LOADER_TARGETS_GROUP))
    names += [t.strip() for t in config.casebridge_targets.split(",")]
    names += list(extra)
    return tuple(dict.fromkeys(n for n in names if n))


def topology(config: AdminSettings, extra_targets: Sequence[str] = ()) -> Topology:
    return topology_from(config, targets=loader_targets(config, extra_targets))


def actor(args: argparse.Namespace) -> str:
    """`--actor`, else `$CASEBRIDGE_ACTOR`, else the OS user."""
    explicit = getattr(args, "actor", None) or os.environ.get("CASEBRIDGE_ACTOR")
    if explicit:
        return str(explicit)
    try:
        return getpass.getuser()
    except Exception:  # no login name (containers without a passwd entry)
        return f"uid:{os.getuid()}"


def audit(
    config: AdminSettings,
    args: argparse.Namespace,
    action: str,
    count: int,
    detail: dict[str, Any],
    *,
    required: bool = True,
) -> None:
    """Write one audit entry (who, when, what, how many).

    `required` (anything that changes state or reveals a payload): raises if the store is
    unreachable, so the action does not happen unrecorded. Otherwise (read-only views of
    metadata) a failed write is reported on stderr and the view still shown: `status` must work
    when the control database is the thing that is down.
    """
    if not required:
        try:
            audit(config, args, action, count, detail)
        except Exception as exc:
            print(f"casebridge: warning: audit log not written: {why(exc)}", file=sys.stderr)
        return

    async def write() -> None:
        store = await open_store(config)
        try:
            await store.audit(
                AuditEntry(
                    actor=actor(args),
                    action=action,
                    at=datetime.now(UTC),
                    count=count,
                    detail={"prefix": config.topology_prefix, **detail},
                )
            )
        finally:
            await store.close()

    asyncio.run(write())


def control_url(config: AdminSettings) -> str:
    """The control store's URL, refusing to make one up: the CLI never creates a control store.

    Unset, `CONTROL_DATABASE_URL` would default to a fresh local SQLite file, and every command
    would answer from an empty store as if all were well. A SQLite file that does not exist is
    refused too (naming it), since opening it would create it.
    """
    if "control_database_url" not in config.model_fields_set:
        raise StartupError(
            "CONTROL_DATABASE_URL is not set (the URL of the services' control store)", CONFIG
        )
    url = config.control_database_url.get_secret_value()
    try:
        parsed = make_url(url)
    except Exception:
        raise StartupError("CONTROL_DATABASE_URL is not a database URL", CONFIG) from None
    if parsed.drivername.startswith("sqlite") and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database)
        if not path.exists():
            raise StartupError(
                f"no control store at {path.resolve()} (CONTROL_DATABASE_URL); the CLI does not"
                " create one: point it at the file the services use",
                CONFIG,
            )
    return url


async def open_store(config: AdminSettings) -> SqlControlStore:
    """The control store of `CONTROL_DATABASE_URL` (see `control_url`)."""
    return await open_control_store(control_url(config))


@contextlib.contextmanager
def connection(config: AdminSettings) -> Iterator[BlockingConnection]:
    """A blocking connection to the broker, closed on exit (unacked messages go back)."""
    with admin_amqp.connection(config.rabbitmq_url.get_secret_value()) as conn:
        yield conn


queue_counts = admin_amqp.queue_counts


def management(config: AdminSettings) -> admin_amqp.Management:
    explicit = config.rabbitmq_management_url
    return admin_amqp.Management.of(
        config.rabbitmq_url.get_secret_value(),
        None if explicit is None else explicit.get_secret_value(),
    )


def require_prefix(conn: BlockingConnection, config: AdminSettings, topology: Topology) -> None:
    """Refuse a prefix under which no casebridge queue exists (a typo must not read as "0")."""
    if any(queue_counts(conn, wq.dlq) is not None for wq in topology.work_queues.values()):
        return
    prefix = config.topology_prefix
    listed, _ = management(config).queues()
    if listed is None:
        found = "the management API is not available to list the prefixes present"
    else:
        names = {str(q.get("name", "")) for q in listed}
        prefixes = sorted(
            {
                n.removesuffix(".dlq").removesuffix(".transformer")
                for n in names
                if n.endswith((".transformer", ".transformer.dlq"))
            }
        )
        found = f"prefixes found: {', '.join(prefixes)}" if prefixes else "no casebridge queues"
    raise StartupError(
        f"no casebridge queues with prefix {prefix!r} (TOPOLOGY_PREFIX); {found}", CONFIG
    )


_RELATIVE = re.compile(r"^(\d+)\s*([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_since(value: str) -> datetime:
    """An ISO timestamp (UTC when naive) or a relative age: `30m`, `2h`, `7d`."""
    match = _RELATIVE.match(value.strip())
    if match:
        amount, unit = match.groups()
        return datetime.now(UTC) - timedelta(**{_UNITS[unit]: int(amount)})
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is neither an ISO timestamp nor an age like 30m, 2h, 7d"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def emit(
    args: argparse.Namespace,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    records: Any = None,
    title: str | None = None,
    width: int | None = None,
    clip: str | None = None,
) -> None:
    """Print rows as JSON (`records`, or a list of objects), plain text, or a rich table.

    `width`: the table fits that many columns at most (and the terminal); the `clip` column is
    cut short with an ellipsis instead of wrapping every row over several lines.
    """
    if getattr(args, "json", False):
        document = (
            records if records is not None else [dict(zip(columns, r, strict=True)) for r in rows]
        )
        json.dump(document, sys.stdout, ensure_ascii=False, indent=2, default=str)
        sys.stdout.write("\n")
        return
    if getattr(args, "plain", False) or not _rich_available():
        if title:
            print(f"# {title}")
        print("\t".join(columns))
        for row in rows:
            print("\t".join("" if v is None else str(v) for v in row))
        return
    from rich.console import Console
    from rich.table import Table

    texts = [["" if v is None else str(v) for v in row] for row in rows]
    shown = _terminal_width() if sys.stdout.isatty() else max(_terminal_width(), 160)
    total = min(shown, width) if width else shown
    table = Table(title=title)
    for index, name in enumerate(columns):
        table.add_column(
            name,
            justify="right" if name in _NUMERIC else "left",
            overflow="ellipsis" if name == clip else "fold",
            no_wrap=name == clip,
            max_width=_room(columns, texts, index, total) if name == clip else None,
        )
    for row in texts:
        table.add_row(*row)
    Console(width=total).print(table)


def _room(columns: Sequence[str], texts: list[list[str]], clipped: int, total: int) -> int:
    """What the other columns leave of `total` (each cell has 3 characters of padding and rule)."""
    others = sum(
        max([len(columns[i]), *(len(row[i]) for row in texts)]) + 3
        for i in range(len(columns))
        if i != clipped
    )
    return max(10, total - others - 4)


#: Columns a listing meant for a terminal (dlq list, audit) fits in.
TABLE_WIDTH = 100

_NUMERIC = {"attempts", "replays", "ready", "consumers", "count", "unacked", "failures",
            "in/s", "out/s", "net/s"}  # fmt: skip


def _rich_available() -> bool:
    try:
        import rich  # noqa: F401
    except ImportError:  # pragma: no cover - rich is a dependency; plain output otherwise
        return False
    return True


def _terminal_width() -> int:
    try:
        return os.get_terminal_size().columns
    except OSError:
        return 160


def why(exc: BaseException) -> str:
    """One line for a failure: the expected ones described, anything else by its class."""
    found = describe(exc)
    return found.message if found is not None else type(exc).__name__


def fail(message: str, status: int = 1) -> int:
    """Print an error on stderr and return the exit status."""
    print(f"casebridge: {message}", file=sys.stderr)
    return status
