"""casebridge loader: applies upsert commands to one target system, idempotently."""
