"""``RecordMergeDataHashService.merge_data``: how PATCH combines old and new data.

Rules (API.md 1.4): missing keys untouched, present keys overwrite (``null`` too),
hashes deep-merge, arrays of hashes merge row by row on ``unique_id`` (unmatched
new rows appended, ``_destroy: true`` rows removed, ``[]`` is a no-op), arrays of
scalars are replaced.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any


def _is_array_of_hashes(value: list[Any]) -> bool:
    # Primero treats [] as an array of hashes, which is why [] changes nothing.
    return all(isinstance(item, dict) for item in value)


def merge_data(old: Any, new: Any) -> Any:
    """Return the merged value; neither input is mutated."""
    if isinstance(old, dict) and isinstance(new, dict):
        merged = dict(old)
        for key, value in new.items():
            merged[key] = merge_data(old[key], value) if key in old else copy.deepcopy(value)
        return merged
    if (
        isinstance(old, list)
        and isinstance(new, list)
        and _is_array_of_hashes(old)
        and _is_array_of_hashes(new)
    ):
        return _merge_rows(old, new)
    return copy.deepcopy(new)


def _merge_rows(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = [dict(row) for row in old]
    stored = len(rows)
    for incoming in new:
        key = incoming.get("unique_id")
        # Only stored rows are candidates; nil == nil, so an incoming row without
        # unique_id matches a stored row without one (and is then not appended).
        match = next((i for i in range(stored) if rows[i].get("unique_id") == key), None)
        if match is None:
            rows.append(copy.deepcopy(incoming))
        else:
            rows[match] = merge_data(rows[match], incoming)
    return [row for row in rows if row.get("_destroy") is not True]


def fill_subform_ids(
    data: dict[str, Any], subforms: tuple[str, ...], new_id: Callable[[], str]
) -> None:
    """``populate_subform_ids``: every saved subform row gets a ``unique_id``."""
    for name in subforms:
        rows = data.get(name)
        if not isinstance(rows, list):
            continue
        for row in rows:
            if isinstance(row, dict):
                row.pop("_destroy", None)
                if not row.get("unique_id"):
                    row["unique_id"] = new_id()
