"""Redaction of sensitive fields in log events, by field name, at any depth."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

#: Field names that carry child data or secrets; the mapping data adds its own on top.
SENSITIVE_FIELDS = frozenset(
    {
        "name",
        "name_first",
        "name_last",
        "name_middle",
        "name_nickname",
        "name_other",
        "given_name",
        "family_name",
        "first_name",
        "last_name",
        "local_given_name",
        "local_family_name",
        "full_name",
        "date_of_birth",
        "dob",
        "birth_date",
        "phone",
        "phone_number",
        "telephone",
        "mobile",
        "address",
        "address_current",
        "location_current",
        "current_address",
        "notes",
        "note",
        "comments",
        "narrative",
        "password",
        "token",
        "secret",
        "authorization",
        "api_key",
    }
)
REDACTED = "[redacted]"


class Redactor:
    """A structlog processor replacing values of sensitive keys with `[redacted]`."""

    def __init__(self, extra: Iterable[str] = ()) -> None:
        self._keys = SENSITIVE_FIELDS | {k.lower() for k in extra}

    def __call__(
        self, _logger: Any, _method: str, event: MutableMapping[str, Any]
    ) -> dict[str, Any]:
        return {k: self._clean(k, v) for k, v in event.items()}

    def is_sensitive(self, key: str) -> bool:
        """True for a field name that must never reach a log."""
        return key.lower() in self._keys

    def _clean(self, key: str, value: Any) -> Any:
        if self.is_sensitive(key):
            return REDACTED
        if isinstance(value, Mapping):
            return {str(k): self._clean(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._clean("", v) for v in value]
        return value
