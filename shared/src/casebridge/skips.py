"""Why a handled message produced nothing: a counted, logged outcome instead of a silent ack.

A handler that has nothing to publish returns `Skipped(reason, detail)` instead of an empty
list. It is an empty sequence (so it publishes nothing), and the consumer counts the message as
`skipped_<reason>` in `casebridge_messages_total` and logs the detail with the record id, so
"handled" always means "outputs published" and a record that went nowhere can be explained.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Never


class SkipReason(StrEnum):
    """The fixed vocabulary of skips; each is an outcome label, so keep it small."""

    #: The record is outside what this flow sends (e.g. an OSCaR client not linked to a Primero
    #: case for C0, a case with no referral, decision or link for C1).
    NOT_APPLICABLE = "not_applicable"


class Skipped(tuple[Never, ...]):
    """No outputs, and why: an empty tuple, so it fits any handler's return type.

    `detail` is read in logs: ids and codes only, never child data.
    """

    reason: SkipReason
    detail: str

    def __new__(cls, reason: SkipReason, detail: str) -> Skipped:
        skipped = super().__new__(cls, ())
        skipped.reason = reason
        skipped.detail = detail
        return skipped

    @property
    def outcome(self) -> str:
        """The outcome label the consumer counts."""
        return f"skipped_{self.reason.value}"

    def __repr__(self) -> str:
        return f"Skipped({self.reason.value!r}, {self.detail!r})"
