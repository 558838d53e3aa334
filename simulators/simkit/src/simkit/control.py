"""Helpers for a simulator's ``/__sim`` control surface: the routes every simulator shares.

Each ``add_*`` function adds routes to the simulator's own ``APIRouter`` (whose prefix is
the control prefix), so a simulator composes the shared routes with its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from fastapi import APIRouter, Request
from starlette.responses import Response

from simkit.faults import FaultBook, FaultSpecError, parse_spec
from simkit.journal import Journal
from simkit.responses import json_response

PREFIX = "/__sim"
"""The control surface's path prefix: no simulated API serves it."""


async def json_object(request: Request, list_key: str = "items") -> dict[str, Any]:
    """The JSON body as an object: ``{}`` when empty, a bare list wrapped as ``{list_key: …}``."""
    raw = await request.body()
    if not raw.strip():
        return {}
    data = await request.json()
    return data if isinstance(data, dict) else {list_key: data}


def add_reset_route(router: APIRouter, reset: Callable[[], None]) -> None:
    """``POST /reset``."""

    @router.post("/reset")
    async def reset_route() -> Response:
        reset()
        return json_response(200, {"reset": True})


def add_journal_routes(
    router: APIRouter, journal: Journal, on_clear: Callable[[], None] | None = None
) -> None:
    """``GET /requests`` (the journal in order) and ``DELETE /requests``.

    ``on_clear`` forgets whatever else the simulator records alongside the journal.
    """

    @router.get("/requests")
    async def requests() -> Response:
        return json_response(200, {"requests": [e.as_dict() for e in journal.entries()]})

    @router.delete("/requests")
    async def clear_requests() -> Response:
        journal.clear()
        if on_clear is not None:
            on_clear()
        return json_response(200, {"cleared": True})


def add_fault_routes(router: APIRouter, faults: FaultBook, list_key: str = "items") -> None:
    """``GET|POST|DELETE /faults`` and ``DELETE /faults/{id}``, the same on every simulator.

    POST takes one spec, a list of specs, or ``{"faults": [...]}``; it adds all or none (a bad
    spec is a 400 naming the problem) and answers 201 with the added faults and their ids.
    """

    @router.get("/faults")
    async def list_faults() -> Response:
        return json_response(200, {"faults": [f.as_dict() for f in faults.entries()]})

    @router.post("/faults")
    async def add_faults(request: Request) -> Response:
        body = await json_object(request, list_key)
        specs = body.get("faults", body.get(list_key, [body]))
        if not isinstance(specs, list) or not all(isinstance(s, dict) for s in specs):
            return json_response(400, {"error": "a fault spec is a JSON object"})
        try:
            for spec in specs:
                parse_spec(spec, 0)
        except FaultSpecError as exc:
            return json_response(400, {"error": str(exc)})
        added = [faults.add(spec) for spec in specs]
        return json_response(201, {"faults": [f.as_dict() for f in added]})

    @router.delete("/faults")
    async def clear_faults() -> Response:
        faults.clear()
        return json_response(200, {"faults": []})

    @router.delete("/faults/{fault_id}")
    async def remove_fault(fault_id: int) -> Response:
        if not faults.remove(fault_id):
            return json_response(404, {"error": f"no fault {fault_id}"})
        return json_response(200, {"faults": [f.as_dict() for f in faults.entries()]})


class Controllable(Protocol):
    """A simulator's state handle as the shared control routes need it."""

    journal: Journal
    faults: FaultBook

    def reset(self) -> None: ...


def add_shared_routes(
    router: APIRouter,
    sim: Controllable,
    *,
    on_clear_requests: Callable[[], None] | None = None,
    list_key: str = "items",
) -> None:
    """``POST /reset``, ``GET|DELETE /requests`` and ``GET|POST|DELETE /faults``.

    ``list_key`` names the key a bare JSON list is wrapped in (see ``json_object``).
    """
    add_reset_route(router, sim.reset)
    add_journal_routes(router, sim.journal, on_clear_requests)
    add_fault_routes(router, sim.faults, list_key)
