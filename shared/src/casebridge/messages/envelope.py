"""The envelope every casebridge message carries, whatever its payload."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field


def utc_now() -> datetime:
    """The current instant, timezone-aware, so serialised times always carry their offset."""
    return datetime.now(UTC)


class SourceRef(BaseModel):
    """Which source record (and which version of it) a message is about."""

    model_config = ConfigDict(frozen=True, extra="forbid", title="source_ref")

    system: str = Field(description="Source system: primero, oscar, dtp.", examples=["primero"])
    record_type: str = Field(description="Record type in that system.", examples=["case"])
    record_id: str = Field(description="The record's id in the source system.")
    updated_at: datetime | None = Field(
        default=None,
        description="The source's own last-updated time; the stale-write guard compares it.",
    )


class Envelope(BaseModel):
    """Fields common to every message; subclasses add a `type` literal and their payload."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Stable type string of the concrete message; never a Python import path.
    message_type: ClassVar[str] = ""
    #: The schema version this code writes; older versions are upcast on decode.
    current_version: ClassVar[int] = 1

    schema_version: int = Field(description="Version of this message's schema.")
    message_id: str = Field(
        description="Deterministic per source record version (and per command), so duplicates are"
        " recognisable as duplicates."
    )
    correlation_id: str = Field(
        description="One per source record, carried through every hop and logged everywhere."
    )
    causation_id: str | None = Field(
        default=None, description="message_id of the message that caused this one."
    )
    flow: str = Field(description="Flow id: c0, c1, c2, p1..p4, o1.", examples=["c1"])
    source: SourceRef
    produced_at: datetime = Field(default_factory=utc_now, description="When it was produced.")
    producer: str = Field(description="Service that produced it.", examples=["fetcher-primero"])
