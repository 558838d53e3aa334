"""casebridge fetcher-primero: polls Primero, publishes one raw record per changed record."""
