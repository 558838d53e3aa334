"""The target plugins shipped with the loader (registered as entry points in pyproject.toml)."""
