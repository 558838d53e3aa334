"""Rails' ``blank?``: OpenFn sends ``""`` for every null, and OSCaR must read it as absent."""

from __future__ import annotations

from typing import Any


def is_blank(value: Any) -> bool:
    if value is None or value is False:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | dict | tuple):
        return not value
    return False


def presence(value: Any) -> Any:
    """The value, or None when blank (Rails ``presence``)."""
    return None if is_blank(value) else value


def text(value: Any) -> str | None:
    """A present value as a string (OpenFn sends ids as numbers or strings alike)."""
    value = presence(value)
    return None if value is None else str(value)


def truthy(value: Any) -> bool:
    """Rails boolean casting of a JSON value ("true", "1", true)."""
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "t", "yes"}
    return bool(value)
