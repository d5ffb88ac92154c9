"""A peer's identity key and its class membership, kept as owner-only files in the data dir."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import os
import re
import secrets
import stat
from pathlib import Path

import attrs
import nacl.signing

from peer.errors import UsageError, ValidationError
from peer.log import TOKEN_SIZE, pack, unpack

IDENTITY_FILE = "identity.key"
CLASS_FILE = "class.json"
#: An identity restored from its recovery phrase alone, waiting for ``init --invite`` to
#: put it in its class (issue 22); nothing has been signed with it in this data dir.
PHRASE_RESTORED = "identity.restored"
INVITE_PREFIX = "pc1."
_INVITE_VERSION = 1
#: A one-student invite (issue 10): the class fields, then an admission token and a name.
_ADMIT_VERSION = 2
CLASS_ID_SIZE = 16
SECRET_SIZE = 32
#: The instructor's last known addresses an invite may carry (issue 21), at most this many.
MAX_INVITE_ADDRESSES = 8
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*$"
)

Address = tuple[str, int]


def short_id(key: bytes) -> str:
    """The first 8 hex digits of an id: what people see."""
    return key.hex()[:8]


@attrs.frozen
class ClassInfo:
    """What a member knows of its class: the invite's content."""

    class_id: bytes
    name: str
    secret: bytes = attrs.field(repr=False)
    instructor: bytes
    #: Where the instructor's peer last listened, as its invite said (issue 21): a student
    #: who hears no beacon dials these. Hints, not identity: not compared.
    addresses: tuple[Address, ...] = attrs.field(default=(), eq=False)

    def invite(
        self,
        token: bytes | None = None,
        for_name: str | None = None,
        addresses: tuple[Address, ...] | list[Address] = (),
    ) -> str:
        """The string an instructor hands to students: class id, name, secret, instructor key;
        a one-student invite adds the admission token and the name it admits (issue 10); the
        instructor's last known addresses follow when there are any (issue 21; an invite
        without them stays as it was, so older invites and older peers agree)."""
        fields: list[object] = [
            _INVITE_VERSION,
            self.class_id,
            self.name,
            self.secret,
            self.instructor,
        ]
        if token is not None:
            fields = [_ADMIT_VERSION, *fields[1:], token, for_name]
        kept = [check_address(h, p) for h, p in list(addresses)[:MAX_INVITE_ADDRESSES]]
        if kept:
            fields.append([[h, p] for h, p in kept])
        payload = pack(fields)
        check = hashlib.blake2b(payload, digest_size=4).digest()
        return INVITE_PREFIX + base64.urlsafe_b64encode(payload + check).decode().rstrip("=")

    @classmethod
    def from_invite(cls, invite: str) -> ClassInfo:
        """Parse an invite, saying what is wrong with a mistyped or truncated one."""
        return parse_invite(invite)[0]

    @classmethod
    def create(cls, name: str, instructor: bytes) -> ClassInfo:
        return cls(secrets.token_bytes(CLASS_ID_SIZE), name, secrets.token_bytes(32), instructor)


def parse_invite(invite: str) -> tuple[ClassInfo, bytes | None]:
    """The class an invite names and, for a one-student invite, its admission token."""
    invite = invite.strip()
    if not invite.startswith(INVITE_PREFIX):
        raise UsageError(f"invite must start with {INVITE_PREFIX!r}")
    text = invite[len(INVITE_PREFIX) :]
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        raise UsageError("invite is not valid base64url text") from None
    payload, check = data[:-4], data[-4:]
    if len(data) < 5 or hashlib.blake2b(payload, digest_size=4).digest() != check:
        raise UsageError("invite is damaged (its checksum does not match); copy it again")
    try:
        fields = unpack(payload, what="invite")
    except ValidationError as exc:
        raise UsageError(str(exc)) from None
    token = None
    addresses: tuple[Address, ...] = ()
    if isinstance(fields, list) and (
        (len(fields) == 6 and fields[0] == _INVITE_VERSION)
        or (len(fields) == 8 and fields[0] == _ADMIT_VERSION)
    ):
        addresses = _invite_addresses(fields[-1])
        fields = fields[:-1]
    if isinstance(fields, list) and len(fields) == 7 and fields[0] == _ADMIT_VERSION:
        token = fields[5]
        if not isinstance(token, bytes) or len(token) != TOKEN_SIZE:
            raise UsageError("invite's admission token is malformed")
        fields = [_INVITE_VERSION, *fields[1:5]]
    if not isinstance(fields, list) or len(fields) != 5 or fields[0] != _INVITE_VERSION:
        raise UsageError("invite is of an unknown version")
    _, class_id, name, secret, instructor = fields
    if not (
        isinstance(class_id, bytes)
        and len(class_id) == CLASS_ID_SIZE
        and isinstance(name, str)
        and isinstance(secret, bytes)
        and len(secret) == SECRET_SIZE
        and isinstance(instructor, bytes)
        and len(instructor) == 32
    ):
        raise UsageError("invite fields are malformed")
    return ClassInfo(class_id, name, secret, instructor, addresses), token


def check_address(host: object, port: object) -> Address:
    """A dialable HOST:PORT: an IP address or a host name, and a port 1..65535 (UsageError
    saying which part is wrong)."""
    if not isinstance(host, str):
        raise UsageError("address host is not text")
    try:
        host = str(ipaddress.ip_address(host))
    except ValueError:
        if not _HOSTNAME.match(host):
            raise UsageError(f"{host[:60]!r} is not an IP address or host name") from None
    if type(port) is not int or not 1 <= port <= 65535:
        raise UsageError(f"port {port!r} is out of range")
    return host, port


def _invite_addresses(value: object) -> tuple[Address, ...]:
    if not isinstance(value, list) or len(value) > MAX_INVITE_ADDRESSES:
        raise UsageError("invite's instructor addresses are malformed")
    out = []
    for entry in value:
        if not (isinstance(entry, list) and len(entry) == 2):
            raise UsageError("invite's instructor addresses are malformed")
        try:
            out.append(check_address(entry[0], entry[1]))
        except UsageError as exc:
            raise UsageError(f"invite's instructor address: {exc}") from None
    return tuple(out)


def _write_private(path: Path, data: bytes) -> None:
    """Create ``path`` readable by its owner only; refuse to overwrite."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


@attrs.frozen
class Membership:
    """Identity plus class: everything ``peerclass init`` made in a data dir."""

    signing_key: nacl.signing.SigningKey = attrs.field(repr=False)
    klass: ClassInfo
    #: This identity's role on the roster, where a store was read (``peer.cli._core``): a
    #: co-instructor or TA holds it by the founder's authority (DESIGN §10).
    role: str | None = None

    @property
    def peer_id(self) -> bytes:
        return bytes(self.signing_key.verify_key)

    @property
    def is_founder(self) -> bool:
        """The class key itself: the instructor who created the class."""
        return self.peer_id == self.klass.instructor

    @property
    def is_instructor(self) -> bool:
        """The founder, or an identity the roster names instructor."""
        return self.is_founder or self.role == "instructor"

    @property
    def is_staff(self) -> bool:
        """An instructor or a TA: who is sealed "to the instructor"."""
        return self.is_instructor or self.role == "ta"


def has_identity(data_dir: Path) -> bool:
    return (data_dir / IDENTITY_FILE).exists()


def new_signing_key() -> nacl.signing.SigningKey:
    return nacl.signing.SigningKey.generate()


def save_membership(data_dir: Path, membership: Membership) -> None:
    """Write the key and class files (mode 0600); the data dir itself is made owner-only."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    if has_identity(data_dir):
        raise UsageError(f"{data_dir} already has an identity; nothing was changed")
    klass = membership.klass
    class_doc = {
        "class_id": klass.class_id.hex(),
        "name": klass.name,
        "secret": klass.secret.hex(),
        "instructor": klass.instructor.hex(),
    }
    if klass.addresses:
        class_doc["addresses"] = [f"{h}:{p}" for h, p in klass.addresses]  # type: ignore[assignment]
    _write_private(data_dir / CLASS_FILE, json.dumps(class_doc, indent=2).encode())
    _write_private(data_dir / IDENTITY_FILE, bytes(membership.signing_key))


def load_membership(data_dir: Path) -> Membership:
    """Read the identity and class files, with a clear error if they are missing or damaged."""
    key_path = data_dir / IDENTITY_FILE
    if not key_path.exists():
        raise UsageError(f"no identity in {data_dir}; run 'peerclass init' first")
    seed = key_path.read_bytes()
    if len(seed) != 32:
        raise UsageError(f"{key_path} is damaged: expected 32 bytes, found {len(seed)}")
    try:
        doc = json.loads((data_dir / CLASS_FILE).read_text())
        klass = ClassInfo(
            bytes.fromhex(doc["class_id"]),
            str(doc["name"]),
            bytes.fromhex(doc["secret"]),
            bytes.fromhex(doc["instructor"]),
            _saved_addresses(doc.get("addresses", [])),
        )
    except (OSError, ValueError, KeyError, TypeError, UsageError) as exc:
        raise UsageError(f"{data_dir / CLASS_FILE} is missing or damaged: {exc}") from None
    return Membership(nacl.signing.SigningKey(seed), klass)


def _saved_addresses(value: object) -> tuple[Address, ...]:
    """The invite's addresses as ``class.json`` keeps them ("host:port" texts)."""
    if not isinstance(value, list):
        raise ValueError("addresses is not a list")
    out = []
    for text in value[:MAX_INVITE_ADDRESSES]:
        host, _, port = str(text).rpartition(":")
        out.append(check_address(host.strip("[]"), int(port)))
    return tuple(out)


def loose_permissions(data_dir: Path) -> list[str]:
    """Names of key files (or the dir) that others than the owner can read."""
    found = []
    for path in (data_dir, data_dir / IDENTITY_FILE, data_dir / CLASS_FILE):
        if path.exists() and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            found.append(str(path))
    return found
