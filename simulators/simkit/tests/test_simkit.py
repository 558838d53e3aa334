"""simkit on its own: the journal, fault rules, and a composed app served in a thread."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
import requests
from fastapi import APIRouter
from starlette.responses import Response

from simkit.app import compose
from simkit.clock import SimClock
from simkit.connections import ConnectionRegistry
from simkit.control import PREFIX, add_shared_routes
from simkit.faults import FaultBook, FaultSpecError
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


def test_fault_retires_after_times():
    book = FaultBook(seed=1)
    book.add({"kind": "error", "path": "/x*", "times": 2})
    assert book.decide("GET", "/x/1").outcome == "error"
    assert book.decide("GET", "/x/2").outcome == "error"
    assert book.decide("GET", "/x/3").outcome is None
    assert book.entries() == []


def test_latency_faults_add_up_and_the_first_other_kind_decides():
    book = FaultBook()
    book.add({"kind": "latency", "latency_ms": 100})
    book.add({"kind": "throttle", "method": "post", "path": "/cases/*/referrals"})
    book.add({"kind": "error", "status": 503})
    book.add({"kind": "latency", "latency_ms": 50, "path": "/cases/*"})
    decision = book.decide("POST", "/cases/7/referrals/")
    assert decision.latency_s == pytest.approx(0.15)
    assert decision.fault is not None
    assert (decision.outcome, decision.fault.retry_after) == ("throttle", 1)
    assert book.decide("GET", "/cases/7/referrals").outcome == "error"
    assert book.decide("GET", "/other").latency_s == pytest.approx(0.1)


def test_fractional_probability_is_reproducible_for_a_seed():
    def draws(seed: int) -> list[bool]:
        book = FaultBook(seed)
        book.add({"kind": "drop", "probability": 0.5})
        return [book.decide("GET", "/a").fault is not None for _ in range(40)]

    assert draws(3) == draws(3)
    assert 5 < sum(draws(3)) < 35


@pytest.mark.parametrize(
    "spec",
    [
        {"kind": "boom"},
        {"kind": "error", "status": 418},
        {"kind": "error", "probability": 2},
        {"kind": "error", "times": 0},
        {"kind": "error", "error_rate": 1},
    ],
)
def test_bad_specs_are_refused(spec):
    with pytest.raises(FaultSpecError):
        FaultBook().add(spec)


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
        fault = {"kind": "throttle", "path": "/things", "retry_after": 7, "times": 1}
        added = requests.post(url + PREFIX + "/faults", json=fault, timeout=5)
        assert added.status_code == 201
        assert added.json()["faults"][0]["id"] == 1
        bad = requests.post(url + PREFIX + "/faults", json=[fault, {"kind": "x"}], timeout=5)
        assert bad.status_code == 400
        assert len(requests.get(url + PREFIX + "/faults", timeout=5).json()["faults"]) == 1
        throttled = requests.post(url + "/things", timeout=5)
        assert (throttled.status_code, throttled.content) == (429, b'{"slow":"down"}')
        assert throttled.headers["retry-after"] == "7"
        assert "server" not in throttled.headers
        journal = requests.get(url + PREFIX + "/requests", timeout=5).json()["requests"]
        assert [(e["body"], e["status"], e["fault"]) for e in journal] == [
            ({"a": 1}, 201, None),
            (None, 429, "throttle"),
        ]
        error = {"kind": "error", "status": 502}
        fault_id = requests.post(url + PREFIX + "/faults", json=error, timeout=5).json()
        failed = requests.post(url + "/things", timeout=5)
        assert (failed.status_code, failed.content) == (502, b"down")
        assert "retry-after" not in failed.headers
        removed = requests.delete(
            url + PREFIX + f"/faults/{fault_id['faults'][0]['id']}", timeout=5
        )
        assert removed.json() == {"faults": []}
        assert requests.post(url + "/things", timeout=5).status_code == 201
        assert requests.delete(url + PREFIX + "/faults/99", timeout=5).status_code == 404
        assert requests.post(url + PREFIX + "/reset", timeout=5).json() == {"reset": True}
    assert sim.resets == 1
