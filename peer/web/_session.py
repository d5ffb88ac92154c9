"""Who may use the UI: one-time sign-in tokens and signed browser sessions.

The master secret is never a cookie. A random session secret lives in the data dir (0600);
from it come
- sign-in tokens (``issued.nonce.mac``) for the printed URL: each works once, as Jupyter's
  printed URL does, and only for :data:`TOKEN_LIFETIME`; the nonces already used are kept in
  the data dir so that a restart does not make a used token good again;
- session cookies (``sid.mac``): an HMAC-signed random id, so a signed-in browser stays signed
  in across restarts of the same data dir, and every one of them ends when the secret is
  rotated (``peerclass ui --sign-out-all``);
- the CSRF token of each session.
The running peer notices a rotated secret on the next request (it looks at the file's
identity each time: one ``stat``).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import time
from pathlib import Path

import attrs

SECRET_FILE = "ui-secret"
USED_FILE = "ui-signins.json"
#: A printed sign-in URL that nobody opened stops working after this long (seconds).
TOKEN_LIFETIME = 7 * 86_400


def _mac(secret: bytes, purpose: str, value: str, size: int = 32) -> str:
    return hmac.new(secret, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()[:size]


def _write_private(path: Path, data: str) -> None:
    """Replace ``path`` atomically with a file only its owner can read."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(data)
    tmp.replace(path)


def rotate_secret(data_dir: Path) -> None:
    """A new session secret: every browser session and unused sign-in URL stops working."""
    _write_private(data_dir / SECRET_FILE, secrets.token_hex(32) + "\n")
    with contextlib.suppress(FileNotFoundError):
        (data_dir / USED_FILE).unlink()


@attrs.define(eq=False)
class SecretSource:
    """The session secret of a data dir (created on first use), reloaded when rotated."""

    data_dir: Path | None
    _secret: bytes = b""
    _identity: tuple[int, int, int] | None = None

    def get(self) -> bytes:
        if self.data_dir is None:
            return self._secret
        path = self.data_dir / SECRET_FILE
        try:
            st = path.stat()
        except FileNotFoundError:
            rotate_secret(self.data_dir)
            st = path.stat()
        identity = (st.st_ino, st.st_mtime_ns, st.st_size)
        if identity != self._identity:
            self._secret = bytes.fromhex(path.read_text(encoding="utf-8").strip())
            self._identity = identity
        return self._secret


def read_int_map(path: Path | None) -> dict[str, int]:
    """A small ``{name: integer}`` JSON file the UI keeps in the data dir; a missing, damaged
    or foreign one reads as empty (it only ever holds marks the UI can make again)."""
    if path is None:
        return {}
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(found, dict):
        return {}
    return {str(k): v for k, v in found.items() if isinstance(v, int)}


@attrs.define(eq=False)
class UsedNonces:
    """Sign-in nonces already redeemed (younger than the token lifetime), kept on disk."""

    path: Path | None
    used: dict[str, int] = attrs.field(factory=dict)

    @classmethod
    def load(cls, path: Path | None) -> UsedNonces:
        return cls(path, read_int_map(path))

    def take(self, nonce: str, issued: int, now: int) -> bool:
        """Mark ``nonce`` used; False if it already was."""
        if self.path is not None:  # another run of the peer may have used one since
            self.used.update(UsedNonces.load(self.path).used)
        if nonce in self.used:
            return False
        self.used = {n: t for n, t in self.used.items() if t > now - TOKEN_LIFETIME}
        self.used[nonce] = issued
        if self.path is not None:
            _write_private(self.path, json.dumps(self.used))
        return True


@attrs.define(eq=False)
class Access:
    """Sign-in tokens, sessions and CSRF tokens of one data dir's UI."""

    secret: SecretSource
    used: UsedNonces

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> Access:
        """The UI access of a data dir; makes its session secret (0600) if it has none."""
        secret = SecretSource(data_dir)
        secret.get()
        return cls(secret, UsedNonces.load(data_dir / USED_FILE))

    @classmethod
    def in_memory(cls, secret: bytes | None = None) -> Access:
        """Nothing on disk (unit tests, benches)."""
        return cls(SecretSource(None, secret or secrets.token_bytes(32)), UsedNonces(None))

    # -- sign-in tokens ---------------------------------------------------------------------

    def mint(self, now: float | None = None) -> str:
        """A fresh one-time sign-in token for a printed URL."""
        issued = str(int(time.time() if now is None else now))
        nonce = secrets.token_urlsafe(16)
        return f"{issued}.{nonce}.{_mac(self.secret.get(), 'signin', issued + '.' + nonce)}"

    def redeem(self, token: str | None, now: float | None = None) -> str | None:
        """A new session's cookie value for a good, unused, unexpired token (which is then
        used up); None otherwise."""
        if not token or token.count(".") != 2:
            return None
        issued, nonce, mac = token.split(".")
        expected = _mac(self.secret.get(), "signin", issued + "." + nonce)
        if not hmac.compare_digest(mac.encode(), expected.encode()) or not issued.isdigit():
            return None
        at = int(time.time() if now is None else now)
        if not at - TOKEN_LIFETIME <= int(issued) <= at + 300:
            return None
        if not self.used.take(nonce, int(issued), at):
            return None
        return self.new_session()

    # -- sessions ---------------------------------------------------------------------------

    def new_session(self) -> str:
        sid = secrets.token_urlsafe(18)
        return f"{sid}.{_mac(self.secret.get(), 'session', sid)}"

    def session_of(self, cookie: str | None) -> str | None:
        """The session id of a cookie value signed with the current secret, else None."""
        if not cookie or cookie.count(".") != 1:
            return None
        sid, mac = cookie.split(".")
        expected = _mac(self.secret.get(), "session", sid)
        return sid if hmac.compare_digest(mac.encode(), expected.encode()) else None

    def csrf(self, sid: str) -> str:
        return _mac(self.secret.get(), "csrf", sid, 40)

    def csrf_ok(self, sid: str | None, given: str | None) -> bool:
        if sid is None or given is None:
            return False
        return hmac.compare_digest(given.encode(), self.csrf(sid).encode())
