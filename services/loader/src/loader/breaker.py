"""A circuit breaker per target: a dead system parks the queue instead of burning retries.

closed --N consecutive transient failures--> open --cooldown--> half-open (one probe)
closed --a refusal of the deployment (`refuse`: key, certificate)--> open at once, with its reason
half-open --probe succeeds--> closed; --probe fails--> open again.

While open (or while the probe is out), `check` raises `TargetUnavailable` with the time left,
so the consumer parks the message without counting an attempt and pauses consuming.

Each state change (opened, probe let through, closed) is kept as the breaker's latest
`BreakerChange` until its owner takes it (`take_change`) to persist it; requests that change
nothing leave nothing to take, so the control store sees changes only, never traffic.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum

import structlog

from casebridge.errors import TargetUnavailable

log = structlog.get_logger(__name__)


class BreakerState(Enum):
    """Where the breaker stands."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class BreakerChange:
    """A state the breaker entered: when, after how many failures, the last failure's class."""

    state: BreakerState
    since: datetime
    failures: int
    last_error_class: str | None


class CircuitBreaker:
    """Counts consecutive transient failures of one target; any answer from it resets them."""

    def __init__(
        self,
        target: str,
        *,
        failure_threshold: int = 5,
        cooldown_s: float = 30.0,
        probe_wait_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.target = target
        self.failure_threshold = max(1, failure_threshold)
        self.cooldown_s = cooldown_s
        self.probe_wait_s = probe_wait_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False
        self._wall_clock = wall_clock
        self._last_error_class: str | None = None
        #: Why the circuit is open when it is not a count of failures (a refused certificate).
        self._reason: str | None = None
        #: The state last handed out as a change, and the change not taken yet.
        self._reported = BreakerState.CLOSED
        self._change: BreakerChange | None = None

    @property
    def state(self) -> BreakerState:
        """The current state (open turns half-open once the cooldown has passed)."""
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._probing or self._remaining() <= 0:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def check(self) -> None:
        """Let a call through, or raise `TargetUnavailable` while the target is considered down."""
        if self._opened_at is None:
            return
        remaining = self._remaining()
        if remaining > 0:
            why = self._reason or f"{self._failures} consecutive transient failures"
            raise TargetUnavailable(f"{self.target} circuit open: {why}", retry_after=remaining)
        if self._probing:
            raise TargetUnavailable(
                f"{self.target} circuit half-open: a probe is in flight",
                retry_after=self.probe_wait_s,
            )
        self._probing = True
        log.info("circuit_half_open", target=self.target)
        self._changed(BreakerState.HALF_OPEN)

    def record_success(self) -> None:
        """The target answered (success or a refusal): close."""
        if self._opened_at is not None:
            log.info("circuit_closed", target=self.target)
        self._failures = 0
        self._opened_at = None
        self._probing = False
        self._reason = None
        self._changed(BreakerState.CLOSED)

    def record_failure(self, error_class: str | None = None) -> None:
        """A transient failure (5xx, 429, timeout, connection): count it; open at the threshold.

        `error_class` names the failure (its class, never its message) for the persisted state.
        """
        self._failures += 1
        if error_class is not None:
            self._last_error_class = error_class
        if self._probing or self._failures >= self.failure_threshold:
            if self._opened_at is None or self._probing:
                log.warning(
                    "circuit_opened",
                    target=self.target,
                    failures=self._failures,
                    cooldown_s=self.cooldown_s,
                )
            self._opened_at = self._clock()
            self._probing = False
            self._changed(BreakerState.OPEN)

    def refuse(self, error_class: str, reason: str) -> None:
        """The target refused the deployment itself (credentials, client certificate): open at
        once, whatever the count, and say why until a call succeeds again.

        `reason` is shown to operators (logs, parked messages); it must carry no secret.
        """
        if self._opened_at is None or self._probing:
            log.error("circuit_opened_refused", target=self.target, reason=reason)
        self._failures += 1
        self._last_error_class = error_class
        self._reason = reason
        self._opened_at = self._clock()
        self._probing = False
        self._changed(BreakerState.OPEN)

    def abandon(self) -> None:
        """The call ended without telling anything about the target (cancelled, a bug)."""
        self._probing = False

    def snapshot(self) -> BreakerChange:
        """Where the breaker stands now, as a change (what a starting loader records)."""
        return BreakerChange(
            self._reported, self._wall_clock(), self._failures, self._last_error_class
        )

    def take_change(self) -> BreakerChange | None:
        """The latest state change not taken yet (None when nothing changed since)."""
        change, self._change = self._change, None
        return change

    def give_back(self, change: BreakerChange) -> None:
        """A taken change could not be persisted: keep it, unless a newer one replaced it."""
        if self._change is None:
            self._change = change

    @property
    def has_change(self) -> bool:
        """Whether a state change waits to be taken."""
        return self._change is not None

    def _changed(self, state: BreakerState) -> None:
        if state is self._reported:
            return
        self._reported = state
        self._change = BreakerChange(
            state, self._wall_clock(), self._failures, self._last_error_class
        )

    def _remaining(self) -> float:
        assert self._opened_at is not None
        return self._opened_at + self.cooldown_s - self._clock()
