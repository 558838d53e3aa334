"""Entry point of the `casebridge` admin command; its commands arrive with later issues."""

import sys


def main() -> None:
    """Print what exists so far; exit non-zero so scripts notice."""
    print("casebridge: no admin commands yet (dead letters, replay and transform arrive later)")
    sys.exit(2)


if __name__ == "__main__":
    main()
