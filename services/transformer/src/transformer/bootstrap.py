"""The transformer's composition root: settings in, a runnable service out."""

from __future__ import annotations

from casebridge.consumer import Consumer
from casebridge.messages import default_registry
from casebridge.service import ConsumingService
from casebridge.topology import transformer_queue
from casebridge.transport import Transport
from casebridge.transports import build_transport, topology_from
from transformer.cambodia import CambodiaTables, load_tables
from transformer.config import Settings
from transformer.flows import FlowRouter, packaged_mappers
from transformer.ona import OnaTables, load_ona_tables
from transformer.progres import ProgresTables, load_progres_tables


def bootstrap(
    settings: Settings,
    *,
    transport: Transport | None = None,
    router: FlowRouter | None = None,
    tables: CambodiaTables | None = None,
    progres_tables: ProgresTables | None = None,
    ona_tables: OnaTables | None = None,
) -> ConsumingService:
    """Build the service; tests pass their own transport, router or tables. Tables not given
    are read from the package, each replaced by a same-named file in `MAPPING_DIR`."""
    topology = topology_from(settings)
    transport = transport or build_transport(settings, name="transformer")
    consumer = Consumer(
        transport=transport,
        topology=topology,
        queue=transformer_queue(settings.topology_prefix),
        handler=router
        or FlowRouter(
            packaged_mappers(
                tables or load_tables(settings.mapping_dir),
                progres_tables or load_progres_tables(settings.mapping_dir),
                ona_tables or load_ona_tables(settings.mapping_dir),
            )
        ),
        registry=default_registry(),
        stage="transformer",
        prefetch=settings.prefetch,
        max_attempts=settings.max_attempts,
        max_record_bytes=settings.max_record_bytes,
    )
    return ConsumingService(transport, topology, [consumer])
