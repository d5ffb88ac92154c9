"""Similarity of submissions (issue 20): winnowing fingerprints over Pygments tokens, ranked
pairs with their matching regions, rendered as text, html or json. Pure and offline: it
reads what it is given and sends nothing anywhere."""

from ._render import FORMATS as FORMATS
from ._render import Pair as Pair
from ._render import pairs_of as pairs_of
from ._render import render as render
from ._winnow import Program as Program
from ._winnow import Region as Region
from ._winnow import all_hashes as all_hashes
from ._winnow import fingerprint as fingerprint
from ._winnow import similarity as similarity
