"""The ``GET /api/v2/cases`` query language: filters, ordering, paging.

Grammar (API.md 1.4): ``a,b`` is any-of, ``x..y`` an inclusive range, ``x..`` and
``..y`` open ranges; digits become integers, ``true``/``false`` booleans; id
fields are exact matches; ``or[f]``, ``not[f]`` and ``loc:f`` are supported;
params that are not readable field names are silently dropped.  Datetimes are
compared at whole-second resolution, both sides truncated, inclusive.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from primero_sim.clock import parse_moment
from primero_sim.schema import ID_FIELDS, READABLE
from primero_sim.store import CaseStore, Record

DEFAULT_PER = 20
MAX_PER = 1000
RESERVED = frozenset(
    {"page", "per", "order_by", "order", "fields", "query", "id_search", "phonetic"}
    | {"phone_number", "total", "remote", "format"}
)
SUMMARY_FIELDS = (
    "id", "enabled", "case_id_display", "name", "sex", "age", "registration_date", "owned_by",
    "owned_by_agency_id", "created_at", "status", "short_id", "record_in_scope", "flag_count",
    "alert_count", "module_id", "workflow", "last_updated_at",
)  # fmt: skip
ALWAYS = ("id", "enabled", "last_updated_at")
INDEXED = ("created_at", "last_updated_at")

_INT_RE = re.compile(r"\A-?\d+\Z")
_MOMENT_RE = re.compile(
    r"\A\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?\Z"
)
_ARRAY_PARAM = re.compile(r"\A([^\[\]]+)\[\d*\]\Z")
_WRAPPED = re.compile(r"\A(or|not)\[([^\[\]]+)\](?:\[\d*\])?\Z")

Scalar = str | int | bool


@dataclass(frozen=True)
class Moment:
    """A date/datetime filter value reduced to its second key ``YYYY-MM-DDTHH:MM:SS``."""

    key: str
    date_only: bool


@dataclass
class Condition:
    field: str
    values: list[Any]  # scalars, Moments, or (low, high) range tuples
    negate: bool = False
    location: bool = False

    def matches(self, record: Record) -> bool:
        value = record.get(self.field)
        hit = _any_match(value, self.values, self.location)
        return hit != self.negate


@dataclass
class Query:
    conditions: list[Condition] = field(default_factory=list)
    any_of: list[Condition] = field(default_factory=list)
    ids: list[str] | None = None
    page: int = 1
    per: int = DEFAULT_PER
    order_by: str = "created_at"
    descending: bool = True
    fields: tuple[str, ...] | None = None
    cache_key: tuple[Any, ...] = ()


def second_key(value: Any) -> str | None:
    """Whole-second UTC key of a stored datetime/date string, or None."""
    if not isinstance(value, str):
        return None
    if len(value) >= 20 and value[10] == "T" and value[-1] == "Z" and value[19] in ".Z":
        return value[:19]  # the canonical stored format, the hot path
    if len(value) == 10 and value[4] == "-":
        return value + "T00:00:00"
    moment = parse_moment(value)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") if moment else None


def _destringify(text: str, exact: bool) -> Any:
    if exact:
        return text
    if _INT_RE.match(text):
        return int(text)
    if text in ("true", "false"):
        return text == "true"
    if _MOMENT_RE.match(text):
        moment = parse_moment(text)
        if moment is not None:
            return Moment(moment.strftime("%Y-%m-%dT%H:%M:%S"), len(text) == 10)
    return text


def _parse_values(raw: list[str], exact: bool) -> list[Any]:
    values: list[Any] = []
    for text in raw:
        items = [text] if exact else text.split(",")
        for item in items:
            if not exact and ".." in item:
                low, _, high = item.partition("..")
                values.append(
                    (
                        _destringify(low, False) if low else None,
                        _destringify(high, False) if high else None,
                    )
                )
            else:
                values.append(_destringify(item, exact))
    return values


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and _INT_RE.match(value.strip()):
        return float(value)
    return None


def _in_range(value: Any, low: Any, high: Any) -> bool:
    if isinstance(low, Moment) or isinstance(high, Moment):
        key = second_key(value)
        if key is None:
            return False
        if isinstance(low, Moment) and key < low.key:
            return False
        if isinstance(high, Moment):
            upper = high.key[:10] + "T23:59:59" if high.date_only else high.key
            if key > upper:
                return False
        return True
    if isinstance(low, int) or isinstance(high, int):
        number = _number(value)
        if number is None:
            return False
        return (low is None or number >= low) and (high is None or number <= high)
    if not isinstance(value, str):
        return False
    return (low is None or value >= str(low)) and (high is None or value <= str(high))


def _scalar_match(value: Any, wanted: Any, location: bool) -> bool:
    if isinstance(wanted, tuple):
        return _in_range(value, wanted[0], wanted[1])
    if isinstance(wanted, Moment):
        key = second_key(value)
        if key is None:
            return False
        return key[:10] == wanted.key[:10] if wanted.date_only else key == wanted.key
    if isinstance(wanted, bool):
        return value is wanted or value == str(wanted).lower()
    if isinstance(wanted, int):
        return bool((not isinstance(value, bool) and value == wanted) or value == str(wanted))
    if location and isinstance(value, str):
        return value.startswith(wanted)
    return bool(value == wanted)


def _any_match(value: Any, wanted: list[Any], location: bool) -> bool:
    if isinstance(value, list):
        return any(_scalar_match(v, w, location) for v in value for w in wanted)
    return any(_scalar_match(value, w, location) for w in wanted)


def parse_query(pairs: Iterable[tuple[str, str]], known_fields: set[str]) -> Query:
    """Turn raw query pairs into a Query, dropping params that are not field names."""
    grouped: dict[tuple[str, str], list[str]] = {}
    query = Query()
    raw_page = raw_per = ""
    order = "desc"
    for name, value in pairs:
        if name == "page":
            raw_page = value
        elif name == "per":
            raw_per = value
        elif name == "order_by":
            query.order_by = value or "created_at"
        elif name == "order":
            order = value
        elif name == "fields":
            query.fields = _field_list(value)
        elif name in RESERVED:
            continue
        else:
            wrapped = _WRAPPED.match(name)
            array = _ARRAY_PARAM.match(name)
            if wrapped:
                grouped.setdefault((wrapped.group(1), wrapped.group(2)), []).append(value)
            elif name.startswith("loc:"):
                grouped.setdefault(("loc", name[4:]), []).append(value)
            elif array:
                grouped.setdefault(("and", array.group(1)), []).append(value)
            else:
                grouped.setdefault(("and", name), []).append(value)
    query.page = max(_int(raw_page, 1), 1)
    query.per = min(max(_int(raw_per, DEFAULT_PER), 1), MAX_PER)
    query.descending = order.lower() == "desc"
    readable = READABLE | known_fields
    for (mode, name), raw in grouped.items():
        if name == "id" and mode == "and":
            query.ids = [v for text in raw for v in text.split(",") if v]
            continue
        if name not in readable:
            continue  # unknown params (e.g. remote=true) are silently dropped
        condition = Condition(name, _parse_values(raw, name in ID_FIELDS and mode != "loc"))
        condition.negate = mode == "not"
        condition.location = mode == "loc"
        (query.any_of if mode == "or" else query.conditions).append(condition)
    filters = tuple(sorted((k, tuple(v)) for k, v in grouped.items()))
    query.cache_key = (filters, query.order_by, query.descending, tuple(query.ids or ()))
    return query


def _int(text: str, default: int) -> int:
    try:
        return int(text)
    except ValueError:
        return default


def _field_list(value: str) -> tuple[str, ...]:
    if value == "short":
        return SUMMARY_FIELDS
    return tuple(f for f in (p.strip() for p in value.split(",")) if f)


class Searcher:
    """Runs queries against a CaseStore, caching each query's ordered id list.

    Paging through N pages of one query costs one scan, then N slices; any write
    bumps the store version and so invalidates the cache.
    """

    def __init__(self, store: CaseStore, size: int = 32) -> None:
        self.store = store
        self._cache: OrderedDict[tuple[Any, ...], list[str]] = OrderedDict()
        self._size = size

    def matching_ids(self, query: Query) -> list[str]:
        key = (self.store.version, *query.cache_key)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        ids = self._run(query)
        self._cache[key] = ids
        if len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return ids

    def _run(self, query: Query) -> list[str]:
        store = self.store
        conditions = list(query.conditions)
        cursor = _cursor_condition(conditions)
        ordered: Iterable[str]
        presorted = False
        if cursor is not None:
            conditions.remove(cursor)
            ordered = _bisect_slice(store.updated_index(), cursor.values[0])
            presorted = query.order_by == "last_updated_at"
        elif query.order_by in INDEXED:
            index = (
                store.created_index() if query.order_by == "created_at" else store.updated_index()
            )
            ordered = (record_id for _, record_id in index)
            presorted = True
        else:
            ordered = store.all_ids()
        if query.ids is not None:
            wanted = set(query.ids)
            ordered = (i for i in ordered if i in wanted)
        predicate = _predicate(conditions, query.any_of)
        if predicate is None:
            ids = list(ordered)
        else:
            get = store.get
            ids = [i for i in ordered if predicate(get(i) or {})]
        if presorted:
            if query.descending:
                ids.reverse()
            return ids
        return _sort(ids, store, query.order_by, query.descending)


def _cursor_condition(conditions: list[Condition]) -> Condition | None:
    for condition in conditions:
        if (
            condition.field == "last_updated_at"
            and not condition.negate
            and len(condition.values) == 1
            and isinstance(condition.values[0], tuple)
        ):
            low, high = condition.values[0]
            if all(v is None or isinstance(v, Moment) for v in (low, high)):
                return condition
    return None


def _bisect_slice(index: list[tuple[str, str]], bounds: tuple[Any, Any]) -> list[str]:
    low, high = bounds
    start = 0 if low is None else bisect_left(index, (low.key,))
    if high is None:
        end = len(index)
    else:
        upper = high.key[:10] + "T23:59:59" if high.date_only else high.key
        end = bisect_left(index, (upper + "~",))  # '~' sorts after '.', 'Z' and digits
    # Index keys are canonical ``...SS.mmmZ`` strings, so prefix order is second order.
    return [record_id for _, record_id in index[start:end]]


def _predicate(
    conditions: list[Condition], any_of: list[Condition]
) -> Callable[[Record], bool] | None:
    if not conditions and not any_of:
        return None

    def check(record: Record) -> bool:
        if not all(c.matches(record) for c in conditions):
            return False
        return not any_of or any(c.matches(record) for c in any_of)

    return check


def _sort(ids: list[str], store: CaseStore, order_by: str, descending: bool) -> list[str]:
    def key(record_id: str) -> tuple[int, Any]:
        value = (store.get(record_id) or {}).get(order_by)
        if value is None:
            return (2, "")  # NULLS LAST ascending, first descending (Postgres default)
        if isinstance(value, bool):
            return (0, int(value))
        if isinstance(value, int | float):
            return (0, value)
        return (1, str(value))

    return sorted(ids, key=key, reverse=descending)


def project(record: Record, fields: tuple[str, ...]) -> Record:
    """The ``fields=`` subset of a record; ``id``, ``enabled``, ``last_updated_at`` always."""
    return {f: record[f] for f in (*ALWAYS, *fields) if f in record}
