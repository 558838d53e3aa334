"""The ONA dashboard database target (flow O1): batched, set-based, stale-safe upserts.

The consumer hands over one command at a time; `apply` validates it, queues it and waits for
its batch to commit. A batch is written when `ONA_BATCH_SIZE` commands are queued or
`ONA_BATCH_WINDOW_MS` after the first one arrived, whichever comes first (the consumer's
prefetch is set above the batch size, so full batches form under load):

1. de-duplicate by `case_id` keeping the newest source version (an `ON CONFLICT DO UPDATE`
   statement cannot touch one row twice), services by `unique_id` likewise; the older
   commands are `Superseded`;
2. the writer upserts the batch in one transaction, `INSERT … SELECT … ON CONFLICT DO UPDATE …
   WHERE` the stored version is older (the stale-write guard lives in the statement): on
   PostgreSQL by COPY into session temp tables (`loader.ona.postgres`), on a SQLite file (the
   local mode, `ONA_DATABASE_URL=sqlite:///…`) by the same statement shape (`loader.ona.sqlite`);
   each command's `apply` returns only after the commit, so the message is acked after it;
3. a row the database refuses (a data error) makes the batch split in halves and retry until
   the one bad command is alone: it is dead-lettered (`PermanentError`) and the rest commit;
4. a lost connection (database restart, network) fails the batch with `TargetUnavailable`:
   nothing was committed, the messages go to the retry tier without counting an attempt, the
   consumer pauses, and the next batch reconnects.

Idempotency needs no control-store round trip per command: an upsert of the same version with
the same values changes nothing. The control store is not used by this target.
"""

from __future__ import annotations

import asyncio
import contextvars
from dataclasses import dataclass, field

import structlog
from pydantic import Field, SecretStr

from casebridge.control import ControlStore
from casebridge.errors import PermanentError, Superseded, TargetUnavailable, TransientError
from casebridge.messages import UpsertCommand
from casebridge.settings import CasebridgeSettings
from loader.ona.migrate import migrate_ona
from loader.ona.postgres import PostgresOnaWriter
from loader.ona.rows import OnaRows, rows_of
from loader.ona.sqlite import SqliteOnaWriter
from loader.ona.writer import (
    DatabaseUnavailable,
    OnaWriter,
    RowRefused,
    WriteFailed,
    is_sqlite,
)
from loader.target import Target

log = structlog.get_logger(__name__)

NAME = "ona"


class OnaSettings(CasebridgeSettings):
    """The ONA target's settings (see the loader README)."""

    ona_database_url: SecretStr = Field(
        default=SecretStr("postgresql://postgres@127.0.0.1:5432/ona"),
        description="The ONA PostgreSQL database (postgresql://…), or a SQLite file"
        " (sqlite:///path, the local mode); a secret.",
    )
    ona_migrate: bool = Field(
        default=False,
        description="Bring the ONA schema to head at start-up: an opt-in for development"
        " databases, never ONA's own (a deployment that forgets it must not run DDL there).",
    )
    ona_batch_size: int = Field(default=500, ge=1, description="Commands per upsert batch.")
    ona_batch_window_ms: int = Field(
        default=50, ge=0, description="Longest wait for a batch to fill."
    )
    ona_prefetch: int = Field(
        default=0, ge=0, description="Unacked deliveries; 0 = twice the batch size."
    )
    ona_reconnect_s: float = Field(
        default=2.0, gt=0, description="Pause after a lost database connection."
    )


@dataclass
class _Item:
    command: UpsertCommand
    rows: OnaRows
    future: asyncio.Future[None] = field(repr=False)


class OnaTarget:
    """Writes `ona` commands to the ONA database in batches."""

    name = NAME

    def __init__(self, settings: OnaSettings) -> None:
        self._settings = settings
        self._url = settings.ona_database_url.get_secret_value()
        self.batch_size = settings.ona_batch_size
        self._window_s = settings.ona_batch_window_ms / 1000
        #: The loader's bootstrap reads it: unacked deliveries must exceed one batch.
        self.prefetch = settings.ona_prefetch or 2 * settings.ona_batch_size
        self._pending: list[_Item] = []
        self._due = False
        self._timer: asyncio.TimerHandle | None = None
        self._worker: asyncio.Task[None] | None = None
        self._writer: OnaWriter = _writer_for(self._url)

    async def start(self) -> None:
        """Migrate (when configured) and connect."""
        if self._settings.ona_migrate:
            await migrate_ona(self._url)
        await self._writer.connect()

    async def close(self) -> None:
        """Write what is queued, then close the connection."""
        if self._pending:
            self._flush_soon()
        if self._worker is not None:
            await asyncio.wait({self._worker}, timeout=30)
        if self._timer is not None:
            self._timer.cancel()
        await self._writer.close()

    async def apply(self, command: UpsertCommand) -> None:
        """Queue one command and return once its batch committed (or raise its outcome)."""
        rows = rows_of(command)  # a malformed command is refused alone, before any I/O
        loop = asyncio.get_running_loop()
        item = _Item(command, rows, loop.create_future())
        self._pending.append(item)
        if len(self._pending) >= self.batch_size:
            self._ensure_worker()
        elif self._timer is None:
            self._timer = loop.call_later(self._window_s, self._flush_soon)
        await item.future

    # -- batching ---------------------------------------------------------------------------

    def _flush_soon(self) -> None:
        self._timer = None
        self._due = True
        self._ensure_worker()

    def _ensure_worker(self) -> None:
        if self._worker is None or self._worker.done():
            # A fresh context: the batch is nobody's message, so it logs no message's ids.
            self._worker = asyncio.get_running_loop().create_task(
                self._drain(), context=contextvars.Context()
            )

    async def _drain(self) -> None:
        """Write full batches, and partial ones once the window elapsed."""
        while self._pending and (self._due or len(self._pending) >= self.batch_size):
            batch = self._pending[: self.batch_size]
            del self._pending[: self.batch_size]
            if not self._pending:
                self._due = False
            try:
                await self._write_batch(batch)
            except Exception as exc:  # never leave a waiter hanging
                log.error("ona_batch_bug", error_class=type(exc).__name__)
                for item in batch:
                    _settle(item, TransientError(f"ona batch failed: {type(exc).__name__}"))
        self._due = False
        if self._pending and self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self._window_s, self._flush_soon)

    async def _write_batch(self, batch: list[_Item]) -> None:
        newest: dict[str, _Item] = {}
        for item in batch:
            if item.future.done():  # cancelled at shutdown: it will be redelivered
                continue
            kept = newest.get(item.rows.key)
            if kept is None or kept.rows.version <= item.rows.version:
                if kept is not None:
                    _settle(kept, Superseded("stale: a newer version is in the same batch"))
                newest[item.rows.key] = item
            else:
                _settle(item, Superseded("stale: a newer version is in the same batch"))
        await self._write_items(list(newest.values()))

    async def _write_items(self, items: list[_Item]) -> None:
        """Write `items` in one transaction; on a refused row, split until it is alone."""
        if not items:
            return
        try:
            written = await self._writer.upsert([item.rows for item in items])
        except RowRefused as exc:
            if len(items) == 1:
                item = items[0]
                log.warning("ona_row_refused", case_id=item.rows.key, reason=str(exc))
                _settle(
                    item, PermanentError(f"ONA refused the rows of case {item.rows.key}: {exc}")
                )
                return
            middle = len(items) // 2
            await self._write_items(items[:middle])
            await self._write_items(items[middle:])
            return
        except DatabaseUnavailable as exc:
            reason = f"ONA database unavailable: {exc}"
            log.warning("ona_database_unavailable", error_class=str(exc))
            for item in items:
                _settle(item, TargetUnavailable(reason, retry_after=self._settings.ona_reconnect_s))
            return
        except WriteFailed as exc:
            for item in items:
                _settle(item, TransientError(f"ONA upsert failed: {exc}"))
            return
        for item in items:
            if item.rows.key in written:
                _settle(item, None)
            else:
                _settle(item, Superseded("ONA holds this version or a newer one"))


def _writer_for(url: str) -> OnaWriter:
    """SQLite for a `sqlite:` URL (the local mode), PostgreSQL otherwise."""
    return SqliteOnaWriter(url) if is_sqlite(url) else PostgresOnaWriter(url)


def _settle(item: _Item, outcome: BaseException | None) -> None:
    if item.future.done():
        return
    if outcome is None:
        item.future.set_result(None)
    else:
        item.future.set_exception(outcome)


def build(store: ControlStore, settings: OnaSettings | None = None) -> Target:
    """The entry point (the control store is not needed: see the module docstring)."""
    del store
    return OnaTarget(settings or OnaSettings())
