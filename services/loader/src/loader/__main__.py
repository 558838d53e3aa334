"""`loader`: settings -> logging -> bootstrap (control store, target plugin) -> run."""

from __future__ import annotations

import asyncio

from casebridge.logs import configure_logging
from casebridge.runtime import run_service, tune_gc
from casebridge.startup import CONFIG, StartupError, check_settings, exit_with, run_main
from loader.bootstrap import bootstrap
from loader.config import Settings
from loader.target import UnknownTarget, find_target


def main() -> None:
    """One line and an exit status for an expected start-up failure (casebridge.startup)."""
    run_main("loader", _main)


def _main() -> None:
    """Run until SIGTERM; exit 0 after a clean drain, 2 on a configuration error."""
    settings = Settings()
    check_settings(settings)
    configure_logging(settings.log_level, settings.log_format, service="loader")
    try:
        find_target(settings.loader_target)  # fail fast, before opening anything
    except UnknownTarget as exc:
        exit_with("loader", StartupError(str(exc), CONFIG))
    tune_gc()
    asyncio.run(_run(settings))


async def _run(settings: Settings) -> None:
    service = await bootstrap(settings)
    await run_service(
        start=service.start,
        stop=service.stop,
        ready=service.ready,
        health=settings,
        service="loader",
    )


if __name__ == "__main__":
    main()
