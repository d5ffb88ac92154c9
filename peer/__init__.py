"""peerclass peer: identity, events, discovery, transport, sync and the CLI."""
