"""The entry shape of the report's format table (``peer.report.formats``).

One value per format, so the command line (``report --format``) and the browser (``/report``)
take the name, the renderer, the media type and the file name from one place instead of each
repeating an if-chain.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from peer.report.model import Report

#: A renderer: the report and the wall time it is made at (ms), to text. Most formats ignore
#: the time; html prints it in its footer.
Renderer = Callable[[Report, int], str]


@attrs.frozen
class Format:
    """One way to export a report."""

    #: What users type (``--format NAME``, ``/report?format=NAME``).
    name: str
    render: Renderer
    #: The ``Content-Type`` the browser gets.
    media_type: str
    #: The file name ending, with its dot (``.csv``).
    suffix: str
    #: Where the format sits in lists (help text, the instructor's buttons): lower first.
    order: int
    #: One line for people: what the format holds.
    summary: str
    #: True for a format that shows the whole class (one row per student): only the
    #: instructor's peer can fill it, so the browser offers it to the instructor alone.
    class_only: bool = False
    #: The downloaded file is ``<stem><suffix>``.
    stem: str = "peerclass-report"

    @property
    def file_name(self) -> str:
        """The name a download is saved under, so the operating system knows its kind."""
        return self.stem + self.suffix
