"""Checking that Primero applied an index filter: it silently drops the ones it cannot apply.

Primero keeps only the filters on fields the API user's role can read, and leaves those fields
out of the records it returns (primeroIMS/primero `app/controllers/api/v2/concerns/record.rb`
`permitted_index_params`, `permit_readable_fields`). With such a role, `oscar_number=X`
answers the whole index, and a caller that trusted it would, say, find no case with that
number among records that do not show it and create a duplicate child. So every record a
filtered query returns is checked against the filter here, and one that does not satisfy it
stops the query with a `FilterIgnored`, whose message tells the admin what to fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from casebridge.errors import PermanentError

#: Index parameters that are not filters.
NOT_FILTERS = frozenset({"page", "per", "order", "order_by", "fields", "total"})
_MISSING = object()


class FilterIgnored(PermanentError):
    """Primero returned a record that its filter excludes: the filter was not applied."""

    def __init__(self, field: str, *, unreadable: bool) -> None:
        why = (
            "the API user's role cannot read that field"
            if unreadable
            else "a returned case does not match it"
        )
        super().__init__(f"Primero ignored the filter on {field}: {why}")
        self.field = field
        self.unreadable = unreadable


def unmet_filter(
    record: Mapping[str, Any], filters: Mapping[str, str], *, exact_values: bool = True
) -> FilterIgnored | None:
    """The filter `record` shows Primero did not apply, or None.

    A record without the filtered field means the role cannot read it (the filter was dropped).
    With `exact_values`, a record whose value differs also counts; without it only the missing
    field does (a caller that re-checks values itself, e.g. against a substring search).
    Checked forms: `v`, `a,b` (any of), `true`/`false`, numeric `x..y`; other ranges (dates:
    the cursor window) are not checked.
    """
    for name, wanted in filters.items():
        if name in NOT_FILTERS or wanted in (None, ""):
            continue
        value = record.get(name, _MISSING)
        if value is _MISSING:
            return FilterIgnored(name, unreadable=True)
        if exact_values and not _satisfies(value, str(wanted)):
            return FilterIgnored(name, unreadable=False)
    return None


def check_records(
    records: Iterable[Mapping[str, Any]], filters: Mapping[str, str], *, exact_values: bool = True
) -> None:
    """Raise the `FilterIgnored` of the first record that shows a filter was not applied."""
    for record in records:
        problem = unmet_filter(record, filters, exact_values=exact_values)
        if problem is not None:
            raise problem


def _satisfies(value: Any, wanted: str) -> bool:
    if ".." in wanted:
        return _in_range(value, wanted)
    options = wanted.split(",")
    values = value if isinstance(value, list) else [value]
    return any(_equals(v, option) for v in values for option in options)


def _equals(value: Any, option: str) -> bool:
    if option in ("true", "false"):
        return value is (option == "true")
    if isinstance(value, bool):
        return False
    return value is not None and str(value) == option


def _in_range(value: Any, wanted: str) -> bool:
    low_text, _, high_text = wanted.partition("..")
    try:
        low = float(low_text) if low_text else None
        high = float(high_text) if high_text else None
    except ValueError:
        return True  # a date range (the cursor window): not checked here
    number = _number(value)
    if number is None:
        return False
    return (low is None or number >= low) and (high is None or number <= high)


def _number(value: Any) -> float | None:
    """Numbers, and numbers stored as text (Primero compares those numerically too)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None
