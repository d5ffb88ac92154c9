"""Witnessed-time projectors (``checkpoint``, ``settings``; DESIGN §10, issue 18).

A checkpoint is refused at receipt when it goes behind its own witness's earlier ones (an
earlier time, or a lower head for an author it named before): that depends only on the
witness's own log, which every peer holds in order, so every peer refuses the same events.
Whether a checkpoint's author is a witness at all is decided when querying.
"""

from __future__ import annotations

from sqlalchemy import Connection, func, insert, select

from peer.errors import ValidationError
from peer.log import Event
from storage.projections._envelope import envelope
from storage.schema import checkpoint_heads, checkpoints, class_settings


def project_checkpoint(conn: Connection, event: Event) -> None:
    """Record a witness's checkpoint (the heads it held at a time), refusing one that goes back
    behind its author's earlier checkpoint: lateness is judged against these, so a witness must not
    be able to rewrite what it saw."""
    body = event.body
    time = body["time"]
    last = conn.execute(
        select(func.max(checkpoints.c.time)).where(checkpoints.c.author == event.author)
    ).scalar()
    if last is not None and time < last:
        raise ValidationError("checkpoint time goes back behind its author's earlier checkpoint")
    rows = []
    for author, seq, head in body["heads"]:
        earlier = conn.execute(
            select(func.max(checkpoint_heads.c.seq)).where(
                checkpoint_heads.c.witness == event.author, checkpoint_heads.c.author == author
            )
        ).scalar()
        if earlier is not None and seq < earlier:
            raise ValidationError(
                "checkpoint names a head behind one its author's earlier checkpoint named"
            )
        rows.append(
            {
                "checkpoint": event.id,
                "witness": event.author,
                "witness_seq": event.seq,
                "time": time,
                "author": author,
                "seq": seq,
                "head": head,
            }
        )
    conn.execute(insert(checkpoints).values(**envelope(event), time=time))
    if rows:
        conn.execute(insert(checkpoint_heads), rows)


def project_settings(conn: Connection, event: Event) -> None:
    """Record the class's time settings (witnesses, allowed skew): every peer must judge lateness by
    the same rules, read from the log rather than from local configuration."""
    body = event.body
    conn.execute(
        insert(class_settings).values(
            **envelope(event), witnesses=body["witnesses"], skew_ms=body["skew_ms"]
        )
    )
