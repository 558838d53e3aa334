"""The dead-letter record: the original message intact plus why, where and when it failed."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from casebridge import headers as h


class DeadLetter(BaseModel):
    """What an admin sees about one dead letter; built from the DLQ message's headers.

    The body travels unchanged as the DLQ message body; the reason lives in headers, so the
    original is replayable byte for byte.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", title="dead_letter")

    queue: str = Field(description="Work queue the message failed in; replay goes back there.")
    stage: str = Field(description="Service (stage) that gave up on it.")
    message_id: str | None = None
    correlation_id: str | None = None
    message_type: str | None = None
    flow: str | None = None
    error_class: str = Field(description="Exception class, e.g. PermanentError, MappingGap.")
    error_message: str = Field(description="Reason an admin understands; never child data.")
    traceback: str | None = Field(default=None, description="Short traceback for bugs.")
    attempts: int = Field(description="Deliveries tried, including the last.")
    first_failure_at: datetime | None = None
    last_failure_at: datetime | None = None
    mapping_version: str | None = None
    replay_count: int = 0
    original_headers: dict[str, Any] = Field(description="Headers as the message arrived.")
    body_b64: str = Field(description="The original body, base64, byte for byte.")

    @property
    def body(self) -> bytes:
        """The original body."""
        return base64.b64decode(self.body_b64)

    @classmethod
    def from_message(
        cls,
        body: bytes,
        headers: dict[str, Any],
        *,
        message_id: str | None = None,
        correlation_id: str | None = None,
        message_type: str | None = None,
    ) -> DeadLetter:
        """Read a DLQ message; messages the broker dead-lettered itself (x-death) are understood.

        The keyword arguments are the AMQP properties: a message the broker dead-lettered by
        itself carries its identity only there, not in our headers.
        """
        death = _first_death(headers)
        original = {k: v for k, v in headers.items() if not k.startswith(h.DEAD_PREFIX)}
        return cls(
            queue=str(headers.get(h.DEAD_QUEUE) or death.get("queue", "")),
            stage=str(headers.get(h.DEAD_STAGE, "broker")),
            message_id=_opt(headers.get(h.MESSAGE_ID)) or message_id,
            correlation_id=_opt(headers.get(h.CORRELATION_ID)) or correlation_id,
            message_type=_opt(headers.get(h.MESSAGE_TYPE)) or message_type,
            flow=_opt(headers.get(h.FLOW)),
            error_class=str(headers.get(h.DEAD_ERROR_CLASS) or _broker_reason(death)),
            error_message=str(
                headers.get(h.DEAD_ERROR_MESSAGE)
                or f"dead-lettered by the broker: {death.get('reason', 'unknown')}"
            ),
            traceback=_opt(headers.get(h.DEAD_TRACEBACK)),
            attempts=int(headers.get(h.DEAD_ATTEMPTS) or death.get("count", 1)),
            first_failure_at=_opt(headers.get(h.DEAD_FIRST_FAILURE)),
            last_failure_at=_opt(headers.get(h.DEAD_LAST_FAILURE)),
            mapping_version=_opt(headers.get(h.MAPPING_VERSION)),
            replay_count=int(headers.get(h.REPLAY_COUNT) or 0),
            original_headers=original,
            body_b64=base64.b64encode(body).decode(),
        )


def _opt(value: Any) -> Any:
    return None if value in (None, "") else (value.decode() if isinstance(value, bytes) else value)


def _first_death(headers: dict[str, Any]) -> dict[str, Any]:
    deaths = headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict):
        return deaths[0]
    return {}


def _broker_reason(death: dict[str, Any]) -> str:
    reason = str(death.get("reason", "unknown"))
    return {"delivery_limit": "DeliveryLimitExceeded", "rejected": "Rejected"}.get(reason, reason)
