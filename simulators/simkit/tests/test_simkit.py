"""simkit on its own: the journal, fault rules, and a composed app served in a thread."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import requests
from fastapi import APIRouter
from starlette.responses import Response

from simkit.app import compose
from simkit.clock import SimClock
from simkit.connections import ConnectionRegistry
from simkit.control import PREFIX, add_shared_routes
from simkit.faults import FaultBook, FaultRule
from simkit.journal import Journal
from simkit.responses import json_response
from simkit.serving import serve_in_thread


def test_journal_numbers_entries_and_formats_time_as_told():
    journal = Journal(time_format=lambda moment: moment.strftime("%Y%m%d"))
    at = datetime(2025, 3, 4, 5, 6, tzinfo=UTC)
    first = journal.open("POST", "/a", "", {"x": 1}, at)
    journal.open("PUT", "/b", "q=1", None, at)
    assert [e.seq for e in journal.entries()] == [1, 2]
    assert first.as_dict()["time"] == "20250304"
    assert len(journal) == 2
    journal.clear()
    assert journal.entries() == []


def test_rule_retires_after_times():
    book = FaultBook(seed=1)
    book.add(FaultRule(path="/x*", error_rate=1.0, times=2))
    assert book.decide("GET", "/x/1").outcome == "error"
    assert book.decide("GET", "/x/2").outcome == "error"
    assert book.decide("GET", "/x/3").outcome is None


@dataclass
class _Sim:
    clock: SimClock = field(default_factory=SimClock)
    connections: ConnectionRegistry = field(default_factory=ConnectionRegistry)
    journal: Journal = field(default_factory=Journal)
    faults: FaultBook = field(default_factory=FaultBook)
    resets: int = 0

    def reset(self) -> None:
        self.resets += 1


def test_composed_app_journals_faults_and_serves_control_routes():
    sim = _Sim()
    api = APIRouter()

    @api.post("/things")
    async def things() -> Response:
        return json_response(201, {"ok": True})

    control = APIRouter(prefix=PREFIX)
    add_shared_routes(control, sim)
    app = compose(
        "test",
        sim,
        [api, control],
        error_response=lambda status: ("text/plain", b"down"),
        throttle_body=b'{"slow":"down"}',
    )
    with serve_in_thread(app, sim.connections, server_header=False) as url:
        assert requests.post(url + "/things", json={"a": 1}, timeout=5).status_code == 201
        rule = {"path": "/things", "throttle_rate": 1, "retry_after": 7, "times": 1}
        requests.post(url + PREFIX + "/faults", json=rule, timeout=5)
        throttled = requests.post(url + "/things", timeout=5)
        assert (throttled.status_code, throttled.content) == (429, b'{"slow":"down"}')
        assert throttled.headers["retry-after"] == "7"
        assert "server" not in throttled.headers
        journal = requests.get(url + PREFIX + "/requests", timeout=5).json()["requests"]
        assert [(e["body"], e["status"], e["fault"]) for e in journal] == [
            ({"a": 1}, 201, None),
            (None, 429, "throttle"),
        ]
        assert requests.post(url + PREFIX + "/reset", timeout=5).json() == {"reset": True}
    assert sim.resets == 1
