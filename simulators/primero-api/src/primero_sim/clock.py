"""Simulated wall clock: UTC, millisecond ISO-8601 with ``Z``, as Primero emits.

Tests can move it forward (token expiry, lockout windows) without sleeping.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta


def iso_ms(moment: datetime) -> str:
    """Format like the Rails JSON encoder: ``2019-05-10T05:34:59.514Z``."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def iso_ms_from_epoch(seconds: float) -> str:
    """Fast path for the generator: epoch seconds to ``iso_ms``."""
    whole = int(seconds)
    millis = round((seconds - whole) * 1000)
    if millis == 1000:
        whole, millis = whole + 1, 0
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{millis:03d}Z"


def parse_moment(text: str) -> datetime | None:
    """Parse a date or datetime filter/field value; naive values are taken as UTC."""
    value = text.strip()
    if not value:
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        parsed = datetime.fromisoformat(value.replace(" ", "T", 1))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


class Clock:
    """The simulator's notion of now: real UTC time plus an adjustable offset."""

    def __init__(self) -> None:
        self._offset = timedelta()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            offset = self._offset
        return datetime.now(UTC) + offset

    def epoch(self) -> float:
        return self.now().timestamp()

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += timedelta(seconds=seconds)

    def reset(self) -> None:
        with self._lock:
            self._offset = timedelta()

    @property
    def offset_seconds(self) -> float:
        return self._offset.total_seconds()
