"""A loader-like worker process for the kill and drain tests (run as a script, not imported).

It consumes `<prefix>.loader.sink` and records `start <id>` / `done <id>` lines in a file. The
'done' side effect is idempotent by message id, as a real loader's is.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path

from casebridge.amqp import AmqpTransport
from casebridge.consumer import Consumer
from casebridge.errors import Superseded
from casebridge.logs import configure_logging
from casebridge.messages import Envelope, default_registry
from casebridge.runtime import run_service
from casebridge.settings import HealthSettings
from casebridge.topology import build_topology, loader_queue

RETRY_DELAYS = (0.3, 0.6, 1.2)


def _append(path: Path, line: str) -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.write(line + "\n")
        fh.flush()
        os.fsync(fh.fileno())


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--record", type=Path, required=True)
    parser.add_argument("--sleep-s", type=float, default=0.0)
    parser.add_argument("--prefetch", type=int, default=10)
    args = parser.parse_args()
    configure_logging("INFO", "json", service="bus-worker")

    topology = build_topology(
        args.prefix, targets=("sink",), retry_delays=RETRY_DELAYS, delivery_limit=3
    )
    transport = AmqpTransport(args.url, name="bus-worker", ack_batch=5, ack_interval_s=0.02)

    async def handle(message: Envelope) -> None:
        _append(args.record, f"start {message.message_id}")
        await asyncio.sleep(args.sleep_s)
        text = args.record.read_text(encoding="utf-8")
        if f"done {message.message_id}\n" in text:
            raise Superseded("already loaded")
        _append(args.record, f"done {message.message_id}")

    consumer = Consumer(
        transport=transport,
        topology=topology,
        queue=loader_queue(args.prefix, "sink"),
        handler=handle,
        registry=default_registry(),
        stage="bus-worker",
        prefetch=args.prefetch,
        grace_s=10,
    )

    async def start() -> None:
        await transport.connect()
        await transport.declare(topology)
        await consumer.start()
        _append(args.record, "ready")

    async def stop() -> None:
        await consumer.stop()
        await transport.close()

    await run_service(
        start=start,
        stop=stop,
        ready=lambda: transport.is_ready,
        health=HealthSettings(health_port=0),
    )


if __name__ == "__main__":
    asyncio.run(main())
