"""The inbox on the real RabbitMQ: bad deliveries publish nothing; with the broker stopped it
answers 503, and the same delivery after the broker is back goes through with nothing lost."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

import pytest
import requests

from casebridge.testing.private_rabbitmq import PrivateRabbitMQ
from dtp_sim.testing import RunningDtp

from .conftest import Pipeline
from .progres_world import (  # noqa: F401 - fixtures
    DTP_HOOK_KEY,
    dtp_fixture,
    push,
    running_inbox,
    samples,
)

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def post(url: str, body: bytes, **headers: str) -> requests.Response:
    sent = {"content-type": "application/json", "x-api-key": DTP_HOOK_KEY, **headers}
    return requests.post(url, data=body, headers=sent, timeout=30)


async def test_bad_deliveries_get_their_status_and_publish_nothing(
    pipeline: Pipeline, dtp: RunningDtp, tmp_path: Any
) -> None:
    referral = samples("progres-referrals.json")[0]
    good = json.dumps(referral).encode()
    unknown = json.dumps({**referral, "request_type": "decision"}).encode()
    missing = json.dumps(
        {"request_type": "PrimeroOutgoingReferral", "interventions": [{"x": "1"}]}
    ).encode()
    async with running_inbox(pipeline.bus(), tmp_path, inbox_max_body_bytes=20_000) as (_, url):
        hook = f"{url}/inbox/dtp"
        cases = [
            (good, {"x-api-key": "wrong"}, 401, None),
            (b"{" + b" " * 30_000 + b"}", {}, 413, None),
            (b'{"request_type": ', {}, 400, None),
            (good, {"content-type": "text/plain"}, 415, None),
            (unknown, {}, 422, "request_type"),
            (missing, {}, 422, "interventions[0].progres_interventionnumber"),
        ]
        for body, headers, status, field in cases:
            response = await asyncio.to_thread(post, hook, body, **headers)
            assert response.status_code == status, (status, response.text)
            assert response.json()["field"] == field
        # DTP itself with a wrong key
        [pushed] = await push(dtp, hook, [referral], api_key="not-the-key")
        assert pushed["status"] == 401
        depths = await asyncio.to_thread(pipeline.broker.depths)
        assert depths[pipeline.transformer_queue] == 0
        openapi = (await asyncio.to_thread(requests.get, f"{url}/openapi.json", timeout=5)).json()
        assert set(openapi["paths"]) >= {"/inbox/dtp", "/inbox/primero"}


async def test_broker_stopped_is_503_and_the_redelivery_after_restart_is_kept(
    pipeline: Pipeline, own_rabbitmq: PrivateRabbitMQ, dtp: RunningDtp, tmp_path: Any
) -> None:
    """On a node of the test's own: stopping the shared broker would break every other test."""
    pipeline = dataclasses.replace(pipeline, rabbitmq_url=own_rabbitmq.url)
    referral = samples("progres-referrals.json")[0]
    decision = samples("progres-decisions.json")[0]
    async with running_inbox(pipeline.bus(), tmp_path, publish_timeout_s=3) as (inbox, url):
        hook = f"{url}/inbox/dtp"
        [before] = await push(dtp, hook, [decision])
        assert before["status"] == 202
        await asyncio.to_thread(own_rabbitmq.stop)
        try:
            await asyncio.sleep(1.0)
            [refused] = await push(dtp, hook, [referral])
            assert refused["status"] == 503
            assert refused["response"]["error"] == "unavailable"
        finally:
            await asyncio.to_thread(own_rabbitmq.start)

        async def ready() -> bool:
            return inbox.ready()

        for _ in range(300):
            if await ready():
                break
            await asyncio.sleep(0.1)
        [retried] = await push(dtp, hook, [referral])
        assert retried["status"] == 202
        assert retried["response"]["duplicate"] is False

    depths = await asyncio.to_thread(pipeline.broker.depths)
    assert depths[pipeline.transformer_queue] == 2  # the decision and the re-delivered referral
    flows = sorted(
        json.loads(m.body)["flow"]
        for m in await asyncio.to_thread(pipeline.broker.probe.drain, pipeline.transformer_queue)
    )
    assert flows == ["p1", "p4"]
