"""`casebridge-local` (`make run`): options from argv and the environment, then one run."""

from __future__ import annotations

import asyncio
import sys

from casebridge_local.options import Options
from casebridge_local.run import run


def main(argv: list[str] | None = None) -> None:
    """Exit with the run's status: 0 once every queue drained."""
    options = Options.from_args(sys.argv[1:] if argv is None else argv)
    sys.exit(asyncio.run(run(options)))


if __name__ == "__main__":
    main()
