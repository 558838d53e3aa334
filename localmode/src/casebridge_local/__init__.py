"""casebridge's local mode: the whole pipeline, the simulators and an ONA database, one process."""
