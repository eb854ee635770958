"""Alembic migrations for the catalog (run programmatically by :mod:`posthouse.core.catalog.db`)."""
