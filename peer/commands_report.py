"""Commands of the report (filled in by its issue)."""

from __future__ import annotations

from typing import Any


def add_commands(sub: Any) -> None:
    """Register this module's subcommands on the top-level parser."""
