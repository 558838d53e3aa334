"""Field types of the source shapes, and how a violation is worded for an admin.

The shapes only check: the mappings still read the payload itself, so validation never
changes a value (no coercion reaches a target). A reason names the field path, what the
mapping expects and the JSON type it got; never the value, which may be child data.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, PlainValidator, ValidationError
from pydantic_core import PydanticCustomError

from casebridge.errors import InvalidMessage


class MalformedRecord(InvalidMessage):
    """A source record whose fields do not have the types its flow's mapping reads; the reason
    names each field path and the expected type."""


class Shape(BaseModel):
    """A source record (or a part of one): only the fields a mapping reads, each nullable.

    Extra fields are ignored: sources add fields all the time and the mapping does not read them.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)


def _scalar(value: Any) -> Any:
    if isinstance(value, dict | list):
        raise PydanticCustomError("scalar", "expected a text, number or boolean")
    return value


def _scalars(value: Any) -> Any:
    if isinstance(value, dict) or (
        isinstance(value, list) and any(isinstance(v, dict | list) for v in value)
    ):
        raise PydanticCustomError("scalars", "expected a text or a list of texts")
    return value


def _reference(value: Any) -> Any:
    if isinstance(value, list) or (
        isinstance(value, dict) and isinstance(value.get("Name"), dict | list)
    ):
        raise PydanticCustomError("reference", "expected a text or an object with a text Name")
    return value


#: A text, number, boolean or null: what the mappings copy, compare, look up or `str()`.
Scalar = Annotated[Any, PlainValidator(_scalar)]
#: One value or a list of values (Primero multi-selects such as `service_subtype`, `language`).
Scalars = Annotated[Any, PlainValidator(_scalars)]
#: A Dynamics EntityReference (`{"Name": ...}`) or a plain text, as DTP sends lookups.
Reference = Annotated[Any, PlainValidator(_reference)]

_EXPECTED = {
    "list_type": "expected a list",
    "model_type": "expected an object",
    "model_attributes_type": "expected an object",
    "dict_type": "expected an object",
    "string_type": "expected a text",
}


def check(shape: type[Shape], payload: Any, what: str) -> None:
    """Raise `MalformedRecord` naming every wrong field of `payload` (at most ten)."""
    try:
        shape.model_validate(payload)
    except ValidationError as exc:
        raise MalformedRecord(f"{what}: {violations(exc)}") from None


def violations(exc: ValidationError) -> str:
    """`path: expected X, got a Y` for each error, with no input value."""
    parts = []
    for error in exc.errors(include_url=False)[:10]:
        expected = _EXPECTED.get(error["type"], error["msg"])
        parts.append(f"{path(error['loc'])}: {expected}, got {json_type(error['input'])}")
    return "; ".join(parts)


def path(loc: tuple[int | str, ...]) -> str:
    """`services_section[2].service_subtype` from pydantic's location tuple."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the record"


def json_type(value: Any) -> str:
    """The JSON type of a value, with its article ("an object"), never the value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"
