"""The ``extension`` projector (issue 20): a student's own due date on a problem thread.

Any member may sign an event of this kind; only those an instructor signed count, which the
queries decide (``storage.queries.extended_due``), as for roster entries. What this identity
cannot open keeps the visible problem id only.
"""

from __future__ import annotations

from sqlalchemy import Connection, insert

from peer.log import Event
from storage.projections._envelope import envelope
from storage.projections._sealed import extension_content, open_body
from storage.schema import extensions


def project_extension(conn: Connection, event: Event) -> None:
    """Record an extension where this identity can open it: a student's own due date moves only for
    them and the staff, so everywhere lateness is computed reads this table."""
    conn.execute(
        insert(extensions).values(
            **envelope(event),
            problem=event.body["problem"],
            **open_body(conn, event).columns(extension_content),
        )
    )
