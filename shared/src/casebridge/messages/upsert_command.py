"""Upsert commands: target-shaped writes that loaders apply idempotently."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from casebridge.ids import deterministic_id
from casebridge.messages.envelope import Envelope


class UpsertCommand(Envelope):
    """Write `payload` to `target` by natural `key`; one command family for every target.

    Emitted by the transformer (one raw record may yield several). The routing key is the
    target, so a new loader plugin needs no new contract: it validates its own payload shapes
    per `operation`.
    """

    message_type: ClassVar[str] = "upsert-command"

    type: Literal["upsert-command"] = "upsert-command"
    target: str = Field(description="Loader target: oscar, primero, progres, ona, ...")
    operation: str = Field(
        description="Target operation, e.g. client_upsert, update_links, case_upsert.",
    )
    key: dict[str, str] = Field(description="Natural key of the target record.")
    payload: dict[str, Any] = Field(description="Exact body the loader sends.")
    mapping_version: str | None = Field(
        default=None, description="Version of the mapping data that produced it."
    )

    @classmethod
    def caused_by(
        cls,
        cause: Envelope,
        *,
        target: str,
        operation: str,
        key: dict[str, str],
        payload: dict[str, Any],
        producer: str,
        mapping_version: str | None = None,
    ) -> UpsertCommand:
        """Derive a command from the message that caused it, keeping correlation and source."""
        key_text = "&".join(f"{k}={key[k]}" for k in sorted(key))
        return cls(
            schema_version=cls.current_version,
            message_id=deterministic_id("cmd", cause.message_id, target, operation, key_text),
            correlation_id=cause.correlation_id,
            causation_id=cause.message_id,
            flow=cause.flow,
            source=cause.source,
            producer=producer,
            target=target,
            operation=operation,
            key=key,
            payload=payload,
            mapping_version=mapping_version,
        )
