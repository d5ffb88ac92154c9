"""``python -m peer`` is ``peerclass``."""

import sys

from peer.cli import main

sys.exit(main())
