"""`transformer`: settings -> mapping tables -> logging -> bootstrap -> run."""

from __future__ import annotations

import asyncio

import structlog

from casebridge.logs import configure_logging
from casebridge.runtime import run_service, tune_gc
from casebridge.startup import check_settings, run_main
from transformer.bootstrap import bootstrap
from transformer.cambodia import MappingTableError, load_tables
from transformer.config import Settings
from transformer.ona import load_ona_tables
from transformer.progres import load_progres_tables


def main() -> None:
    """One line and an exit status for an expected start-up failure (casebridge.startup)."""
    run_main("transformer", _main)


def _main() -> None:
    """Run until SIGTERM; exit 0 after a clean drain. A malformed mapping table stops start-up."""
    settings = Settings()
    check_settings(settings)
    try:
        tables = load_tables(settings.mapping_dir)
        progres = load_progres_tables(settings.mapping_dir)
        ona = load_ona_tables(settings.mapping_dir)
    except MappingTableError as exc:
        # Before logging: the sensitive field names come from these very tables.
        raise SystemExit(f"transformer: cannot start: {exc}") from exc
    configure_logging(
        settings.log_level,
        settings.log_format,
        service="transformer",
        extra_sensitive=tables.sensitive_fields | progres.sensitive_fields,
    )
    log = structlog.get_logger("transformer")
    for warning in tables.warnings:
        log.warning("mapping.table_warning", detail=warning)
    log.info("mapping.loaded", version=tables.version, override_dir=str(settings.mapping_dir))
    log.info("mapping.loaded", version=progres.version, override_dir=str(settings.mapping_dir))
    log.info("mapping.loaded", version=ona.version, override_dir=str(settings.mapping_dir))
    service = bootstrap(settings, tables=tables, progres_tables=progres, ona_tables=ona)
    tune_gc()
    asyncio.run(
        run_service(
            start=service.start,
            stop=service.stop,
            ready=service.ready,
            health=settings,
            service="transformer",
        )
    )


if __name__ == "__main__":
    main()
