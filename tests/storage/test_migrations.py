"""The Alembic migrations and the table definitions the code queries must agree."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

import migrations
from storage._store import Store, latest_revision
from storage.schema import in_metadata, metadata


def test_latest_revision_is_alembics_head() -> None:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    assert ScriptDirectory.from_config(config).get_current_head() == latest_revision()


def test_a_migrated_store_matches_the_table_definitions(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    try:
        with store._engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_name": in_metadata})
            diffs = compare_metadata(context, metadata)
    finally:
        store.close()
    assert diffs == []


def test_reopening_a_store_keeps_its_data(tmp_path: Path) -> None:
    import nacl.signing

    key = nacl.signing.SigningKey.generate()
    store = Store.open(tmp_path)
    event = store.append(key, "chat", {"room": "general", "text": "kept"})
    store.close()
    again = Store.open(tmp_path)
    try:
        assert again.event_by_id(event.id) == event
        assert again.heads() == {bytes(key.verify_key): 1}
    finally:
        again.close()
