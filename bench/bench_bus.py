"""make bench-bus: one transformer-style hop on the real broker with the shared publisher/consumer.

30,000 raw records of ~3 KB are pre-published, then one Consumer decodes and validates each,
maps it to an upsert command, publishes that with confirms and acks the input. The figure is
messages through the hop per second; the ceiling's `hop` runs in the same invocation.
Last line: one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from typing import Any

import structlog
from prometheus_client import CollectorRegistry

from bench.ceiling import measure
from bench.payloads import case_payload
from casebridge.amqp import AmqpTransport
from casebridge.consumer import Consumer
from casebridge.ids import new_id
from casebridge.messages import Envelope, RawRecord, SourceRef, UpsertCommand, default_registry
from casebridge.metrics import ConsumerMetrics
from casebridge.publishing import MessagePublisher
from casebridge.runtime import tune_gc
from casebridge.testing.amqp_probe import AmqpProbe
from casebridge.topology import build_topology, loader_queue, transformer_queue

QUEUE_TYPE = os.environ.get("BENCH_QUEUE_TYPE", "quorum")
URL = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


def _raw(i: int) -> RawRecord:
    payload = case_payload(i)
    return RawRecord.of(
        flow="o1",
        source=SourceRef(
            system="primero",
            record_type="case",
            record_id=payload["case_id"],
            updated_at=payload["last_updated_at"],
        ),
        payload=payload,
        producer="bench",
    )


def _transform(message: Envelope) -> list[Envelope]:
    assert isinstance(message, RawRecord)
    case = message.payload
    row = {k: v for k, v in case.items() if k != "notes_section"}
    return [
        UpsertCommand.caused_by(
            message,
            target="bench",
            operation="case_upsert",
            key={"case_id": case["case_id"]},
            payload=row,
            producer="bench",
        )
    ]


async def _handled(registry: CollectorRegistry, queue: str, count: int) -> None:
    """Wait until `count` messages were handled (polling a counter costs the hop nothing)."""
    labels = {"queue": queue, "outcome": "handled"}
    while (registry.get_sample_value("casebridge_messages_total", labels) or 0) < count:  # noqa: ASYNC110
        await asyncio.sleep(0.01)


async def run(messages: int, profiler: Any = None) -> dict[str, float]:
    prefix = f"bench{new_id()[:6]}"
    topology = build_topology(prefix, targets=("bench",), queue_type=QUEUE_TYPE)
    transport = AmqpTransport(URL, name="bench-bus")
    probe = AmqpProbe(URL)
    await transport.connect()
    await transport.declare(topology)
    try:
        raws = [_raw(i) for i in range(messages)]
        size = sum(len(json.dumps(r.payload)) for r in raws[:100]) / 100
        publisher = MessagePublisher(transport, topology)
        t0 = time.perf_counter()
        for start in range(0, messages, 5000):
            await publisher.publish_many(raws[start : start + 5000])
        publish_s = time.perf_counter() - t0
        del raws

        registry = CollectorRegistry()
        metrics = ConsumerMetrics.for_registry(registry)
        consumer = Consumer(
            transport=transport,
            topology=topology,
            queue=transformer_queue(prefix),
            handler=_transform,
            registry=default_registry(),
            stage="bench",
            prefetch=1000,
            metrics=metrics,
        )
        if profiler is not None:
            profiler.enable()
        t0, cpu0 = time.perf_counter(), time.process_time()
        await consumer.start()
        # Counted in process (a broker poll would load the machine being measured): a message
        # counts once its command is confirmed by the broker and its input acked.
        await _handled(registry, transformer_queue(prefix), messages)
        hop_s = time.perf_counter() - t0
        hop_cpu_s = time.process_time() - cpu0
        if profiler is not None:
            profiler.disable()
        await consumer.stop()
        delivered = probe.depth(loader_queue(prefix, "bench"))
        dlq = probe.depth(f"{transformer_queue(prefix)}.dlq")
    finally:
        await transport.close()
        probe.delete(topology)
    return {
        "messages": messages,
        "payload_bytes": round(size),
        "publish_msgs_per_s": round(messages / publish_s, 1),
        "msgs_per_s": round(messages / hop_s, 1),
        # CPU of this (client) process per message: steadier than the rate on a busy machine.
        "client_cpu_us_per_msg": round(hop_cpu_s / messages * 1e6, 1),
        "dead_lettered": dlq,
        "commands_in_queue": delivered,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=30000)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    tune_gc()
    ours = asyncio.run(run(args.messages))
    print(
        f"casebridge hop: {ours['msgs_per_s']:.0f} msg/s ({ours['messages']} messages,"
        f" ~{ours['payload_bytes']} B); publish with confirms {ours['publish_msgs_per_s']:.0f}"
        " msg/s"
    )
    ceiling = measure("hop", args.messages)["hop_msgs_per_s"]
    ratio = ours["msgs_per_s"] / ceiling
    print(f"ceiling hop:    {ceiling:.0f} msg/s   ratio {ratio:.2f} (goal >= 0.7)")
    print(json.dumps({**ours, "ceiling_msgs_per_s": ceiling, "ratio": round(ratio, 3)}))


if __name__ == "__main__":
    main()
