"""Message contracts: envelope, raw records, upsert commands, dead letters, the type registry."""

from casebridge.messages.dead_letter import DeadLetter
from casebridge.messages.envelope import Envelope, SourceRef, utc_now
from casebridge.messages.raw_record import RawRecord
from casebridge.messages.registry import MessageRegistry, Upcaster, default_registry
from casebridge.messages.upsert_command import UpsertCommand

__all__ = [
    "DeadLetter",
    "Envelope",
    "MessageRegistry",
    "RawRecord",
    "SourceRef",
    "Upcaster",
    "UpsertCommand",
    "default_registry",
    "utc_now",
]
