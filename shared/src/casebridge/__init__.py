"""casebridge shared library: contracts, topology, publisher, consumer, settings, logging, health.

Services import from here and from third-party packages only, never from each other.
"""

from casebridge.consumer import Consumer, Handler
from casebridge.errors import (
    BrokerError,
    BrokerUnavailable,
    CasebridgeError,
    InvalidMessage,
    PermanentError,
    PublishNotConfirmed,
    Superseded,
    TargetUnavailable,
    TransientError,
    Unroutable,
)
from casebridge.messages import (
    DeadLetter,
    Envelope,
    MessageRegistry,
    RawRecord,
    SourceRef,
    UpsertCommand,
    default_registry,
)
from casebridge.publishing import MessagePublisher
from casebridge.settings import BrokerSettings, HealthSettings, LoggingSettings
from casebridge.topology import Topology, WorkQueue, build_topology
from casebridge.transport import Delivery, Outgoing, Transport

__all__ = [
    "BrokerError",
    "BrokerSettings",
    "BrokerUnavailable",
    "CasebridgeError",
    "Consumer",
    "DeadLetter",
    "Delivery",
    "Envelope",
    "Handler",
    "HealthSettings",
    "InvalidMessage",
    "LoggingSettings",
    "MessagePublisher",
    "MessageRegistry",
    "Outgoing",
    "PermanentError",
    "PublishNotConfirmed",
    "RawRecord",
    "SourceRef",
    "Superseded",
    "TargetUnavailable",
    "Topology",
    "TransientError",
    "Transport",
    "Unroutable",
    "UpsertCommand",
    "WorkQueue",
    "build_topology",
    "default_registry",
]
