"""A circuit breaker per target: a dead system parks the queue instead of burning retries.

closed --N consecutive transient failures--> open --cooldown--> half-open (one probe)
half-open --probe succeeds--> closed; --probe fails--> open again.

While open (or while the probe is out), `check` raises `TargetUnavailable` with the time left,
so the consumer parks the message without counting an attempt and pauses consuming.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import Enum

import structlog

from casebridge.errors import TargetUnavailable

log = structlog.get_logger(__name__)


class BreakerState(Enum):
    """Where the breaker stands."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


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
    ) -> None:
        self.target = target
        self.failure_threshold = max(1, failure_threshold)
        self.cooldown_s = cooldown_s
        self.probe_wait_s = probe_wait_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

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
            raise TargetUnavailable(
                f"{self.target} circuit open: {self._failures} consecutive transient failures",
                retry_after=remaining,
            )
        if self._probing:
            raise TargetUnavailable(
                f"{self.target} circuit half-open: a probe is in flight",
                retry_after=self.probe_wait_s,
            )
        self._probing = True
        log.info("circuit_half_open", target=self.target)

    def record_success(self) -> None:
        """The target answered (success or a refusal): close."""
        if self._opened_at is not None:
            log.info("circuit_closed", target=self.target)
        self._failures = 0
        self._opened_at = None
        self._probing = False

    def record_failure(self) -> None:
        """A transient failure (5xx, 429, timeout, connection): count it; open at the threshold."""
        self._failures += 1
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

    def abandon(self) -> None:
        """The call ended without telling anything about the target (cancelled, a bug)."""
        self._probing = False

    def _remaining(self) -> float:
        assert self._opened_at is not None
        return self._opened_at + self.cooldown_s - self._clock()
