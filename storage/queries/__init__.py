"""Read-only queries for reports: SQLAlchemy Core aggregations that give the same rows on SQLite and PostgreSQL."""
