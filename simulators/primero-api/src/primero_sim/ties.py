"""Primero's index sort has no tiebreaker (primeroIMS/primero
`app/services/sql_order_query_service.rb` @51ff6041: `{order_by => order}`, one column, under
LIMIT/OFFSET in PostgreSQL; REAL-SYSTEMS.md cites `identifier_search_query.rb:59-68`), so records
with the same sort value come back in no fixed order, and two queries for two pages may order a
tie group differently. A group that straddles a page boundary can then show one record on both
pages and another on neither. The simulator reproduces it: each request shuffles the tie groups
that cross its page's edges (the pages' interiors keep the stable order).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any


class TieShuffler:
    """A fresh order of the boundary tie groups for every request, reproducible for a seed."""

    def __init__(self, seed: int = 0, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self._rng = random.Random(seed)

    def reseed(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def page_order(
        self, ids: Sequence[str], start: int, end: int, value_of: Callable[[str], Any]
    ) -> Sequence[str]:
        """`ids` with the tie groups crossing `start` and `end` shuffled (a copy if changed)."""
        if not self.enabled:
            return ids
        out: list[str] | None = None
        for edge in (start, end):
            if edge <= 0 or edge >= len(ids):
                continue
            value = value_of(ids[edge])
            if value is None or value_of(ids[edge - 1]) != value:
                continue
            low, high = edge - 1, edge + 1
            while low > 0 and value_of(ids[low - 1]) == value:
                low -= 1
            while high < len(ids) and value_of(ids[high]) == value:
                high += 1
            out = out if out is not None else list(ids)
            group = out[low:high]
            self._rng.shuffle(group)
            out[low:high] = group
        return ids if out is None else out
