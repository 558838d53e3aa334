"""`transformer`: settings -> logging -> bootstrap -> run."""

from __future__ import annotations

import asyncio

from casebridge.logs import configure_logging
from casebridge.runtime import run_service, tune_gc
from transformer.bootstrap import bootstrap
from transformer.config import Settings


def main() -> None:
    """Run until SIGTERM; exit 0 after a clean drain."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format, service="transformer")
    service = bootstrap(settings)
    tune_gc()
    asyncio.run(
        run_service(start=service.start, stop=service.stop, ready=service.ready, health=settings)
    )


if __name__ == "__main__":
    main()
