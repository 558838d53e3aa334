"""make bench-ona: flow O1 end to end — Primero simulator -> fetcher-primero -> RabbitMQ ->
transformer -> RabbitMQ -> loader (ona) -> PostgreSQL, every service its own process.

1. The Primero simulator (its own process) generates `--cases` Cambodian cases; the O1 queries
   (indicators 4.8 and 4.11a) select about 95% of them.
2. transformer and loader (`LOADER_TARGET=ona`) start as processes on a fresh topology and a
   fresh ONA database; then `fetcher-primero --once` (`FETCH_FLOWS=o1`) starts and the clock
   runs until the ONA `cases` table holds every selected case. records/s = records published
   (selected cases) / that time.
3. The peak RSS of each service process (`wait4` ru_maxrss).
4. The ceiling `../shared/ceiling/run pg 30000` in the same invocation, and the ratio.
5. The naive baseline on the same load, as the issue defines it: one page at a time (`per=500`,
   sequential), one row at a time (one autocommit `INSERT … ON CONFLICT` per case and per
   service), no broker, into a second fresh database (`run_naive`): `speedup_vs_naive`.
6. For reference, the old ONA job chain's own shape (MAPPINGS C.1-C.5): sequential batches of
   page n of query A then page n of query B (`per=500`), de-duplicated by `case_id_display`,
   one multi-row autocommit upsert per table per batch on a new connection per batch, no broker
   (`run_job_chain`; bench/README.md): `speedup_vs_old_job_chain`.

Last line: one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import psycopg
import requests

from bench.ceiling import measure
from casebridge.ids import new_id
from casebridge.messages import RawRecord, SourceRef
from casebridge.testing.amqp_probe import AmqpProbe
from casebridge.topology import build_topology, loader_queue, transformer_queue
from fetcher_primero.o1_cases import QUERIES
from transformer.ona import load_ona_tables, map_o1

AMQP_URL = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
PG_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
USER, PASSWORD = "primero", "primero-sim"


def _free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _database(name: str) -> str:
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    url = urlunparse(urlparse(PG_URL)._replace(path=f"/{name}"))
    subprocess.run([sys.executable, "-m", "loader.ona.migrate", url], check=True)
    return url


def _drop(name: str) -> None:
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def primero_sim(cases: int) -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "primero_sim", "--host", "127.0.0.1", "--port", str(port)),
            *("--seed", "42", "--cases", str(cases), "--profile", "cambodia"),
            *("--log-level", "warning"),
        ],
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(f"{base}/__sim/health", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("the Primero simulator did not start")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _selected(base: str, per: int = 1000) -> list[dict[str, Any]]:
    """Every case either O1 query selects, A then B, first occurrence (outside the timing)."""
    session = requests.Session()
    session.auth = (USER, PASSWORD)
    found: dict[str, dict[str, Any]] = {}
    for query in QUERIES:
        for case in _pages(session, base, dict(query.params), per):
            found.setdefault(str(case["id"]), case)
    return list(found.values())


def _pages(
    session: requests.Session, base: str, params: dict[str, Any], per: int
) -> Iterator[dict[str, Any]]:
    page = 1
    while True:
        doc = session.get(
            f"{base}/api/v2/cases", params={**params, "page": page, "per": per}, timeout=60
        ).json()
        yield from doc["data"]
        if len(doc["data"]) < per:
            return
        page += 1


#: Runs a service module and, at exit, writes its peak RSS (VmHWM, kB) to BENCH_RSS_FILE.
#: (`wait4`'s ru_maxrss would report the forking bench process's size: it survives exec.)
_LAUNCH = """
import atexit, os, runpy, sys
def _hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            open(os.environ["BENCH_RSS_FILE"], "w").write(line.split()[1])
atexit.register(_hwm)
module = sys.argv[1]
sys.argv = [module, *sys.argv[2:]]
runpy.run_module(module, run_name="__main__", alter_sys=True)
"""


def _spawn(module: str, rss_file: Path, env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", _LAUNCH, module, *args],
        env={**os.environ, **env, "BENCH_RSS_FILE": str(rss_file)},
    )


def _peak_rss_mb(proc: subprocess.Popen[bytes], rss_file: Path, stop: bool) -> float:
    """Stop (SIGTERM) if asked, wait for a clean exit and read the peak RSS it wrote, in MB."""
    if stop and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    try:
        return round(int(rss_file.read_text()) / 1024, 1)
    except (OSError, ValueError):
        return float("nan")


def _count(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM cases").fetchone()
        return int(row[0]) if row else 0


def run_pipeline(base: str, ona_url: str, expected_rows: int, work: Path) -> dict[str, Any]:
    prefix = f"bona{new_id()[:8]}"
    common = {
        "RABBITMQ_URL": AMQP_URL,
        "TOPOLOGY_PREFIX": prefix,
        "HEALTH_PORT": "0",
        "LOG_LEVEL": "WARNING",
        "LOG_FORMAT": "json",
    }
    probe = AmqpProbe(AMQP_URL)
    transformer = _spawn("transformer", work / "transformer.rss", common)
    loader = _spawn(
        "loader",
        work / "loader.rss",
        common
        | {
            "LOADER_TARGET": "ona",
            "ONA_DATABASE_URL": ona_url,
            "ONA_MIGRATE": "false",
            "CONTROL_DATABASE_URL": f"sqlite+aiosqlite:///{work / 'loader.db'}",
        },
    )
    try:
        for queue in (transformer_queue(prefix), loader_queue(prefix, "ona")):
            deadline = time.monotonic() + 60
            while True:
                try:
                    probe.depth(queue)
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        raise SystemExit(f"{queue} was not declared") from None
                    time.sleep(0.2)
        started = time.monotonic()
        fetcher = _spawn(
            "fetcher_primero",
            work / "fetcher.rss",
            common
            | {
                "PRIMERO_URL": base,
                "PRIMERO_USER": USER,
                "PRIMERO_PASSWORD": PASSWORD,
                "FETCH_FLOWS": "o1",
                "CONTROL_DATABASE_URL": f"sqlite+aiosqlite:///{work / 'fetcher.db'}",
            },
            "--once",
        )
        fetched_s: float | None = None
        last_report = started
        while True:
            if fetched_s is None and fetcher.poll() is not None:
                fetched_s = time.monotonic() - started
            rows = _count(ona_url)
            if rows >= expected_rows:
                break
            if time.monotonic() - started > 1800:
                raise SystemExit(f"timed out with {rows} of {expected_rows} rows")
            now = time.monotonic()
            if now - last_report >= 2:
                last_report = now
                queues = (transformer_queue(prefix), loader_queue(prefix, "ona"))
                depths = [probe.depth(q) for q in queues]
                print(f"  {now - started:5.1f} s: {rows} rows; raw/commands queued {depths}")
            time.sleep(0.1)
        elapsed = time.monotonic() - started
        rss = {"fetcher-primero": _peak_rss_mb(fetcher, work / "fetcher.rss", stop=False)}
        if fetcher.returncode != 0:
            raise SystemExit(f"fetcher-primero exited {fetcher.returncode}")
        dlq = probe.depth(f"{loader_queue(prefix, 'ona')}.dlq")
        dlq += probe.depth(f"{transformer_queue(prefix)}.dlq")
    finally:
        rss_t = _peak_rss_mb(transformer, work / "transformer.rss", stop=True)
        rss_l = _peak_rss_mb(loader, work / "loader.rss", stop=True)
        probe.delete(build_topology(prefix))
    rss |= {"transformer": rss_t, "loader": rss_l}
    return {"elapsed_s": elapsed, "fetch_s": fetched_s, "rss": rss, "dead_letters": dlq}


def run_naive(base: str, naive_url: str, limit: int) -> tuple[int, float]:
    """The issue's naive baseline: one page at a time (`per=500`, sequential), one row at a time
    (one autocommit `INSERT … ON CONFLICT` per case and per service), no broker."""
    from loader.ona import sql
    from loader.ona.rows import rows_of

    tables = load_ona_tables()
    # The same statement as the loader's, fed one row from VALUES instead of the COPY table.
    columns = ", ".join(c for c, _ in _STAGE_TYPES)
    values = ", ".join(f"%s::{t}" for _, t in _STAGE_TYPES)
    case_sql = f"WITH s ({columns}) AS (VALUES ({values}))" + sql.UPSERT_CASES.replace(
        f"FROM {sql.STAGE_CASES} s", "FROM s"
    )
    service_sql = (
        "INSERT INTO services (case_id, unique_id, service_type, service_date,"
        " source_last_updated_at) VALUES (%s, %s, %s, %s, %s) ON CONFLICT (unique_id) DO UPDATE"
        " SET case_id = EXCLUDED.case_id, service_type = EXCLUDED.service_type,"
        " service_date = EXCLUDED.service_date,"
        " source_last_updated_at = EXCLUDED.source_last_updated_at"
        " WHERE services.source_last_updated_at <= EXCLUDED.source_last_updated_at"
    )
    session = requests.Session()
    session.auth = (USER, PASSWORD)
    done = 0
    started = time.monotonic()
    with psycopg.connect(naive_url, autocommit=True) as conn:
        for query in QUERIES:
            for case in _pages(session, base, dict(query.params), 500):
                if done >= limit:
                    break
                for command in map_o1(_unvalidated_raw(case), tables):
                    rows = rows_of(command)
                    conn.execute(case_sql, rows.case)
                    for service in rows.services:
                        conn.execute(service_sql, service)
                done += 1
    return done, time.monotonic() - started


def run_job_chain(base: str, naive_url: str, limit: int) -> tuple[int, float]:
    """The old ONA job chain's work per batch (MAPPINGS C.1-C.5), sequentially, no broker.

    One batch = Job 1 (page n of query A, then page n of query B, `per=500`, one after the
    other), Job 2 (a new database connection, as each job run opened one; `SELECT * FROM
    locations_lookup`; concatenate A then B and keep the first of each `case_id_display`; map
    each case; then `upsertMany('cases')` and `upsertMany('services')`: ONE multi-row
    `INSERT … VALUES … ON CONFLICT DO UPDATE` per table per batch, each its own autocommit
    transaction), Job 3 (next page while either query still has cases). See bench/README.md.
    """
    from loader.ona import sql
    from loader.ona.rows import rows_of

    tables = load_ona_tables()
    case_cols = ", ".join(c for c, _ in _STAGE_TYPES)
    service_cols = "case_id, unique_id, service_type, service_date, source_last_updated_at"
    service_types = ("text", "text", "text", "timestamptz", "timestamptz")
    session = requests.Session()
    session.auth = (USER, PASSWORD)
    per = 500
    done = 0
    # Bench bookkeeping only (the rate counts distinct cases, like casebridge's): a case in
    # both queries may come in two different batches, and is then upserted twice, as it was.
    counted: set[str] = set()
    started = time.monotonic()
    page = 1
    active = [dict(q.params) for q in QUERIES]
    while active and done < limit:
        batch: list[dict[str, Any]] = []
        still: list[dict[str, Any]] = []
        for params in active:  # Job 1: query A's page n, then query B's page n
            doc = session.get(
                f"{base}/api/v2/cases", params={**params, "page": page, "per": per}, timeout=60
            ).json()
            batch.extend(doc["data"])
            if len(doc["data"]) == per:
                still.append(params)
        active, page = still, page + 1
        # Job 2: first occurrence of each case_id_display, map, one upsert per table.
        firsts: dict[str, dict[str, Any]] = {}
        for case in batch:
            firsts.setdefault(str(case.get("case_id_display")), case)
        cases: list[tuple[Any, ...]] = []
        services: dict[str, tuple[Any, ...]] = {}
        for case in firsts.values():
            for command in map_o1(_unvalidated_raw(case), tables):
                rows = rows_of(command)
                cases.append(rows.case)
                for service in rows.services:
                    services[str(service[1])] = service
            if str(case["id"]) not in counted:
                counted.add(str(case["id"]))
                done += 1
        with psycopg.connect(naive_url, autocommit=True) as conn:
            conn.execute("SELECT * FROM locations_lookup").fetchall()
            cursor = psycopg.RawCursor(conn)
            if cases:
                values, params = _values(cases, [t for _, t in _STAGE_TYPES])
                statement = f"WITH s ({case_cols}) AS (VALUES {values})" + (
                    sql.UPSERT_CASES.replace(f"FROM {sql.STAGE_CASES} s", "FROM s")
                )
                cursor.execute(statement, params)
            if services:
                values, params = _values(list(services.values()), list(service_types))
                statement = f"WITH s ({service_cols}) AS (VALUES {values})" + (
                    sql.UPSERT_SERVICES.replace(f"FROM {sql.STAGE_SERVICES}", "FROM s")
                )
                cursor.execute(statement, params)
    return done, time.monotonic() - started


def _unvalidated_raw(case: dict[str, Any]) -> RawRecord:
    """The case as the mapping takes it, without a message's validation or ids: the baselines
    have no broker, so they are spared what only a message needs."""
    return RawRecord.model_construct(
        schema_version=1,
        message_id="naive",
        correlation_id="naive",
        causation_id=None,
        flow="o1",
        source=SourceRef(
            system="primero",
            record_type="case",
            record_id=str(case["id"]),
            updated_at=case["last_updated_at"],
        ),
        produced_at=None,
        producer="bench-naive",
        query=None,
        payload=case,
    )


def _values(rows: list[tuple[Any, ...]], types: list[str]) -> tuple[str, list[Any]]:
    """`($1::t, …), (…)` for a multi-row VALUES, and the flat parameters."""
    width = len(types)
    groups = []
    for r in range(len(rows)):
        cells = ", ".join(f"${r * width + i + 1}::{t}" for i, t in enumerate(types))
        groups.append(f"({cells})")
    return ", ".join(groups), [v for row in rows for v in row]


_STAGE_TYPES = (
    ("case_id", "text"),
    ("registration_date", "date"),
    ("case_source", "text"),
    ("disabled", "text"),
    ("type_of_case", "text"),
    ("sex", "text"),
    ("age", "integer"),
    ("protection_concerns", "text"),
    ("placement_type", "text"),
    ("consent_for_reporting", "text"),
    ("location_code", "text"),
    ("current_district_key", "text"),
    ("caregiver_district_key", "text"),
    ("source_last_updated_at", "timestamptz"),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_ona", description=__doc__)
    parser.add_argument("--cases", type=int, default=105_000, help="cases in the simulator")
    parser.add_argument("--ceiling-records", type=int, default=30_000)
    parser.add_argument(
        "--naive-records", type=int, default=0, help="cases through the naive path (0 = all)"
    )
    args = parser.parse_args(argv)
    suffix = new_id()[:8]
    ona_db, naive_db = f"bench_ona_{suffix}", f"bench_ona_naive_{suffix}"
    chain_db = f"bench_ona_chain_{suffix}"
    with primero_sim(args.cases) as base, tempfile.TemporaryDirectory() as tmp:
        selected = _selected(base)
        expected_rows = len({c["case_id_display"] for c in selected})
        print(
            f"Primero: {args.cases} cases; O1 queries select {len(selected)}"
            f" ({expected_rows} distinct case_id_display)",
            flush=True,
        )
        try:
            ona_url = _database(ona_db)
            result = run_pipeline(base, ona_url, expected_rows, Path(tmp))
            rate = len(selected) / result["elapsed_s"]
            fetch_s = f"{result['fetch_s']:.1f} s" if result["fetch_s"] else "the end"
            print(
                f"casebridge O1: {len(selected)} records in {result['elapsed_s']:.1f} s"
                f" = {rate:,.0f} records/s (fetcher exited at {fetch_s});"
                f" dead letters {result['dead_letters']}; peak RSS MB {result['rss']}",
                flush=True,
            )
            limit = args.naive_records or len(selected)
            naive_url = _database(naive_db)
            naive_n, naive_s = run_naive(base, naive_url, limit)
            naive_rate = naive_n / naive_s
            print(f"naive O1 (row at a time): {naive_n} records in {naive_s:.1f} s"
                  f" = {naive_rate:,.0f} records/s")  # fmt: skip
            _drop(naive_db)
            chain_url = _database(chain_db)
            chain_n, chain_s = run_job_chain(base, chain_url, limit)
            chain_rate = chain_n / chain_s
            print(f"old job chain O1 (batch upserts, no broker): {chain_n} records in"
                  f" {chain_s:.1f} s = {chain_rate:,.0f} records/s")  # fmt: skip
        finally:
            _drop(ona_db)
            _drop(naive_db)
            _drop(chain_db)
    ceiling = measure("pg", args.ceiling_records)["pg_records_per_s"]
    print(f"ceiling pg ({args.ceiling_records}): {ceiling:,.0f} records/s")
    figures = {
        "records_per_s": round(rate, 1),
        "ceiling_records_per_s": round(ceiling, 1),
        "ratio": round(rate / ceiling, 3),
        "naive_records_per_s": round(naive_rate, 1),
        "speedup_vs_naive": round(rate / naive_rate, 2),
        "old_job_chain_records_per_s": round(chain_rate, 1),
        "speedup_vs_old_job_chain": round(rate / chain_rate, 2),
        "peak_rss_mb": result["rss"],
        "records": len(selected),
        "dead_letters": result["dead_letters"],
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
