"""The local mode end to end, in-process on the memory broker with SQLite files: the summary's
numbers are the real outcomes (ONA rows, OSCaR's received writes, the DLQs, DTP's pushes)."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx
from casebridge_local.drain import wait_drained
from casebridge_local.options import Options
from casebridge_local.pipeline import Pipeline
from casebridge_local.progress import TOP_REASONS
from casebridge_local.run import run
from casebridge_local.simulators import running_simulators
from casebridge_local.tally import FLOW_ORDER, FlowCounts, Tally
from rich.console import Console

from casebridge import dead_letter_file
from casebridge.messages import DeadLetter
from transformer.cambodia import load_tables
from transformer.progres import load_progres_tables


def small(tmp_path: Path) -> Options:
    """A smaller demo world than the default, for speed."""
    return Options(
        data_dir=tmp_path / ".local",
        cases=60,
        oscar_clients=10,
        dtp_referrals=6,
        dtp_decisions=2,
        progress=False,
        settle_timeout_s=60,
    )


async def test_every_count_is_a_real_outcome(tmp_path: Path) -> None:
    options = small(tmp_path)
    options.data_dir.mkdir(parents=True)
    tally = Tally()
    cambodia, progres = load_tables(None), load_progres_tables(None)
    with running_simulators(options, cambodia) as sims:
        pipeline = Pipeline(options, sims, tally, cambodia, progres)
        try:
            await pipeline.start()
            pipeline.build_fetchers()
            await pipeline.fetch_once()
            pushed = await pipeline.push_dtp()
            assert await wait_drained(pipeline.backlog(), pipeline.in_flight, timeout_s=60)
            p4_before = tally["p4"].loaded
            answered = await pipeline.answer_dtp_referrals()  # DTP decides what P3 sent it
            assert answered == len(sims.dtp.sim.answered) > 0
            assert await wait_drained(pipeline.backlog(), pipeline.in_flight, timeout_s=60)
            answers = sims.dtp.sim.pushed[-answered:]
            dead = {
                name: [DeadLetter.from_message(m.body, m.headers) for m in queue.messages]
                for name, queue in pipeline.broker.queues.items()
                if name.endswith(".dlq")
            }
            async with httpx.AsyncClient() as client:
                journal = (await client.get(f"{sims.oscar.url}/__sim/requests")).json()
        finally:
            await pipeline.stop()

    counts = dict(tally.flows())
    assert set(FLOW_ORDER) <= set(counts)
    for flow in FLOW_ORDER:  # every flow of the demo world has traffic
        assert counts[flow].fetched > 0, flow
    for flow, c in counts.items():  # drained: every message that entered reached an end
        assert c.done == c.total, flow
    # dead-lettered = what sits in the DLQs, flow by flow
    in_dlqs = Counter(d.flow or "?" for letters in dead.values() for d in letters)
    assert {f: c.dead_lettered for f, c in counts.items() if c.dead_lettered} == dict(in_dlqs)
    # ... and the dead-letter file holds each of them, with its reason, once (metadata only)
    in_file = list(dead_letter_file.read(options.dead_letter_file))
    assert sorted((m["flow"], m["message_id"], m["reason"]) for m in in_file) == sorted(
        (d.flow, d.message_id, d.error_message) for letters in dead.values() for d in letters
    )
    assert "body_b64" not in options.dead_letter_file.read_text(encoding="utf-8")
    # refused = the webhooks the inbox did not accept (the demo's reference samples hold one)
    assert sum(c.refused for c in counts.values()) == len(pushed) - pushed.count(202) > 0
    assert all(sum(c.refusals.values()) == c.refused for c in counts.values())
    # O1: one ONA row per case loaded
    with sqlite3.connect(options.data_dir / "ona.db") as conn:
        [(rows,)] = conn.execute("SELECT count(*) FROM cases").fetchall()
    assert rows == counts["o1"].loaded > 0
    # C1 is the only flow writing to OSCaR: each write OSCaR received was loaded or refused
    writes = [r for r in journal["requests"] if "admin_auth" not in r["path"]]
    refused = len(dead.get(f"{options.topology_prefix}.loader.oscar.dlq", []))
    assert len(writes) == counts["c1"].loaded + refused
    assert counts["c1"].loaded > 0
    # P1 + P4 fetched = the webhooks the inbox accepted (202), the answers to P3 included
    assert [a.status for a in answers] == [202] * answered
    assert counts["p1"].fetched + counts["p4"].fetched == pushed.count(202) + answered
    # every answer names a referral Primero really sent: each is loaded into Primero
    assert counts["p4"].loaded == p4_before + answered


def listed_from_file(path: Path) -> list[dict[str, object]]:
    """`casebridge dlq list --file PATH --json`, with no broker in the environment."""
    env = {k: v for k, v in os.environ.items() if k not in ("RABBITMQ_URL", "LOG_LEVEL")}
    done = subprocess.run(
        [sys.executable, "-m", "casebridge_cli", "dlq", "list", "--json", "--file", str(path)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    records: list[dict[str, object]] = json.loads(done.stdout)
    return records


def rows(table: str) -> list[list[str]]:
    """The first line of each row of a printed rich table, as its cells (continuation lines of a
    wrapped row have an empty first cell)."""
    cells = [line.split("│")[1:-1] for line in table.splitlines() if line.startswith("│")]
    return [[cell.strip() for cell in row] for row in cells if row and row[0].strip()]


async def test_run_prints_each_flow_and_a_second_run_starts_clean(tmp_path: Path) -> None:
    options = small(tmp_path)
    outputs, tallies = [], []
    for _ in range(2):
        out, tally = io.StringIO(), Tally()
        status = await run(options, console=Console(file=out, width=120), tally=tally)
        assert status == 0
        outputs.append(out.getvalue())
        tallies.append(tally.flows())
    summary, _, explained = outputs[0].partition("top dead-letter reasons per flow")
    counts_table, _, legend = summary.partition("in:  fetched")
    reasons_table, _, refusals_table = explained.partition("inbox refusals per flow")
    # the legend says how the columns relate
    assert "out: mapped" in legend
    assert "in = out once a flow is drained" in legend
    for flow, c in tallies[0]:
        numbers = [c.fetched, c.commands, c.mapped, c.loaded, c.superseded, c.dead_lettered,
                   c.refused]  # fmt: skip
        [printed] = [row for row in rows(counts_table) if row[0] == flow.upper()]
        assert [int(x) for x in printed[1:]] == numbers
        # the columns add up as the legend says: in (fetched + commands) = out
        assert numbers[0] + numbers[1] == sum(numbers[2:6]), flow
        # every dead letter of the run is in the reasons table: its top reasons by stage, the
        # rest summed on one line
        shown = [row for row in rows(reasons_table) if row[0] == flow.upper()]
        assert sum(int(row[2]) for row in shown) == c.dead_lettered, flow
        assert len(shown) <= TOP_REASONS + 1
        top = c.reasons.most_common(TOP_REASONS)
        assert [(row[1], int(row[2])) for row in shown[: len(top)]] == [
            (stage, count) for (stage, _), count in top
        ]
        # and every inbox refusal in the refusals table, with the inbox's answer
        refused = [row for row in rows(refusals_table) if row[0] == flow.upper()]
        assert sum(int(row[1]) for row in refused) == c.refused, flow
    assert "422 invalid_message" in refusals_table
    assert any(c.dead_lettered for _, c in tallies[0]), "the demo data dead-letters nothing now"

    # state is reset at start: the second run does exactly the same work again (the reasons
    # name OSCaR ids minted anew in each run, so the counts and stages are compared)
    def shape(flows: list[tuple[str, FlowCounts]]) -> list[tuple[str, tuple[int, ...], list[str]]]:
        return [
            (f, (c.fetched, c.commands, c.loaded, c.superseded, c.dead_lettered, c.mapped),
             sorted(stage for stage, _ in c.reasons.elements()))
            for f, c in flows
        ]  # fmt: skip

    assert shape(tallies[1]) == shape(tallies[0])
    # the dead-letter file holds the last run's dead letters only, and the admin command reads
    # it without a broker
    listed = Counter(m["flow"] for m in listed_from_file(options.dead_letter_file))
    assert listed == {f: c.dead_lettered for f, c in tallies[1] if c.dead_lettered}
    assert (options.data_dir / "casebridge-local.log").stat().st_size > 0


async def test_the_log_carries_no_child_data(tmp_path: Path) -> None:
    options = small(tmp_path)
    await run(options, console=Console(file=io.StringIO()), tally=Tally())
    log = (options.data_dir / "casebridge-local.log").read_text(encoding="utf-8")
    assert "dead_lettered" in log  # the log does record events
    # names of the reference samples and of generated children never appear
    for name in ("Tikwiza", "Alfred", "Sophea", "Nyakim", 'date_of_birth": "20'):
        assert name not in log
    # every line is JSON, the standard library's (alembic, uvicorn, httpx) included
    for line in log.splitlines():
        json.loads(line)


def test_environment_switches_the_infrastructure() -> None:
    env = {
        "RABBITMQ_URL": "amqp://guest:guest@127.0.0.1:5672/%2F",
        "CONTROL_DATABASE_URL": "postgresql://postgres@127.0.0.1/control",
        "ONA_DATABASE_URL": "postgresql://postgres@127.0.0.1/ona",
    }
    options = Options.from_args(["--follow"], env)
    assert options.follow
    assert options.transport == "amqp"
    assert options.topology_prefix == "cb-local"
    assert (
        options.control_url("inbox")
        == options.control_url("loader-oscar")
        == env["CONTROL_DATABASE_URL"]
    )
    assert options.ona_url == env["ONA_DATABASE_URL"]
    defaults = Options.from_args([], {})
    assert defaults.transport == "memory"
    assert defaults.ona_url == "sqlite:///.local/ona.db"
    assert defaults.control_url("inbox") == "sqlite+aiosqlite:///.local/control-inbox.db"


def test_secrets_come_from_file_variables_as_for_the_services(tmp_path: Path) -> None:
    secret = tmp_path / "rabbitmq_url"
    secret.write_text("amqp://ops:s3cret@broker:5672/%2F\n")
    options = Options.from_args([], {"RABBITMQ_URL_FILE": str(secret), "RABBITMQ_URL": "amqp://x"})
    assert options.rabbitmq_url == "amqp://ops:s3cret@broker:5672/%2F"  # the file wins
    assert options.transport == "amqp"


def test_owned_files_only_are_reset(tmp_path: Path) -> None:
    data = tmp_path / ".local"
    data.mkdir()
    for name in ("control-inbox.db", "ona.db", "ona.db-wal", "dead-letters.jsonl", "keep.txt"):
        (data / name).write_text("x")
    external = Options(data_dir=data, ona_database_url="postgresql://h/ona")
    assert [p.name for p in external.owned_files()] == ["control-inbox.db", "dead-letters.jsonl"]
    assert [p.name for p in Options(data_dir=data).owned_files()] == [
        "control-inbox.db",
        "dead-letters.jsonl",
        "ona.db",
        "ona.db-wal",
    ]
