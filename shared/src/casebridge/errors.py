"""The failure taxonomy: the exception class decides delivery, in the consumer wrapper alone.

- `TransientError`: the world may heal (network, timeout, 5xx, 429) -> delayed retry.
- `PermanentError`: retrying cannot help (mapping gap, 4xx, business rule) -> dead letter at once.
- `InvalidMessage`: the message itself is unreadable or breaks its contract -> dead letter at once.
- `PartlyFailed`: some outputs are good, one part is permanently bad -> the good outputs are
  published, then the message is dead-lettered with the bad part's reason.
- `ConfigurationError`: the target refused the deployment (credentials, client certificate) ->
  permanent for the request, but a loader parks its queue instead of dead-lettering every message.
- anything else: a bug -> dead letter, logged at error level.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from casebridge.messages import Envelope


class CasebridgeError(Exception):
    """Base of every error casebridge raises on purpose."""


class TransientError(CasebridgeError):
    """A failure worth retrying later; `retry_after` (seconds) overrides the backoff when given."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TargetUnavailable(TransientError):
    """The target is down (circuit open): park the message without counting an attempt and pause
    consuming for `retry_after` seconds, instead of burning retries against a dead system."""


class PermanentError(CasebridgeError):
    """A failure no retry can fix; the message goes to its dead-letter queue with this reason."""


class ConfigurationError(PermanentError):
    """The deployment, not the record, is wrong: a refused key or password, a refused client
    certificate, an untrusted server certificate. Every message would fail the same way until an
    operator fixes the setting, so a loader parks its queue (see loader.guarded)."""


class ConfigurationProblem(ConfigurationError):
    """Only an admin can fix it (a role without a permission, a filter Primero drops): the
    pass fails, the problem is kept in the control store for `casebridge status`, and it is
    logged at error level once (`first_report`), not at every pass."""

    def __init__(self, message: str, *, first_report: bool) -> None:
        super().__init__(message)
        self.first_report = first_report


class InvalidMessage(PermanentError):
    """The body cannot be decoded, or does not validate against its contract."""


class RecordTooLarge(InvalidMessage):
    """The message is over the size limit (`MAX_RECORD_BYTES`); the reason names the record, its
    size and the limit. A record that large cannot be a real case: it is kept for an admin
    rather than pushed through every stage and into the targets."""


class PartlyFailed(PermanentError):
    """One part of a message failed for good while its other outputs are fine.

    The consumer publishes `outputs` (confirmed) and then dead-letters the message with this
    reason, so one bad part never holds back the good ones and is not lost either. A replay
    handles the whole message again: the outputs must carry deterministic message ids, so that
    their consumers drop the repeats (the loaders' processed-id check).
    """

    def __init__(self, message: str, *, outputs: Sequence[Envelope]) -> None:
        super().__init__(message)
        self.outputs = tuple(outputs)


class Superseded(CasebridgeError):
    """Raised by a loader when the target already holds newer data; the message is acked."""


class BrokerError(CasebridgeError):
    """Base of broker-side failures seen by a publisher."""


class BrokerUnavailable(BrokerError, TransientError):
    """No connection to the broker within the allowed wait; nothing was published."""


class PublishNotConfirmed(BrokerError, TransientError):
    """The broker nacked it, closed the channel, or the connection dropped before a confirm."""


class Unroutable(BrokerError, PermanentError):
    """The broker returned the message: no queue is bound for its routing key."""
