"""casebridge shared library."""
