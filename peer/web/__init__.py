"""The local web UI (DESIGN section 8): a Starlette app on hypercorn's Trio worker, bound to
127.0.0.1, behind a per-run token, a Host check and CSRF tokens; pages rendered on the
server, live over Server-Sent Events. Nothing imports this package but the CLI."""

from peer.web._app import build_app as build_app
from peer.web._context import WebContext as WebContext
from peer.web._live import Live as Live
from peer.web._live import Offline as Offline
from peer.web._live import follow as follow
from peer.web._security import Access as Access
from peer.web._security import new_token as new_token
from peer.web._serve import URL_FILE as URL_FILE
from peer.web._serve import read_url as read_url
from peer.web._serve import serve_ui as serve_ui
