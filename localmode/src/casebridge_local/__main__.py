"""`casebridge-local` (`make run`): options from argv and the environment, then one run."""

from __future__ import annotations

import asyncio
import sys

from casebridge.startup import debug_wanted, run_main
from casebridge_local.options import Options
from casebridge_local.run import run


def main(argv: list[str] | None = None) -> None:
    """Exit with the run's status: 0 once every queue drained; one line (no traceback, unless
    `--debug` or LOG_LEVEL=DEBUG) when the broker or a store cannot be reached."""
    words = list(sys.argv[1:] if argv is None else argv)
    debug = debug_wanted(words)
    options = Options.from_args([w for w in words if w != "--debug"])
    run_main("casebridge-local", lambda: asyncio.run(run(options)), debug=debug)


if __name__ == "__main__":
    main()
