"""A fixed-size record of which case ids one sweep has met (a Bloom filter).

Offset paging over a changing set can hide a record: a case updated after we read it jumps to
the end and shifts the rest left by one. Meeting a case a second time in one sweep is the sign,
and the sweep is then repeated. Keeping every id met (a set) made the fetcher's memory grow with
the number of cases; this filter is 4 MB whatever the number.

It answers "maybe met" or "certainly not met": no false negatives, so a moved case is always
noticed; a false positive only costs one unnecessary re-sweep. Callers ask only about cases
updated since the sweep began (the only ones that can have moved), which keeps the chance of a
false positive negligible: with 4 probes in 2^25 bits it is about 1e-4 per question after a
million cases, far less at a hundred thousand.
"""

from __future__ import annotations

_BITS_LOG2 = 25
_MASK = (1 << _BITS_LOG2) - 1
_PROBES = 4


class MetFilter:
    """Bloom filter over case ids: `add` each case met, `maybe_met` before adding a later one."""

    __slots__ = ("_bits",)

    def __init__(self) -> None:
        self._bits = bytearray(1 << (_BITS_LOG2 - 3))

    @staticmethod
    def _positions(key: str) -> list[int]:
        # Double hashing (Kirsch-Mitzenmacher): probe i is h1 + i*h2; str hashes are 64-bit.
        h = hash(key) & 0xFFFFFFFFFFFFFFFF
        h1, h2 = h & 0xFFFFFFFF, (h >> 32) | 1
        return [(h1 + i * h2) & _MASK for i in range(_PROBES)]

    def add(self, key: str) -> None:
        """Record that `key` was met."""
        bits = self._bits
        for pos in self._positions(key):
            bits[pos >> 3] |= 1 << (pos & 7)

    def maybe_met(self, key: str) -> bool:
        """False if `key` was certainly not added; True if it probably was."""
        bits = self._bits
        return all(bits[pos >> 3] & (1 << (pos & 7)) for pos in self._positions(key))

    def clear(self) -> None:
        """Forget everything (a new sweep)."""
        self._bits[:] = bytes(len(self._bits))
