"""casebridge inbox: receives pushed webhooks (DTP, Primero) and publishes them as raw records."""
