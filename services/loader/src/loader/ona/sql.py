"""The set-based upsert: COPY into session temp tables, then one INSERT … ON CONFLICT per table.

Stale-write guard in the statement itself: a row is updated only when the command's source
version (`source_last_updated_at`) is newer than the stored one, or equal with different
values (a replay after a mapping fix). An equal version with equal values changes nothing, so a
re-run leaves every row, `last_updated_date` included, untouched. `last_updated_date` is the
load time (MAPPINGS C.4). Province and district come from ONA's `locations_lookup`, joined on
the district key the transformer computed.
"""

from __future__ import annotations

from loader.ona.rows import CASE_COLUMNS, SERVICE_COLUMNS

STAGE_CASES = "ona_stage_cases"
STAGE_SERVICES = "ona_stage_services"

CREATE_STAGING = f"""
CREATE TEMP TABLE IF NOT EXISTS {STAGE_CASES} (
    case_id text, registration_date date, case_source text, disabled text, type_of_case text,
    sex text, age integer, protection_concerns text, placement_type text,
    consent_for_reporting text, location_code text, current_district_key text,
    caregiver_district_key text, source_last_updated_at timestamptz
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS {STAGE_SERVICES} (
    case_id text, unique_id text, service_type text, service_date timestamptz,
    source_last_updated_at timestamptz
) ON COMMIT DELETE ROWS;
"""

COPY_CASES = f"COPY {STAGE_CASES} ({', '.join(CASE_COLUMNS)}, source_last_updated_at) FROM STDIN"
COPY_SERVICES = (
    f"COPY {STAGE_SERVICES} ({', '.join(SERVICE_COLUMNS)}, source_last_updated_at) FROM STDIN"
)

#: The 20 dashboard columns (ona-columns.json order) plus the version column.
CASE_TABLE_COLUMNS = (
    "case_id",
    "last_updated_date",
    "registration_date",
    "case_source",
    "disabled",
    "type_of_case",
    "sex",
    "age",
    "protection_concerns",
    "placement_type",
    "consent_for_reporting",
    "location_code",
    "province_current",
    "province_current_code",
    "district_current",
    "district_current_code",
    "province_caregiver",
    "province_caregiver_code",
    "district_caregiver",
    "district_caregiver_code",
    "source_last_updated_at",
)
_CASE_SELECT = """
    s.case_id, date_trunc('second', now() AT TIME ZONE 'UTC'), s.registration_date, s.case_source,
    s.disabled, s.type_of_case, s.sex, s.age, s.protection_concerns, s.placement_type,
    s.consent_for_reporting, s.location_code,
    lc.province, lc.province_code, lc.district, lc.code,
    lg.province, lg.province_code, lg.district, lg.code,
    s.source_last_updated_at
"""
#: Compared on equal versions (everything but the key, the load time and the version).
CASE_VALUES = CASE_TABLE_COLUMNS[2:-1]
SERVICE_VALUES = ("case_id", "service_type", "service_date")


def stale_write_guard(table: str, columns: tuple[str, ...], *, differs: str) -> str:
    """The upsert's WHERE: a newer source version, or the same one with other values (a
    re-run writes nothing). `differs` is the dialect's null-safe inequality."""
    mine = ", ".join(f"{table}.{c}" for c in columns)
    theirs = ", ".join(f"EXCLUDED.{c}" for c in columns)
    return (
        f"{table}.source_last_updated_at < EXCLUDED.source_last_updated_at"
        f" OR ({table}.source_last_updated_at = EXCLUDED.source_last_updated_at"
        f" AND ({mine}) {differs} ({theirs}))"
    )


def _guard(table: str, columns: tuple[str, ...]) -> str:
    return stale_write_guard(table, columns, differs="IS DISTINCT FROM")


# Built from the constant column names above only; no value is ever interpolated.
UPSERT_CASES = f"""
INSERT INTO cases ({", ".join(CASE_TABLE_COLUMNS)})
SELECT {_CASE_SELECT}
FROM {STAGE_CASES} s
LEFT JOIN locations_lookup lc ON lc.code = s.current_district_key
LEFT JOIN locations_lookup lg ON lg.code = s.caregiver_district_key
ON CONFLICT (case_id) DO UPDATE SET
    {", ".join(f"{c} = EXCLUDED.{c}" for c in CASE_TABLE_COLUMNS[1:])}
WHERE {_guard("cases", CASE_VALUES)}
RETURNING case_id
"""  # noqa: S608

UPSERT_SERVICES = f"""
INSERT INTO services (case_id, unique_id, service_type, service_date, source_last_updated_at)
SELECT case_id, unique_id, service_type, service_date, source_last_updated_at
FROM {STAGE_SERVICES}
ON CONFLICT (unique_id) DO UPDATE SET
    case_id = EXCLUDED.case_id, service_type = EXCLUDED.service_type,
    service_date = EXCLUDED.service_date, source_last_updated_at = EXCLUDED.source_last_updated_at
WHERE {_guard("services", SERVICE_VALUES)}
RETURNING case_id
"""  # noqa: S608
