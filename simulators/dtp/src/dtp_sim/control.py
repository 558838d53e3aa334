"""The ``/__sim`` control surface: a path prefix the real DTP gateway never serves.

Reset, seed the outbox, read what was received, push webhooks, set credentials and the
push target at run time, and inject faults.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from dtp_sim.endpoints import ENDPOINTS
from dtp_sim.generate import generate_decision_messages, generate_referral_messages
from dtp_sim.push import push
from dtp_sim.state import DtpSim
from simkit.control import PREFIX, add_shared_routes, json_object
from simkit.responses import json_response

__all__ = ["PREFIX", "build_control"]
_BARE_LIST_KEY = "messages"  # a bare JSON list posted to the control surface
_SETTABLE = {
    "subscription_keys",
    "client_cert_thumbprint",
    "webhook_url",
    "webhook_api_key",
    "webhook_key_header",
}


def _public_config(sim: DtpSim) -> dict[str, Any]:
    config = dataclasses.asdict(sim.config)
    config["subscription_keys"] = {
        endpoint: "[set]" if key else None for endpoint, key in config["subscription_keys"].items()
    }
    config["webhook_api_key"] = "[set]" if config["webhook_api_key"] else None
    return config


def _set_config(sim: DtpSim, body: dict[str, Any]) -> str | None:
    """Apply a config update; an error text when it names something not settable."""
    unknown = set(body) - _SETTABLE
    if unknown:
        return f"not settable: {sorted(unknown)}"
    keys = body.get("subscription_keys", {})
    if not isinstance(keys, dict) or set(keys) - set(ENDPOINTS):
        return f"subscription_keys: an object keyed by endpoint ({', '.join(ENDPOINTS)})"
    for key, value in body.items():
        if key == "subscription_keys":
            sim.config.subscription_keys.update(keys)  # one endpoint's key rotates alone
        else:
            setattr(sim.config, key, value)
    return None


def _messages_for(sim: DtpSim, body: dict[str, Any]) -> list[dict[str, Any]]:
    if "messages" in body:
        return [m for m in body["messages"] if isinstance(m, dict)]
    kind = body.get("kind")
    if kind in ("referral", "decision"):
        count, seed = int(body.get("count", 1)), int(body.get("seed", 0))
        if kind == "referral":
            return generate_referral_messages(
                count,
                seed=seed,
                interventions_per_message=int(body.get("interventions_per_message", 1)),
                unsupported_share=float(body.get("unsupported_share", 0.0)),
                now=sim.clock.now(),
            )
        return generate_decision_messages(count, seed=seed, now=sim.clock.now())
    limit = int(body.get("limit", len(sim.outbox)))
    drained, sim.outbox[:] = sim.outbox[:limit], sim.outbox[limit:]
    return drained


def build_control(sim: DtpSim) -> APIRouter:
    router = APIRouter(prefix=PREFIX, include_in_schema=False)

    @router.get("/health")
    async def health() -> Response:
        return json_response(200, {"ok": True, "received": len(sim.received)})

    @router.post("/seed")
    async def seed(request: Request) -> Response:
        body = await json_object(request, _BARE_LIST_KEY)
        source = body.get("source", "samples")
        if source == "samples":
            added = sim.seed_samples()
        elif source == "decide_received":
            added = sim.decide_received(int(body.get("seed", 0)))
        elif source == "generate":
            added = sim.seed_generated(
                int(body.get("referrals", 0)),
                int(body.get("decisions", 0)),
                int(body.get("seed", 0)),
            )
        else:
            return json_response(400, {"error": f"unknown source {source!r}"})
        return json_response(200, {"added": added, "outbox": len(sim.outbox)})

    @router.get("/outbox")
    async def outbox() -> Response:
        return json_response(200, {"messages": sim.outbox})

    @router.get("/received")
    async def received(request: Request) -> Response:
        endpoint = request.query_params.get("endpoint")
        rows = [r.as_dict() for r in sim.received if endpoint in (None, r.endpoint)]
        return json_response(200, {"received": rows})

    @router.get("/config")
    async def config() -> Response:
        return json_response(200, _public_config(sim))

    @router.put("/config")
    async def set_config(request: Request) -> Response:
        body = await json_object(request, _BARE_LIST_KEY)
        error = _set_config(sim, body)
        if error is not None:
            return json_response(400, {"error": error})
        return json_response(200, _public_config(sim))

    @router.post("/push")
    async def push_webhooks(request: Request) -> Response:
        body = await json_object(request, _BARE_LIST_KEY)
        url = body.get("url") or sim.config.webhook_url
        if not url:
            return json_response(400, {"error": "no webhook_url configured"})
        messages = _messages_for(sim, body)
        results = await push(
            sim,
            messages,
            url=url,
            api_key=body.get("api_key", sim.config.webhook_api_key),
            key_header=sim.config.webhook_key_header,
        )
        return json_response(200, {"results": [r.as_dict() for r in results]})

    @router.get("/pushes")
    async def pushes() -> Response:
        return json_response(200, {"pushes": [p.as_dict() for p in sim.pushed]})

    add_shared_routes(router, sim, on_clear_requests=sim.received.clear, list_key=_BARE_LIST_KEY)

    return router
