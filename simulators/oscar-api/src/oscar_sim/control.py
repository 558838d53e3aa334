"""The ``/__sim`` control surface: a path prefix the real OSCaR never serves.

Reset, seed, read the journal of received writes, inspect state, inject faults, move the
clock, expire tokens, and play the NGO that accepts a referral.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from oscar_sim.catalogue import CLIENT_STATUSES
from oscar_sim.state import OscarSim
from oscar_sim.store import intake
from oscar_sim.timeparse import parse_time
from simkit.control import PREFIX, add_shared_routes, json_object
from simkit.responses import json_response

__all__ = ["PREFIX", "build_control"]


def _jsonable(row: Any) -> dict[str, Any]:
    data: dict[str, Any] = dataclasses.asdict(row)
    for key, value in data.items():
        if hasattr(value, "isoformat"):
            data[key] = value.isoformat()
    return data


def build_control(sim: OscarSim) -> APIRouter:
    router = APIRouter(prefix=PREFIX, include_in_schema=False)

    @router.get("/health")
    async def health() -> Response:
        return json_response(200, {"ok": True, "clients": len(sim.store.clients)})

    @router.post("/seed")
    async def seed(request: Request) -> Response:
        body = await json_object(request)
        source = body.get("source", "samples")
        if source == "samples":
            loaded = sim.seed_samples()
        elif source == "generate":
            loaded = sim.seed_generated(int(body.get("count", 100)), int(body.get("seed", 0)))
        elif source == "records":
            loaded = sim.load(body.get("records") or [])
        else:
            return json_response(400, {"error": f"unknown source {source!r}"})
        return json_response(
            200,
            {"loaded": len(loaded), "global_ids": [c.global_id for c in loaded[:1000]]},
        )

    add_shared_routes(router, sim)

    @router.get("/tokens")
    async def tokens() -> Response:
        rows = [dataclasses.asdict(t) for t in sim.tokens.clients_of(sim.config.email)]
        return json_response(200, {"tokens": rows})

    @router.post("/tokens/expire")
    async def expire_tokens(request: Request) -> Response:
        body = await json_object(request)
        now = sim.clock.now()
        if body.get("client"):
            count = int(sim.tokens.expire(body.get("uid", sim.config.email), body["client"], now))
        else:
            count = sim.tokens.expire_all(now)
        return json_response(200, {"expired": count})

    @router.get("/clock")
    async def clock() -> Response:
        return json_response(200, {"now": sim.clock.now().isoformat(), "frozen": sim.clock.frozen})

    @router.post("/clock")
    async def set_clock(request: Request) -> Response:
        body = await json_object(request)
        if body.get("release"):
            sim.clock.release()
        elif "now" in body:
            at = parse_time(body["now"])
            if at is None:
                return json_response(400, {"error": "unparseable 'now'"})
            sim.clock.freeze(at)
        elif "advance" in body:
            sim.clock.advance(float(body["advance"]))
        return json_response(200, {"now": sim.clock.now().isoformat(), "frozen": sim.clock.frozen})

    @router.get("/clients")
    async def clients() -> Response:
        return json_response(200, {"clients": [_jsonable(c) for c in sim.store.clients.values()]})

    @router.get("/referrals")
    async def referrals() -> Response:
        rows = [_jsonable(r) for r in sim.store.referrals.values()]
        return json_response(200, {"referrals": rows})

    @router.post("/referrals/{referral_id}/intake")
    async def accept_referral(referral_id: int, request: Request) -> Response:
        body = await json_object(request)
        status = body.get("status", "Accepted")
        if status not in CLIENT_STATUSES:
            return json_response(400, {"error": f"status must be one of {CLIENT_STATUSES}"})
        client = intake(sim.store, referral_id, sim.clock.now(), status)
        if client is None:
            return json_response(404, {"error": "no inbound referral with that id"})
        return json_response(200, {"client": _jsonable(client)})

    return router
