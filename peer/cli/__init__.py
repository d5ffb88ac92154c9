"""The ``peerclass`` command line: argument parsing, one module per command group, the
terminal console and output formatting. Nothing else imports this package."""

from peer.cli._main import build_parser as build_parser
from peer.cli._main import main as main
