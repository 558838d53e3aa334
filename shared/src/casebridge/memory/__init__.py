"""In-process transport with the same retry / dead-letter semantics as the RabbitMQ topology."""

from casebridge.memory.broker import MemoryBroker
from casebridge.memory.transport import MemoryTransport

__all__ = ["MemoryBroker", "MemoryTransport"]
