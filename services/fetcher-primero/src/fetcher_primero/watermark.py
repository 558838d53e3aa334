"""Primero timestamps as cursors: parse, print, and step back by the overlap window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from casebridge.source_dates import parse_moment


def parse_primero_time(text: str) -> datetime:
    """`2025-03-20T10:02:11.514Z` (or any ISO-8601 with an offset; a v1 migrated record's
    `2020/07/05 00:40:00`, read as UTC) -> an aware UTC datetime."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        found = parse_moment(text)
        if found is None:
            raise
        moment = found
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def primero_time(moment: datetime) -> str:
    """The way Primero prints times: UTC, milliseconds, `Z`."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def query_from(cursor: str, overlap_s: float) -> str:
    """Where a pass starts reading: the cursor minus the overlap window.

    Primero compares the filter at whole seconds and inclusively, so the window also re-reads
    the cursor's own second; records already published there are dropped by message id.
    """
    return primero_time(parse_primero_time(cursor) - timedelta(seconds=overlap_s))
