"""The loader's composition root: settings in, a runnable service for one target out."""

from __future__ import annotations

from casebridge.consumer import Consumer
from casebridge.messages import default_registry
from casebridge.service import ConsumingService
from casebridge.topology import loader_queue
from casebridge.transport import Transport
from casebridge.transports import build_transport, topology_from
from loader.config import Settings
from loader.handler import ApplyCommand
from loader.target import Target, load_target


def bootstrap(
    settings: Settings,
    *,
    transport: Transport | None = None,
    target: Target | None = None,
) -> ConsumingService:
    """Build the loader for `settings.loader_target` (or the target a test passes)."""
    target = target or load_target(settings.loader_target)
    prefix = settings.topology_prefix
    topology = topology_from(settings, targets=(target.name,))
    transport = transport or build_transport(settings, name=f"loader-{target.name}")
    consumer = Consumer(
        transport=transport,
        topology=topology,
        queue=loader_queue(prefix, target.name),
        handler=ApplyCommand(target),
        registry=default_registry(),
        stage=f"loader-{target.name}",
        prefetch=min(settings.prefetch, settings.concurrency),
        max_attempts=settings.max_attempts,
    )
    return ConsumingService(
        transport, topology, [consumer], on_start=[target.start], on_stop=[target.close]
    )
