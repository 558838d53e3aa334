"""Dates and times as the sources write them, read into one spelling.

Primero v2 writes ISO 8601 (`2020-07-05T00:40:00.000Z`), but records migrated from v1 keep its
slashes (`2020/07/05 00:40:00`, `2020/08/24 13:17:05 +0000`, `2012/02/02`; API.md 1.x), and
hand-entered OSCaR dates can be unpadded (`2015-1-5`). The old jobs read them all (`/` -> `-`, or
PostgreSQL parsing the text), so casebridge reads them all too (the transformer in payloads, the
fetchers in record versions) and writes ISO 8601. A value that is no date at all is returned
unchanged, for its target to refuse with its own reason.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

_MOMENT = re.compile(
    r"^(?P<y>\d{4})[-/](?P<m>\d{1,2})[-/](?P<d>\d{1,2})"
    r"(?:[T ](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?P<f>\.\d+)?)?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?$"
)


def parse_date(value: Any) -> date | None:
    """The calendar date a source value names, or None when it names none."""
    moment = _parse(value)
    return moment.date() if moment is not None else None


def iso_date(value: Any) -> Any:
    """`YYYY-MM-DD` for any date or timestamp spelling; anything else unchanged."""
    day = parse_date(value)
    return day.isoformat() if day is not None else value


def iso_timestamp(value: Any) -> Any:
    """ISO 8601 with the source's offset (none when it gave none); ISO values and anything that
    is no timestamp unchanged."""
    if not isinstance(value, str):
        return value
    try:
        datetime.fromisoformat(value)
    except ValueError:
        moment = _parse(value)
        return moment.isoformat() if moment is not None else value
    return value


def parse_moment(value: Any) -> datetime | None:
    """The moment a source value names, in any spelling above (naive when it gave no zone);
    None when it names none. Shared by the transformer and the fetchers (record versions)."""
    return _parse(value)


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    found = _MOMENT.match(value.strip())
    if found is None:
        return None
    part = found.groupdict()
    try:
        return datetime(
            int(part["y"]),
            int(part["m"]),
            int(part["d"]),
            int(part["H"] or 0),
            int(part["M"] or 0),
            int(part["S"] or 0),
            round(float(part["f"] or 0) * 1_000_000),
            tzinfo=_zone(part["tz"]),
        )
    except ValueError:  # 2015-02-30, 25:00
        return None


def _zone(text: str | None) -> timezone | None:
    if text is None:
        return None
    if text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return UTC if not offset else timezone(sign * offset)
