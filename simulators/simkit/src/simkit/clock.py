"""A clock tests can freeze or move, so time-dependent behaviour can be pinned to exact instants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class SimClock:
    """UTC wall clock unless frozen; a frozen clock only moves when told to."""

    def __init__(self) -> None:
        self._frozen: datetime | None = None

    def now(self) -> datetime:
        return self._frozen if self._frozen is not None else datetime.now(UTC)

    def freeze(self, at: datetime) -> None:
        self._frozen = at if at.tzinfo else at.replace(tzinfo=UTC)

    def advance(self, seconds: float) -> None:
        self._frozen = self.now() + timedelta(seconds=seconds)

    def release(self) -> None:
        self._frozen = None

    @property
    def frozen(self) -> bool:
        return self._frozen is not None
