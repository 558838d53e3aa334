"""Bad input always ends with a reason (issue 12 §3), through the real broker and the real
transformer: an oversized case and a wrongly typed case are in the transformer's DLQ with their
reasons (record id, size and limit; field path and expected type), and a case that maps to
nothing is acked and counted `skipped_not_applicable`, not a silent "handled"."""

from __future__ import annotations

import asyncio
from typing import Any

import pika
import pytest
from prometheus_client import REGISTRY

from casebridge.messages import MessageRegistry, RawRecord, SourceRef

from .conftest import Pipeline, eventually

pytestmark = pytest.mark.e2e

NAME = "Sokha" * 400_000  # a 2 MB name, as in the issue


def primero_case(record_id: str, **fields: Any) -> RawRecord:
    """A Primero case as fetcher-primero publishes it for flow c1."""
    case = {"id": record_id, "case_id": f"case-{record_id}", "risk_level": "high", **fields}
    return RawRecord.of(
        flow="c1",
        source=SourceRef(system="primero", record_type="case", record_id=record_id),
        payload=case,
        producer="fetcher-primero",
    )


def publish(pipeline: Pipeline, records: list[RawRecord]) -> None:
    """Publish raw records on the raw exchange with confirms, as the fetchers do."""
    conn = pika.BlockingConnection(pika.URLParameters(pipeline.rabbitmq_url))
    try:
        channel = conn.channel()
        channel.confirm_delivery()
        for record in records:
            channel.basic_publish(
                pipeline.topology.raw_exchange,
                f"{record.flow}.{record.source.system}",
                MessageRegistry.encode(record),
                pika.BasicProperties(
                    delivery_mode=2,
                    message_id=record.message_id,
                    correlation_id=record.correlation_id,
                    type=record.message_type,
                ),
                mandatory=True,
            )
    finally:
        conn.close()


def count(pipeline: Pipeline, outcome: str) -> int:
    value = REGISTRY.get_sample_value(
        "casebridge_messages_total", {"queue": pipeline.transformer_queue, "outcome": outcome}
    )
    return int(value or 0)


async def test_oversized_and_wrongly_typed_cases_are_dead_lettered_and_a_no_op_is_counted(
    pipeline: Pipeline,
) -> None:
    oversized = primero_case("123", name_first=NAME, services_section=[{"notes": "n" * 4_500_000}])
    oversized_bytes = len(MessageRegistry.encode(oversized))
    assert oversized_bytes > 6_000_000
    wrong_types = primero_case(
        "456", name_first="Sokha", services_section=[{"unique_id": "s1"}, "Sokha"]
    )
    no_op = primero_case("789", name_first="Sokha")  # no referral, decision or OSCaR link
    await pipeline.start_transformer()

    await asyncio.to_thread(publish, pipeline, [oversized, wrong_types, no_op])

    async def settled() -> bool:
        return (count(pipeline, "dead_lettered"), count(pipeline, "skipped_not_applicable")) == (
            2,
            1,
        )

    await eventually(settled, timeout_s=30, what="two dead letters and one counted skip")
    await pipeline.settle()

    dead = {d.message_id: d for d in await pipeline.dead_letters(pipeline.transformer_queue)}
    assert set(dead) == {oversized.message_id, wrong_types.message_id}
    too_large = dead[oversized.message_id]
    assert too_large.error_class == "RecordTooLarge"
    assert too_large.error_message == (
        f"record 123 (primero case) is {oversized_bytes:,} bytes, over MAX_RECORD_BYTES 1,048,576"
    )
    assert too_large.body == MessageRegistry.encode(oversized), "kept whole for a replay"
    malformed = dead[wrong_types.message_id]
    assert malformed.error_class == "MalformedRecord"
    assert malformed.error_message == (
        "primero case 456: services_section[1]: expected an object, got a text"
    )
    assert malformed.traceback is None, "a field reason, not a bug"
    for letter in dead.values():
        assert "Sokha" not in letter.error_message
    assert count(pipeline, "handled") == 0, "nothing was handled without a reason"
