"""Alembic migrations of the database schema (store/models.py). `mailbot db upgrade` runs them;
store/schema.py decides when. A new revision: scripts/new-migration "what changes" (README)."""
