"""Per-peer SQLite store: the event logs, the tables derived from them, and known peers.

The write side is :class:`Store` (open, migrate, append) with the receive path
(``_ingest``) and the projections (``storage.projections``); the read side is
``storage.queries``. ``AsyncStore`` is the Trio face of a store for the running peer.
This package depends on ``peer.log`` and ``peer.errors`` only.
"""

from storage._async import AsyncStore as AsyncStore
from storage._async import StoreWatch as StoreWatch
from storage._dismissals import dismiss_announcement as dismiss_announcement
from storage._errors import as_storage_error as as_storage_error
from storage._ingest import IngestResult as IngestResult
from storage._names import ClassNames as ClassNames
from storage._names import Name as Name
from storage._reader import Reader as Reader
from storage._store import EventRef as EventRef
from storage._store import PeerRecord as PeerRecord
from storage._store import Store as Store
from storage._store import StoredEvent as StoredEvent
from storage._store import latest_revision as latest_revision
from storage._store_integrity import Damage as Damage
from storage._store_integrity import IntegrityReport as IntegrityReport
