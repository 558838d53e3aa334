"""Primero's error bodies: the ``errors[]`` envelope and the Devise 401 shape.

Clients key on the HTTP status, but contract tests pin the exact shapes, so the
simulator builds each one in a single place.
"""

from __future__ import annotations

from typing import Any

SIGN_IN_REQUIRED = "You need to sign in or sign up before continuing."
INVALID_LOGIN = "Invalid User name or password."
ACCOUNT_LOCKED = "Your account is locked."
SESSION_EXPIRED = "Your session expired. Please sign in again to continue."
JWT_EXPIRED = "Signature has expired"
WWW_AUTHENTICATE = 'Bearer realm="Primero" charset="UTF8"'


class ApiError(Exception):
    """An error rendered in the ``{"errors": [...]}`` envelope."""

    def __init__(
        self,
        status: int,
        message: str | list[str],
        detail: Any = None,
        headers: dict[str, str] | None = None,
        more: list[tuple[Any, str | list[str]]] | None = None,
    ) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.detail = detail
        self.headers = headers or {}
        self.more = more or []

    def body(self, resource: str) -> dict[str, Any]:
        error: dict[str, Any] = {"status": self.status, "resource": resource}
        if self.detail is not None:
            error["detail"] = self.detail
        error["message"] = self.message
        errors = [error]
        for detail, message in self.more:
            errors.append(
                {"status": self.status, "resource": resource, "detail": detail, "message": message}
            )
        return {"errors": errors}


class Unauthorized(Exception):
    """A Devise failure-app 401: body ``{"error": ...}``, never the envelope."""

    def __init__(self, message: str = SIGN_IN_REQUIRED) -> None:
        super().__init__(message)
        self.message = message


def not_found(record_id: str, model: str = "Child") -> ApiError:
    return ApiError(404, "Not Found", f"Couldn't find {model} with 'id'={record_id}")


def conflict() -> ApiError:
    return ApiError(409, "Conflict: A record with this id already exists")


def invalid_record_json(pointers: list[str]) -> ApiError:
    """422 from the JSON-schema validator: ``detail`` is a list of JSON pointers."""
    return ApiError(422, "Invalid Record JSON", pointers)


def model_invalid(field: str, messages: list[str]) -> ApiError:
    """422 from an ActiveRecord validation: ``detail`` is the field, ``message`` a list."""
    return ApiError(422, messages, field)


def missing_data() -> ApiError:
    return ApiError(422, "param is missing or the value is empty or invalid: data")


def forbidden() -> ApiError:
    return ApiError(403, "Forbidden")


def csrf_failed() -> ApiError:
    return ApiError(403, "Can't verify CSRF token authenticity.")
