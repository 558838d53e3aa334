"""One local run: reset owned state, start the simulators and every stage, fetch, drain, report.

Once (the default): each fetcher runs one pass and DTP pushes its outbox; when every queue is
drained the summary is printed and the run returns 0. `--follow`: the fetchers keep polling on
their schedule until SIGINT/SIGTERM (or `stop` is set), then everything drains and stops
cleanly, and the summary of the whole session is printed.
"""

from __future__ import annotations

import asyncio
import signal
import time

from rich.console import Console
from sqlalchemy.engine import make_url

from casebridge_local.drain import wait_drained
from casebridge_local.logfile import logging_to
from casebridge_local.options import Options
from casebridge_local.pipeline import Pipeline
from casebridge_local.progress import FlowBars, dead_letter_table, refusal_table, summary_table
from casebridge_local.simulators import running_simulators
from casebridge_local.tally import Tally
from transformer.cambodia import load_tables
from transformer.progres import load_progres_tables

#: Exit status when the queues did not drain in time.
NOT_DRAINED = 1


def reset_owned_state(options: Options) -> None:
    """Delete this mode's own SQLite files: the simulators start from their seed every run, so
    cursors and applied versions from an earlier run would describe data that is gone."""
    for path in options.owned_files():
        path.unlink(missing_ok=True)


async def run(
    options: Options,
    *,
    console: Console | None = None,
    stop: asyncio.Event | None = None,
    tally: Tally | None = None,
) -> int:
    """Run as `options` say; returns the exit status. `tally` lets a caller read the counts."""
    console = console or Console()
    tally = tally if tally is not None else Tally()
    stop = stop or asyncio.Event()
    options.data_dir.mkdir(parents=True, exist_ok=True)
    reset_owned_state(options)
    cambodia, progres = load_tables(None), load_progres_tables(None)
    sensitive = cambodia.sensitive_fields | progres.sensitive_fields
    started = time.monotonic()
    with logging_to(options.log_file, options.log_level, sensitive=sensitive):
        console.print(_banner(options))
        with running_simulators(options, cambodia) as sims:
            pipeline = Pipeline(options, sims, tally, cambodia, progres)
            try:
                with FlowBars(tally, console, enabled=options.progress) as bars:
                    await pipeline.start()
                    pipeline.build_fetchers()
                    if options.follow:
                        status = await _follow(pipeline, bars, stop)
                    else:
                        status = await _once(pipeline, bars)
            finally:
                await pipeline.stop()
    title = f"casebridge local run ({time.monotonic() - started:.1f} s)"
    console.print(summary_table(tally, title))
    for table in (dead_letter_table(tally, str(options.dead_letter_file)), refusal_table(tally)):
        if table is not None:
            console.print(table)
    console.print(
        f"ONA database: {_safe(options.ona_url)}   log: {options.log_file}"
        f"   dead letters: {options.dead_letter_file}"
    )
    if status == NOT_DRAINED:
        console.print(f"[red]queues not drained within {options.settle_timeout_s:.0f} s")
    return status


async def _once(pipeline: Pipeline, bars: FlowBars) -> int:
    await pipeline.fetch_once()
    bars.refresh()
    await pipeline.push_dtp()
    drained = await _drained(pipeline, bars)
    # Then DTP answers the referrals Primero sent it in this run (P3 -> P4).
    if drained and await pipeline.answer_dtp_referrals():
        drained = await _drained(pipeline, bars)
    return 0 if drained else NOT_DRAINED


async def _drained(pipeline: Pipeline, bars: FlowBars) -> bool:
    return await wait_drained(
        pipeline.backlog(),
        pipeline.in_flight,
        timeout_s=pipeline.options.settle_timeout_s,
        on_poll=bars.refresh,
    )


async def _follow(pipeline: Pipeline, bars: FlowBars, stop: asyncio.Event) -> int:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await pipeline.start_polling()
        await pipeline.push_dtp()
        while not stop.is_set():
            bars.refresh()
            await pipeline.answer_dtp_referrals()  # pushes only when P3 sent something new
            try:
                await asyncio.wait_for(stop.wait(), 0.2)
            except TimeoutError:
                continue
        # Stop the polling first, then let what is queued finish before the consumers stop.
        await pipeline.stop_fetchers()
        drained = await _drained(pipeline, bars)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    return 0 if drained else NOT_DRAINED


def _banner(options: Options) -> str:
    broker = "RabbitMQ" if options.rabbitmq_url else "in-process broker"
    control = "CONTROL_DATABASE_URL" if options.control_database_url else "SQLite"
    mode = "--follow: polling until Ctrl-C" if options.follow else "every flow once"
    return (
        f"casebridge local mode ({mode}): {broker}, control store {control},"
        f" ONA {_safe(options.ona_url)}, data in {options.data_dir}/"
    )


def _safe(url: str) -> str:
    """A database URL without its password, for the terminal."""
    return make_url(url).render_as_string(hide_password=True)
