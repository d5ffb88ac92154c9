"""The local web UI (DESIGN section 8): a Starlette app on hypercorn's Trio worker, bound to
a loopback address of its own, behind one-time sign-in tokens and signed sessions, a Host check
and CSRF tokens; pages rendered on the
server, live over Server-Sent Events. Nothing imports this package but the CLI."""

from peer.web._app import build_app as build_app
from peer.web._context import WebContext as WebContext
from peer.web._live import Live as Live
from peer.web._live import Offline as Offline
from peer.web._live import follow as follow
from peer.web._serve import PORT_FILE as PORT_FILE
from peer.web._serve import URL_FILE as URL_FILE
from peer.web._serve import read_url as read_url
from peer.web._serve import serve_ui as serve_ui
from peer.web._serve import ui_host as ui_host
from peer.web._session import Access as Access
from peer.web._session import rotate_secret as rotate_secret
