"""casebridge transformer: raw source records in, target-shaped upsert commands out."""
