"""`casebridge fetch --flow F --since T`: the backfill, end to end with the real fetcher-primero
(bootstrap, one pass per run as `--once` does) against the Primero simulator, the in-process
broker, and the SQLite control store the admin command shares with it."""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from casebridge.clients import PrimeroClient
from casebridge.clients.http import Params
from casebridge.clients.primero import CasePage
from casebridge.memory import MemoryBroker, MemoryTransport
from casebridge.messages import RawRecord, default_registry
from casebridge.topology import transformer_queue
from casebridge_cli.fetch import FLOWS, PUSHED
from fetcher_primero.bootstrap import bootstrap
from fetcher_primero.config import KNOWN_FLOWS, Settings
from fetcher_primero.watermark import parse_primero_time, primero_time
from primero_sim.testing import RunningPrimero, running_primero

from .admin_helpers import Admin

pytestmark = pytest.mark.integration

C1 = "primero:c1-cases"


@pytest.fixture(scope="module")
def primero_server() -> Iterator[RunningPrimero]:
    with running_primero() as sim:
        yield sim


@pytest.fixture
def primero(primero_server: RunningPrimero) -> RunningPrimero:
    primero_server.state.reset()
    return primero_server


class WindowClient(PrimeroClient):
    """Records the `last_updated_at` window of every case query."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.windows: list[str] = []

    async def list_cases(
        self, params: Params | None = None, *, page: int = 1, per: int = 1000
    ) -> CasePage:
        self.windows.append(str(dict(params or {}).get("last_updated_at")))
        return await super().list_cases(params, page=page, per=per)


def fetch_once(sim: RunningPrimero, admin: Admin) -> tuple[list[RawRecord], list[str]]:
    """One fetcher-primero pass (what `fetcher-primero --once` runs), C1 only, on the control
    store the admin command uses; returns the raw records published and the windows queried."""
    broker = MemoryBroker()
    settings = Settings(
        transport="memory",
        topology_prefix=admin.prefix,
        control_database_url=SecretStr(admin.control_url),
        fetch_flows="c1",
    )

    async def one_pass() -> list[str]:
        client = WindowClient(sim.base_url, user=sim.user_name, password=SecretStr(sim.password))
        service = bootstrap(settings, transport=MemoryTransport(broker), client=client)
        await service.run_once()
        return client.windows

    windows = asyncio.run(one_pass())
    queue = broker.queues[transformer_queue(admin.prefix)]
    decoded = [default_registry().decode(m.body) for m in queue.messages]
    return [m for m in decoded if isinstance(m, RawRecord)], windows


def add_case(sim: RunningPrimero, last_updated_at: str) -> str:
    """A case that reaches Primero late with an old `last_updated_at` (an offline device that
    syncs days later): behind the cursor and its overlap, a normal pass never sees it."""
    template = next(iter(sim.state.store.records()))
    record = copy.deepcopy(template)
    record_id = str(uuid.uuid4())
    record.update(id=record_id, case_id=str(uuid.uuid4()), last_updated_at=last_updated_at)
    record["short_id"] = record_id[-7:]
    sim.state.store.put(record)
    return record_id


def c1_cursor(admin: Admin) -> str:
    """The C1 query's cursor as `cursor show` lists it (beside the fetcher's published-through
    mark, which a backfill leaves alone)."""
    [value] = [c["value"] for c in admin.run_json("cursor", "show") if c["name"] == C1]
    return str(value)


def test_fetch_backfills_the_window_and_only_the_window(primero: RunningPrimero, admin: Admin):
    primero.state.seed_generated(40, seed=11)
    first, _ = fetch_once(primero, admin)
    assert len(first) == 40
    cursor = max(c["last_updated_at"] for c in primero.state.store.records())
    assert c1_cursor(admin) == cursor

    at = parse_primero_time(cursor)
    since = at - timedelta(days=2)
    inside = add_case(primero, primero_time(at - timedelta(days=1)))
    outside = add_case(primero, primero_time(at - timedelta(days=3)))
    missed, _ = fetch_once(primero, admin)
    assert missed == []  # both are behind the cursor: the gap a backfill is for

    # Dry run: says old -> new, changes nothing.
    code, out, err = admin.run("fetch", "--flow", "c1", "--since", since.isoformat(), "--dry-run")
    assert code == 0, err
    assert f"{C1} (fetcher-primero): {cursor} -> {primero_time(since)}: would lower" in out
    assert c1_cursor(admin) == cursor

    code, out, err = admin.run("fetch", "--flow", "c1", "--since", since.isoformat())
    assert code == 0, err
    assert f"{cursor} -> {primero_time(since)}: lowered" in out
    assert c1_cursor(admin) == primero_time(since)

    backfilled, windows = fetch_once(primero, admin)
    # The pass re-read the window (from T minus the fetcher's 300 s overlap)...
    assert windows[0] == f"{primero_time(since - timedelta(seconds=300))}.."
    # ...and published what it held and was never published; the 40 cases it re-read in the
    # window went out before with the same message ids, so dedup dropped them.
    assert [r.source.record_id for r in backfilled] == [inside]
    assert outside not in {r.source.record_id for r in backfilled}
    # The pass moved the cursor forward again.
    assert c1_cursor(admin) == cursor

    entries = [e for e in admin.audit_log() if e.action == "fetch.backfill"]
    assert [(e.count, e.actor, e.detail["dry_run"]) for e in entries] == [
        (1, "alice@mosvy", True),
        (1, "alice@mosvy", False),
    ]
    assert entries[1].detail["cursors"] == [{"name": C1, "from": cursor, "to": primero_time(since)}]


def test_fetch_never_moves_a_cursor_forward_and_refuses_pushed_flows(admin: Admin) -> None:
    admin.set_cursor(C1, "2026-01-02T03:04:05.000Z")
    admin.set_cursor("oscar:clients", "2026-01-05T00:00:00+00:00")
    moved = admin.run_json("fetch", "--flow", "c1,c2", "--since", "2026-01-03T00:00:00Z")
    by_cursor = {m["cursor"]: m for m in moved}
    assert by_cursor[C1]["to"] is None
    assert by_cursor[C1]["result"] == "already at or before T"
    assert by_cursor["oscar:clients"]["to"] == "2026-01-03T00:00:00+00:00"
    assert {c["name"]: c["value"] for c in admin.run_json("cursor", "show")} == {
        C1: "2026-01-02T03:04:05.000Z",
        "oscar:clients": "2026-01-03T00:00:00+00:00",
    }
    # o1 has two queries, neither fetched yet: no silent "done"; the refusal says what the
    # next pass will do, nothing changes; --create starts both at T.
    code, out, err = admin.run("fetch", "--flow", "o1", "--since", "2026-01-03T00:00:00Z")
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1
    assert "primero:o1-4.8, primero:o1-4.11a: no cursor yet" in err
    assert "configured start" in err
    assert "--create" in err
    assert {c["name"] for c in admin.run_json("cursor", "show")} == {C1, "oscar:clients"}
    o1 = admin.run_json("fetch", "--flow", "o1", "--since", "2026-01-03T00:00:00Z", "--create")
    assert [(m["cursor"], m["from"], m["to"], m["result"]) for m in o1] == [
        ("primero:o1-4.8", None, "2026-01-03T00:00:00.000Z", "created at T"),
        ("primero:o1-4.11a", None, "2026-01-03T00:00:00.000Z", "created at T"),
    ]
    shown = {c["name"]: c["value"] for c in admin.run_json("cursor", "show")}
    assert shown["primero:o1-4.8"] == "2026-01-03T00:00:00.000Z"

    code, _, err = admin.run("fetch", "--flow", "p1", "--since", "2d")
    assert code == 2
    assert "webhook" in err
    code, _, err = admin.run("fetch", "--flow", "zz", "--since", "2d")
    assert code == 2
    assert "unknown flow" in err


def test_the_cli_knows_every_fetcher_cursor_by_its_name() -> None:
    """The command names the fetchers' cursors without importing them at run time; this keeps
    the two in step."""
    from fetcher_oscar import clients_feed
    from fetcher_primero import c1_cases, o1_cases
    from fetcher_primero.progres_cases import ProgresCasesFetch

    def progres(flow: str) -> str:
        fetch = ProgresCasesFetch(flow, None, None, None, start_cursor="")  # type: ignore[arg-type]
        return fetch.cursor

    assert FLOWS["c1"].cursors == (c1_cases.CURSOR,)
    assert FLOWS["o1"].cursors == tuple(q.cursor for q in o1_cases.QUERIES)
    assert FLOWS["p2"].cursors == (progres("p2"),)
    assert FLOWS["p3"].cursors == (progres("p3"),)
    for flow in clients_feed.FLOWS:
        assert FLOWS[flow].cursors == (clients_feed.CURSOR,)
    polled = {f for f, spec in FLOWS.items() if spec.fetcher == "fetcher-primero"}
    assert polled == KNOWN_FLOWS
    assert not PUSHED & set(FLOWS)
