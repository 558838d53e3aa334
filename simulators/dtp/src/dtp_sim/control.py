"""The ``/__sim`` control surface: a path prefix the real DTP gateway never serves.

Reset, seed the outbox, read what was received, push webhooks, set credentials and the
push target at run time, and inject faults.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from dtp_sim.faults import FaultRule
from dtp_sim.generate import generate_decision_messages, generate_referral_messages
from dtp_sim.push import push
from dtp_sim.responses import json_response
from dtp_sim.state import DtpSim

PREFIX = "/__sim"
_RULE_FIELDS = {f.name for f in dataclasses.fields(FaultRule)} - {"hits"}
_SETTABLE = {
    "subscription_key",
    "client_cert_thumbprint",
    "webhook_url",
    "webhook_api_key",
    "webhook_key_header",
}


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    data = await request.json()
    return data if isinstance(data, dict) else {"messages": data}


def _public_config(sim: DtpSim) -> dict[str, Any]:
    config = dataclasses.asdict(sim.config)
    for secret in ("subscription_key", "webhook_api_key"):
        config[secret] = "[set]" if config[secret] else None
    return config


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

    @router.post("/reset")
    async def reset() -> Response:
        sim.reset()
        return json_response(200, {"reset": True})

    @router.post("/seed")
    async def seed(request: Request) -> Response:
        body = await _body(request)
        source = body.get("source", "samples")
        if source == "samples":
            added = sim.seed_samples()
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

    @router.get("/requests")
    async def requests() -> Response:
        return json_response(200, {"requests": [e.as_dict() for e in sim.journal.entries]})

    @router.delete("/requests")
    async def clear_requests() -> Response:
        sim.journal.clear()
        sim.received.clear()
        return json_response(200, {"cleared": True})

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
        body = await _body(request)
        unknown = set(body) - _SETTABLE
        if unknown:
            return json_response(400, {"error": f"not settable: {sorted(unknown)}"})
        for key, value in body.items():
            setattr(sim.config, key, value)
        return json_response(200, _public_config(sim))

    @router.post("/push")
    async def push_webhooks(request: Request) -> Response:
        body = await _body(request)
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

    @router.get("/faults")
    async def faults() -> Response:
        return json_response(200, {"rules": [r.as_dict() for r in sim.faults.rules]})

    @router.post("/faults")
    async def add_faults(request: Request) -> Response:
        body = await _body(request)
        specs = body.get("rules", [body])
        try:
            rules = [FaultRule(**{k: v for k, v in s.items() if k in _RULE_FIELDS}) for s in specs]
        except (TypeError, ValueError) as exc:
            return json_response(400, {"error": str(exc)})
        for rule in rules:
            sim.faults.add(rule)
        return json_response(200, {"rules": [r.as_dict() for r in sim.faults.rules]})

    @router.delete("/faults")
    async def clear_faults() -> Response:
        sim.faults.clear()
        return json_response(200, {"rules": []})

    return router
