"""The ONA dashboard database (flow O1): its schema (Alembic), rows and the batched upsert."""
