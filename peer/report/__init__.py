"""The feedback history report: gather the store, summarise, render in one of the formats.

The pipeline is ``gather`` (store -> ``Snapshot``), ``build_report`` (pure: snapshot and
request -> ``Report``) and a renderer per format. ``FORMATS`` is the table of formats (name,
renderer, media type, file suffix), one module each in ``peer.report.formats``: the command
line and the web UI read it, so adding a format changes neither. This package depends on
``peer.log``, ``peer.errors`` and ``storage``.
"""

from peer.report._format import Format as Format
from peer.report._format import Renderer as Renderer
from peer.report.formats import FORMATS as FORMATS
from peer.report.formats import format_named as format_named
from peer.report.gather import gather as gather
from peer.report.gradebook import Gradebook as Gradebook
from peer.report.gradebook import build_gradebook as build_gradebook
from peer.report.gradebook import render_gradebook_csv as render_gradebook_csv
from peer.report.gradebook import render_gradebook_moodle as render_gradebook_moodle
from peer.report.model import FeedbackVersion as FeedbackVersion
from peer.report.model import Problem as Problem
from peer.report.model import Report as Report
from peer.report.model import Request as Request
from peer.report.model import Snapshot as Snapshot
from peer.report.model import Submission as Submission
from peer.report.render_csv import render_csv as render_csv
from peer.report.render_html import render_html as render_html
from peer.report.render_json import render_json as render_json
from peer.report.render_json import to_json as to_json
from peer.report.render_md import render_md as render_md
from peer.report.safe_markdown import render_markdown as render_markdown
from peer.report.safe_markdown import safe_markdown_it as safe_markdown_it
from peer.report.summary import build_report as build_report
