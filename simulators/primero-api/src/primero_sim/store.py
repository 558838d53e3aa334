"""In-memory case and referral storage with the indexes the index endpoint needs.

Cases are kept in two lists sorted by ``created_at`` and ``last_updated_at`` so
paging and cursor queries are bisects, not scans, and each case's JSON is
serialised once and reused until the case changes.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, insort
from collections.abc import Iterable
from typing import Any

import orjson

Record = dict[str, Any]


def _key(record: Record, field: str) -> tuple[str, str]:
    value = record.get(field)
    return (value if isinstance(value, str) else "", record["id"])


class CaseStore:
    """Cases by id, their sorted indexes, their referrals, and a change counter."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.version = 0
        self._cases: dict[str, Record] = {}
        self._json: dict[str, bytes] = {}
        self._by_case_id: dict[str, str] = {}
        self._by_created: list[tuple[str, str]] = []
        self._by_updated: list[tuple[str, str]] = []
        self.fields_seen: set[str] = set()
        self.referrals: dict[str, list[Record]] = {}
        self._referral_case: dict[str, str] = {}

    # -- reads ---------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._cases)

    def get(self, record_id: str) -> Record | None:
        return self._cases.get(record_id)

    def id_for_case_id(self, case_id: str) -> str | None:
        return self._by_case_id.get(case_id)

    def json_of(self, record_id: str) -> bytes:
        cached = self._json.get(record_id)
        if cached is None:
            cached = orjson.dumps(self._cases[record_id])
            self._json[record_id] = cached
        return cached

    def all_ids(self) -> Iterable[str]:
        return self._cases.keys()

    def records(self) -> Iterable[Record]:
        return self._cases.values()

    def created_index(self) -> list[tuple[str, str]]:
        return self._by_created

    def updated_index(self) -> list[tuple[str, str]]:
        return self._by_updated

    def referral(self, referral_id: str) -> Record | None:
        case = self._referral_case.get(referral_id)
        if case is None:
            return None
        return next((r for r in self.referrals.get(case, []) if r["id"] == referral_id), None)

    # -- writes --------------------------------------------------------------
    def clear(self) -> None:
        with self.lock:
            self._cases.clear()
            self._json.clear()
            self._by_case_id.clear()
            self._by_created.clear()
            self._by_updated.clear()
            self.fields_seen.clear()
            self.referrals.clear()
            self._referral_case.clear()
            self.version += 1

    def put(self, record: Record) -> None:
        """Insert or replace one case, keeping every index consistent."""
        with self.lock:
            record_id = record["id"]
            old = self._cases.get(record_id)
            if old is not None:
                self._unindex(old)
            record["enabled"] = record.get("record_state", True) is not False
            self._cases[record_id] = record
            self._json.pop(record_id, None)
            case_id = record.get("case_id")
            if isinstance(case_id, str):
                self._by_case_id[case_id] = record_id
            insort(self._by_created, _key(record, "created_at"))
            insort(self._by_updated, _key(record, "last_updated_at"))
            self.fields_seen.update(record)
            self.version += 1

    def load(self, records: list[Record], referrals: list[Record]) -> None:
        """Bulk insert (seeding): one sort per index instead of an insort per case."""
        with self.lock:
            for record in records:
                record["enabled"] = record.get("record_state", True) is not False
                self._cases[record["id"]] = record
                case_id = record.get("case_id")
                if isinstance(case_id, str):
                    self._by_case_id[case_id] = record["id"]
                self.fields_seen.update(record)
            self._json.clear()
            self._by_created = sorted(_key(r, "created_at") for r in self._cases.values())
            self._by_updated = sorted(_key(r, "last_updated_at") for r in self._cases.values())
            for referral in referrals:
                self.add_referral(referral)
            self.version += 1

    def add_referral(self, referral: Record) -> None:
        with self.lock:
            self.referrals.setdefault(referral["record_id"], []).append(referral)
            self._referral_case[referral["id"]] = referral["record_id"]
            self.version += 1

    def _unindex(self, record: Record) -> None:
        for index, field in (
            (self._by_created, "created_at"),
            (self._by_updated, "last_updated_at"),
        ):
            key = _key(record, field)
            at = bisect_left(index, key)
            if at < len(index) and index[at] == key:
                del index[at]
        case_id = record.get("case_id")
        if isinstance(case_id, str) and self._by_case_id.get(case_id) == record["id"]:
            del self._by_case_id[case_id]
