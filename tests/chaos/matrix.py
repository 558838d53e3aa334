"""The chaos matrix: flows C1 (Primero -> OSCaR) and O1 (Primero -> ONA) under one fault per row.

Each row runs a fresh deployment (`deployment.py`), starts the fetcher, injects its fault once
the targets have received a quarter of what they must hold (mid-stream), removes the fault, and
waits until every expected effect is in its target or in a dead-letter queue and nothing moves.
Then it reconciles, per flow, the expected effects (`expected.py`) with the OSCaR simulator's
journal and referrals, the ONA tables and every DLQ of the topology:

- exactly once / duplicates: C1 counts the upserts OSCaR answered 200 per key (a second one is a
  duplicate referral, the worst defect); O1 counts rows per key in `cases` and `services`;
- dead-lettered: letters whose command or raw record carries an expected key, with reasons;
  an "uncertain" letter ("may have reached OSCaR ... --resend") is the loader's honest answer to
  an interrupted once-only write, and `admin check` says whether OSCaR holds it;
- lost: expected keys neither in the target nor in a DLQ;
- recovered: every service process is alive and ready at the end, with no step but the restart
  an orchestrator does after a SIGKILL; broker and database outages need none.

`python -m tests.chaos` (`make chaos`) runs the whole matrix and prints the table.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pika
import psycopg
import requests

from casebridge.messages import DeadLetter
from casebridge.testing.amqp_probe import AmqpProbe
from casebridge.testing.private_postgres import PrivatePostgres
from casebridge.testing.private_rabbitmq import PrivateRabbitMQ
from casebridge.topology import build_topology

from .deployment import RETRY_DELAYS, Deployment
from .expected import Expected, expected_effects

UPSERT = "/api/v1/organizations/clients/upsert"
UNCERTAIN = "may have reached OSCaR"
POISON = (b"{not json", b'{"flow": "c1"}', b'{"message_type": "nonsense", "flow": "c1"}')
RETRY_AFTER_S = 2


@dataclass
class Row:
    """One fault and what it does to the deployment while it is on."""

    name: str
    inject: Callable[[Deployment], None]
    #: Dead-letter reasons this fault may truly cause (besides mapping gaps of the data).
    may_interrupt_writes: bool = False
    poison: bool = False


def _faults(url: str, specs: list[dict[str, Any]]) -> None:
    requests.post(f"{url}/__sim/faults", json=specs, timeout=10).raise_for_status()


def _clear_faults(deployment: Deployment) -> None:
    for url in (deployment.primero_url, deployment.oscar_url):
        requests.delete(f"{url}/__sim/faults", timeout=10).raise_for_status()


def _kill(service: str) -> Callable[[Deployment], None]:
    def inject(deployment: Deployment) -> None:
        process = deployment.services[service]
        process.kill()
        time.sleep(1.0)
        process.restart()

    return inject


def _broker_kill(deployment: Deployment) -> None:
    deployment.broker.kill()
    time.sleep(3.0)
    deployment.broker.start()


def _postgres_restart(deployment: Deployment) -> None:
    deployment.database.restart(down_s=3.0)


def _storm_503(deployment: Deployment) -> None:
    _faults(
        deployment.oscar_url, [{"kind": "error", "status": 503, "path": f"{UPSERT}*", "times": 20}]
    )
    _faults(
        deployment.primero_url,
        [{"kind": "error", "status": 503, "path": "/api/v2/cases*", "times": 4}],
    )
    time.sleep(4.0)


def _throttle_429(deployment: Deployment) -> None:
    spec = {"kind": "throttle", "retry_after": RETRY_AFTER_S, "path": f"{UPSERT}*", "times": 10}
    _faults(deployment.oscar_url, [spec])
    time.sleep(4.0)


def _token_expiry(deployment: Deployment) -> None:
    for _ in range(3):
        for url in (deployment.primero_url, deployment.oscar_url):
            requests.post(f"{url}/__sim/tokens/expire", json={}, timeout=10).raise_for_status()
        time.sleep(1.0)


def _latency(deployment: Deployment) -> None:
    for url in (deployment.primero_url, deployment.oscar_url):
        _faults(url, [{"kind": "latency", "latency_ms": 200}])
    time.sleep(6.0)


def _poison(deployment: Deployment) -> None:
    topology = build_topology(deployment.prefix)
    conn = pika.BlockingConnection(pika.URLParameters(deployment.broker.url))
    try:
        channel = conn.channel()
        channel.confirm_delivery()
        for n, body in enumerate(POISON):
            channel.basic_publish(
                topology.raw_exchange,
                "c1.oscar",
                body,
                pika.BasicProperties(delivery_mode=2, message_id=f"poison-{n}"),
            )
    finally:
        conn.close()


ROWS: dict[str, Row] = {
    row.name: row
    for row in (
        Row("no fault", lambda d: None),
        Row("SIGKILL fetcher-primero", _kill("fetcher-primero")),
        Row("SIGKILL transformer", _kill("transformer")),
        Row("SIGKILL loader-oscar", _kill("loader-oscar"), may_interrupt_writes=True),
        Row("SIGKILL loader-ona", _kill("loader-ona")),
        Row("broker kill -9", _broker_kill, may_interrupt_writes=True),
        Row("PostgreSQL restart", _postgres_restart, may_interrupt_writes=True),
        Row("target 503 storm", _storm_503),
        Row(f"429 Retry-After {RETRY_AFTER_S}s", _throttle_429),
        Row("token expiry", _token_expiry),
        Row("+200 ms latency", _latency),
        Row("poison messages", _poison, poison=True),
    )
}
SUBSET = ("no fault", "SIGKILL loader-oscar", "PostgreSQL restart", "broker kill -9")


# -- observation ----------------------------------------------------------------------------
def _oscar_journal(deployment: Deployment) -> list[dict[str, Any]]:
    entries = requests.get(f"{deployment.oscar_url}/__sim/requests", timeout=30).json()
    return [e for e in entries["requests"] if e["path"].rstrip("/") == UPSERT]


def _upsert_key(entry: dict[str, Any]) -> str | None:
    try:
        return str(entry["body"]["organization"]["services"][0]["uuid"])
    except (KeyError, IndexError, TypeError):
        return None


def _applied(journal: list[dict[str, Any]]) -> Counter[str]:
    """Upserts OSCaR applied (answered 200; a dropped or refused one is not), per key."""
    return Counter(k for e in journal if e["status"] == 200 and (k := _upsert_key(e)))


def _ona_rows(deployment: Deployment) -> tuple[Counter[str], int]:
    """Rows per case_id in ONA's `cases`, and (case_id, unique_id) pairs seen twice in
    `services`; empty while the database is down or not migrated yet."""
    try:
        with psycopg.connect(deployment.ona_url.replace("+asyncpg", ""), connect_timeout=3) as c:
            cases = Counter(str(r[0]) for r in c.execute("SELECT case_id FROM cases"))
            dup = c.execute(
                "SELECT count(*) FROM (SELECT unique_id FROM services GROUP BY unique_id"
                " HAVING count(*) > 1) d"
            ).fetchone()
            return cases, int(dup[0]) if dup else 0
    except psycopg.Error:
        return Counter(), 0


def _depths(deployment: Deployment) -> dict[str, int] | None:
    try:
        conn = pika.BlockingConnection(pika.URLParameters(deployment.broker.url))
    except pika.exceptions.AMQPError:
        return None
    try:
        channel = conn.channel()
        out = {}
        for queue in build_topology(deployment.prefix, retry_delays=RETRY_DELAYS).queues():
            declared = channel.queue_declare(queue.name, passive=True)
            out[queue.name] = int(declared.method.message_count)
        return out
    except pika.exceptions.AMQPError:
        return None
    finally:
        if conn.is_open:
            conn.close()


def _progress(deployment: Deployment, expected: Expected) -> float:
    applied = _applied(_oscar_journal(deployment))
    rows, _ = _ona_rows(deployment)
    done = len(set(applied) & set(expected.c1)) + len(set(rows) & set(expected.o1))
    return done / max(1, len(expected.c1) + len(expected.o1))


def _settled(deployment: Deployment, expected: Expected) -> bool:
    """Every expected effect in its target or some DLQ holds letters, and no work queue holds
    anything; the caller asks for several polls in a row (in-flight deliveries are unseen)."""
    depths = _depths(deployment)
    if depths is None:
        return False
    busy = sum(n for q, n in depths.items() if not q.endswith(".dlq"))
    dead = sum(n for q, n in depths.items() if q.endswith(".dlq"))
    applied = set(_applied(_oscar_journal(deployment)))
    rows, _ = _ona_rows(deployment)
    missing = len(set(expected.c1) - applied) + len(set(expected.o1) - set(rows))
    return busy == 0 and missing <= dead


# -- reconciliation -------------------------------------------------------------------------
@dataclass
class FlowResult:
    flow: str
    expected: int
    exactly_once: int = 0
    duplicates: int = 0
    dead: Counter[str] = field(default_factory=Counter)
    uncertain: int = 0
    uncertain_held: int = 0
    lost: int = 0
    untrue: list[str] = field(default_factory=list)


@dataclass
class RowResult:
    row: str
    flows: list[FlowResult]
    recovered: bool
    recovery_note: str
    seconds: float
    honoured_retry_after: bool | None = None
    poison_dead: Counter[str] = field(default_factory=Counter)
    #: OSCaR upserts answered with an injected fault (503, 429, latency, ...): the row hit.
    faulted: int = 0


def _letters(deployment: Deployment) -> list[DeadLetter]:
    probe = AmqpProbe(deployment.broker.url)
    letters = []
    for queue in build_topology(deployment.prefix, retry_delays=RETRY_DELAYS).queues():
        if queue.name.endswith(".dlq"):
            letters += [DeadLetter.from_message(m.body, m.headers) for m in probe.drain(queue.name)]
    return letters


def _letter_keys(letter: DeadLetter) -> tuple[str | None, set[str]]:
    """(flow, keys): a command's key, or the source case id of a raw record."""
    try:
        body = json.loads(letter.body)
    except ValueError:
        return None, set()
    if not isinstance(body, dict):
        return None, set()
    key = body.get("key") or {}
    keys = {str(v) for k, v in key.items() if k in ("service_uuid", "case_id")}
    source = body.get("source") or {}
    if source.get("record_id"):
        keys.add(f"source:{source['record_id']}")
    return body.get("flow"), keys


def _short(reason: str) -> str:
    if UNCERTAIN in reason:
        return "uncertain: may have reached OSCaR (check, --resend)"
    return reason if len(reason) <= 60 else reason[:57] + "..."


def reconcile(
    deployment: Deployment, expected: Expected, row: Row, letters: list[DeadLetter]
) -> tuple[list[FlowResult], Counter[str]]:
    applied = _applied(_oscar_journal(deployment))
    rows, services_dup = _ona_rows(deployment)
    c1 = FlowResult("C1", len(expected.c1))
    o1 = FlowResult("O1", len(expected.o1))
    lettered: dict[str, str] = {}
    poison_dead: Counter[str] = Counter()
    for letter in letters:
        flow, keys = _letter_keys(letter)
        reason = letter.error_message
        if not keys:
            if row.poison and letter.message_id and letter.message_id.startswith("poison-"):
                poison_dead[_short(reason)] += 1
            else:
                (c1 if flow != "o1" else o1).untrue.append(f"unexpected letter: {_short(reason)}")
            continue
        for key in keys:
            lettered[key] = reason
        result = o1 if flow == "o1" else c1
        result.dead[_short(reason)] += 1
        if UNCERTAIN in reason:
            result.uncertain += 1
            result.uncertain_held += sum(1 for k in keys if applied.get(k))
            if not row.may_interrupt_writes:
                result.untrue.append(f"uncertain letter without an interrupted write: {reason}")
        elif letter.error_class not in ("MappingGap", "PartlyMapped") or not any(
            k.removeprefix("source:") in expected.c1_gaps | expected.o1_gaps for k in keys
        ):
            result.untrue.append(f"{letter.error_class}: {_short(reason)}")
    for key, source in expected.c1.items():
        n = applied.get(key, 0)
        c1.exactly_once += n == 1
        c1.duplicates += n > 1
        c1.lost += n == 0 and key not in lettered and f"source:{source}" not in lettered
    for key, source in expected.o1.items():
        n = rows.get(key, 0)
        o1.exactly_once += n == 1
        o1.duplicates += n > 1
        o1.lost += n == 0 and key not in lettered and f"source:{source}" not in lettered
    o1.duplicates += services_dup
    return [c1, o1], poison_dead


def _retry_after_honoured(deployment: Deployment) -> bool:
    """Every upsert answered 429 was tried again no sooner than its Retry-After."""
    journal = _oscar_journal(deployment)
    seen = False
    for n, entry in enumerate(journal):
        if entry["status"] != 429:
            continue
        seen = True
        key, at = _upsert_key(entry), datetime.fromisoformat(entry["time"])
        later = [e for e in journal[n + 1 :] if _upsert_key(e) == key]
        if not later:
            return False
        if (datetime.fromisoformat(later[0]["time"]) - at).total_seconds() < RETRY_AFTER_S - 0.05:
            return False
    return seen


def run_row(
    row: Row, broker: PrivateRabbitMQ, database: PrivatePostgres, work_dir: Path,
    cases: int, seed: int, expected: Expected, timeout_s: float,
) -> RowResult:  # fmt: skip
    logs = work_dir / row.name.replace(" ", "_").replace("/", "")
    logs.mkdir(parents=True, exist_ok=True)
    deployment = Deployment(broker, database, logs, cases, seed, expected.oscar_seed)
    try:
        deployment.create_databases()
        deployment.start_simulators()
        deployment.start_services()
        started = time.monotonic()
        deployment.start_fetcher()
        while _progress(deployment, expected) < 0.25:
            if time.monotonic() - started > timeout_s:
                raise RuntimeError(f"{row.name}: no progress, see {logs}")
            time.sleep(0.2)
        row.inject(deployment)
        _clear_faults(deployment)
        quiet = 0
        while quiet < 4:
            if time.monotonic() - started > timeout_s:
                break
            quiet = quiet + 1 if _settled(deployment, expected) else 0
            time.sleep(1.0)
        seconds = time.monotonic() - started
        ready = {name: p.ready() for name, p in deployment.services.items()}
        restarts = {n: p.restarts for n, p in deployment.services.items() if p.restarts}
        honoured = _retry_after_honoured(deployment) if "429" in row.name else None
        faulted = sum(1 for e in _oscar_journal(deployment) if e.get("fault"))
        letters = _letters(deployment)
        flows, poison_dead = reconcile(deployment, expected, row, letters)
        statuses = deployment.stop()
    finally:
        deployment.stop()
    not_ready = [n for n, ok in ready.items() if not ok]
    unclean = [n for n, s in statuses.items() if s != 0]
    recovered = not not_ready and not unclean and seconds < timeout_s
    note = (
        ""
        if recovered
        else f"not ready {not_ready}, exit {unclean}, timed out {seconds >= timeout_s}"
    )
    if restarts:
        note = (note + " " if note else "") + f"orchestrator restart of {', '.join(restarts)}"
    return RowResult(row.name, flows, recovered, note, seconds, honoured, poison_dead, faulted)


# -- the table ------------------------------------------------------------------------------
HEADER = (
    "| row | flow | expected | exactly once | duplicates | dead-lettered (reasons)"
    " | needs admin check (held by OSCaR) | lost | recovered by itself | seconds |"
)


def table(results: list[RowResult]) -> str:
    lines = [HEADER, "|" + "---|" * 10]
    for result in results:
        for flow in result.flows:
            reasons = "; ".join(f"{n} {r}" for r, n in sorted(flow.dead.items())) or "0"
            extras = []
            if flow.flow == "C1" and result.poison_dead:
                poison = ", ".join(f"{n} {r!r}" for r, n in sorted(result.poison_dead.items()))
                extras.append(f"+ poison in transformer DLQ: {poison}")
            if flow.flow == "C1" and result.faulted:
                extras.append(f"{result.faulted} upserts answered with the fault")
            if flow.flow == "C1" and result.honoured_retry_after is not None:
                extras.append(
                    f"Retry-After honoured: {'yes' if result.honoured_retry_after else 'NO'}"
                )
            if flow.untrue:
                extras.append(f"UNTRUE: {flow.untrue[0]}")
            reasons = "; ".join([reasons, *extras]) if extras else reasons
            check = f"{flow.uncertain} ({flow.uncertain_held})" if flow.flow == "C1" else "-"
            recovered = "yes" if result.recovered else "NO"
            if result.recovery_note:
                recovered += f" ({result.recovery_note})"
            lines.append(
                f"| {result.row} | {flow.flow} | {flow.expected} | {flow.exactly_once}"
                f" | {flow.duplicates} | {reasons} | {check} | {flow.lost} | {recovered}"
                f" | {result.seconds:.0f} |"
            )
    return "\n".join(lines)


def failures(results: list[RowResult]) -> list[str]:
    """What breaks the acceptance: a loss, a duplicate, an untrue reason, a manual step."""
    out = []
    for result in results:
        if not result.recovered:
            out.append(f"{result.row}: not recovered ({result.recovery_note})")
        if result.honoured_retry_after is False:
            out.append(f"{result.row}: Retry-After not honoured")
        poisoned = sum(result.poison_dead.values())
        if result.row.startswith("poison") and poisoned != len(POISON):
            out.append(f"{result.row}: {poisoned} of {len(POISON)} poison dead-lettered")
        for flow in result.flows:
            if flow.lost or flow.duplicates:
                out.append(
                    f"{result.row} {flow.flow}: lost {flow.lost}, duplicates {flow.duplicates}"
                )
            out += [f"{result.row} {flow.flow}: {u}" for u in flow.untrue]
    return out


def run_matrix(
    names: tuple[str, ...], cases: int, seed: int, timeout_s: float, work_dir: Path,
    broker: PrivateRabbitMQ, database: PrivatePostgres, echo: Callable[[str], None] = print,
) -> list[RowResult]:  # fmt: skip
    expected = expected_effects(cases, seed)
    results = []
    for name in names:
        result = run_row(ROWS[name], broker, database, work_dir, cases, seed, expected, timeout_s)
        echo(f"{name}: {result.seconds:.0f} s")
        results.append(result)
    return results


def main(argv: list[str] | None = None) -> int:
    from casebridge.testing.private_postgres import private_postgres
    from casebridge.testing.private_rabbitmq import private_rabbitmq

    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__)
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout-s", type=float, default=180)
    parser.add_argument("--rows", default="all", help="comma-separated row names, or all")
    args = parser.parse_args(argv)
    names = tuple(ROWS) if args.rows == "all" else tuple(r.strip() for r in args.rows.split(","))
    work_dir = Path(tempfile.mkdtemp(prefix="cb-chaos-"))
    with private_rabbitmq() as broker, private_postgres() as database:
        results = run_matrix(
            names, args.cases, args.seed, args.timeout_s, work_dir, broker, database
        )
    print(table(results))
    print(f"(logs: {work_dir})")
    broken = failures(results)
    for line in broken:
        print(f"FAIL {line}", file=sys.stderr)
    return 1 if broken else 0
