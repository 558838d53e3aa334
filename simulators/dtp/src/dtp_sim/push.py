"""DTP -> casebridge: POST webhook bodies, one per message, with the configured API key.

Sequential on purpose: DTP delivers one notification at a time, and receivers' ordering
tests rely on arrival order matching the outbox.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpx
import orjson

from dtp_sim.state import DtpSim, Pushed


async def push(
    sim: DtpSim,
    messages: Iterable[dict[str, Any]],
    *,
    url: str,
    api_key: str | None,
    key_header: str,
    timeout_s: float = 10.0,
) -> list[Pushed]:
    headers = {"content-type": "application/json"}
    if api_key:
        headers[key_header] = api_key
    results: list[Pushed] = []
    async with httpx.AsyncClient(timeout=timeout_s) as client:
        for body in messages:
            record = Pushed(len(sim.pushed) + 1, url, body, sim.clock.now())
            sim.pushed.append(record)
            results.append(record)
            try:
                response = await client.post(url, content=orjson.dumps(body), headers=headers)
            except httpx.HTTPError as exc:
                record.error = f"{type(exc).__name__}: {exc}"
                continue
            record.status = response.status_code
            try:
                record.response = response.json()
            except ValueError:
                record.response = response.text
    return results
