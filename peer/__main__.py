"""``python -m peer`` is ``peerclass``."""

import sys

from peer.cli._main import main

sys.exit(main())
