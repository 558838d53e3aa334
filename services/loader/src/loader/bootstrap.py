"""The loader's composition root: settings in, a runnable service for one target out."""

from __future__ import annotations

from casebridge.consumer import Consumer
from casebridge.control import ControlStore, open_control_store
from casebridge.control.batching import BatchingControlStore
from casebridge.messages import default_registry
from casebridge.publishing import MessagePublisher
from casebridge.service import ConsumingService, Hook
from casebridge.topology import loader_queue
from casebridge.transport import Transport
from casebridge.transports import build_transport, topology_from
from loader.config import Settings
from loader.handler import apply_command
from loader.target import Target, find_target


async def bootstrap(
    settings: Settings,
    *,
    transport: Transport | None = None,
    store: ControlStore | None = None,
    target: Target | None = None,
) -> ConsumingService:
    """Build the loader for `settings.loader_target` (or the target/store a test passes).

    The control store is opened here (migrated to head, wrapped in a `BatchingControlStore`)
    unless given; a store opened here is closed on stop, after the target.
    """
    factory = None if target is not None else find_target(settings.loader_target)
    on_stop: list[Hook] = []
    if store is None:
        opened = await open_control_store(
            settings.control_database_url.get_secret_value(),
            # Batched, the commands share a few connections (one read and one write flush at
            # a time); the margin covers pass-throughs. Not one per command: 128 in flight must
            # not mean 128 PostgreSQL backends per replica.
            pool_size=min(settings.concurrency, 8) + 4,
        )
        # Group commit: concurrent commands share one read query and one write transaction.
        store = BatchingControlStore(opened)
        on_stop.append(store.close)
    if factory is not None:
        target = factory(store)
    assert target is not None
    on_stop.insert(0, target.close)
    prefix = settings.topology_prefix
    # A target whose writes lead to commands for another target (primero -> progres feedback)
    # declares that target's queue too, and publishes through the confirmed publisher.
    follow_up_targets = tuple(getattr(target, "follow_up_targets", ()))
    topology = topology_from(settings, targets=(target.name, *follow_up_targets))
    transport = transport or build_transport(settings, name=f"loader-{target.name}")
    use_publisher = getattr(target, "use_publisher", None)
    if use_publisher is not None:
        use_publisher(MessagePublisher(transport, topology).publish_many)
    consumer = Consumer(
        transport=transport,
        topology=topology,
        queue=loader_queue(prefix, target.name),
        handler=apply_command(target),
        registry=default_registry(),
        stage=f"loader-{target.name}",
        # A batching target (ona) names its own prefetch, which must exceed one batch.
        prefetch=getattr(target, "prefetch", None) or min(settings.prefetch, settings.concurrency),
        max_attempts=settings.max_attempts,
    )
    # A target with a breaker (not ona) is not ready while the breaker is not closed.
    target_ready = getattr(target, "ready", None)
    return ConsumingService(
        transport,
        topology,
        [consumer],
        on_start=[target.start],
        on_stop=on_stop,
        ready_checks=[target_ready] if callable(target_ready) else [],
    )
