"""Settings mixin of services that keep state in the control store."""

from __future__ import annotations

from pydantic import Field, SecretStr

from casebridge.control.engine import DEFAULT_CONTROL_DATABASE_URL
from casebridge.settings import CasebridgeSettings


class ControlStoreSettings(CasebridgeSettings):
    """Where the control store lives (`CONTROL_DATABASE_URL`, or `CONTROL_DATABASE_URL_FILE`)."""

    control_database_url: SecretStr = Field(
        default=SecretStr(DEFAULT_CONTROL_DATABASE_URL),
        description=(
            "PostgreSQL (postgresql://…, driven by psycopg 3) in deployment, a SQLite file in "
            "local mode; a secret (may carry a password)."
        ),
    )
