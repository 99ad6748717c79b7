"""Alembic migrations of the durable store (run through ``gateway.store.sql.migrate``)."""
