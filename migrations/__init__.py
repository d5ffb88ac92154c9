"""Alembic migrations of the peer store; ``storage.store`` runs them when a store opens."""
