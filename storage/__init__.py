"""Per-peer SQLite store: the event logs, the tables derived from them, and known peers."""

from storage.store import EventRef, IngestResult, Store, StoredEvent

__all__ = ["EventRef", "IngestResult", "Store", "StoredEvent"]
