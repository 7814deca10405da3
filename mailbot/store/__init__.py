"""Persistence: SQLAlchemy models and repositories, and content-addressed files on disk."""
