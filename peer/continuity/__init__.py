"""Nothing is lost when a laptop is (issue 22): the passphrase-sealed backup file and the
recovery phrase. Pure: bytes in, bytes out; the command line reads and writes the files and
the store. Depends on PyNaCl, msgpack and ``mnemonic`` (BIP-39's English word list) only."""

from peer.continuity._bundle import KDF_LIMITS as KDF_LIMITS
from peer.continuity._bundle import Backup as Backup
from peer.continuity._bundle import open_backup as open_backup
from peer.continuity._bundle import seal_backup as seal_backup
from peer.continuity._phrase import new_phrase as new_phrase
from peer.continuity._phrase import seed_from_phrase as seed_from_phrase
