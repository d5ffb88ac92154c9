"""The signed log format: events, their canonical encoding, the clock, every kind's body
schema, and sealing to named recipients. No Trio, no SQL: everything here is pure."""

from peer.log import hlc as hlc
from peer.log._chat import REVISION_KINDS as REVISION_KINDS
from peer.log._checks import CONTROL_RE as CONTROL_RE
from peer.log._checks import MAX_CHAT_TEXT as MAX_CHAT_TEXT
from peer.log._checks import check_room as check_room
from peer.log._checks import normalize_newlines as normalize_newlines
from peer.log._codec import pack as pack
from peer.log._codec import unpack as unpack
from peer.log._curriculum import DEFAULT_LANGUAGES as DEFAULT_LANGUAGES
from peer.log._curriculum import DEFAULT_LATE_POLICY as DEFAULT_LATE_POLICY
from peer.log._curriculum import LATE_POLICIES as LATE_POLICIES
from peer.log._curriculum import MAX_CHECK_DETAIL as MAX_CHECK_DETAIL
from peer.log._curriculum import MAX_SOLUTION_BYTES as MAX_SOLUTION_BYTES
from peer.log._curriculum import REVIEW_MODES as REVIEW_MODES
from peer.log._curriculum import VERDICTS as VERDICTS
from peer.log._curriculum import Example as Example
from peer.log._curriculum import check_tag as check_tag
from peer.log._curriculum import is_late as is_late
from peer.log._curriculum import validate_feedback_inner as validate_feedback_inner
from peer.log._curriculum import validate_submission_inner as validate_submission_inner
from peer.log._events import Event as Event
from peer.log._events import decode_event as decode_event
from peer.log._events import event_id as event_id
from peer.log._events import make_event as make_event
from peer.log._kinds import validate_body as validate_body
from peer.log._private import seal as seal
from peer.log._private import unseal as unseal
from peer.log._roster import TOKEN_HASH_SIZE as TOKEN_HASH_SIZE
from peer.log._roster import TOKEN_SIZE as TOKEN_SIZE
from peer.log._roster import validate_join_inner as validate_join_inner
from peer.log._sealing import decrypt_body as decrypt_body
from peer.log._sealing import open_envelope as open_envelope
from peer.log._sealing import open_key as open_key
from peer.log._sealing import seal_body as seal_body
from peer.log._sealing import seal_key as seal_key
