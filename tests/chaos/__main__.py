"""`python -m tests.chaos` (`make chaos`): run the chaos matrix and print its table."""

from .matrix import main

raise SystemExit(main())
