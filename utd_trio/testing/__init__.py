"""Reference engine for UTD-Stream: a real HTTP + WebSocket server on loopback, for tests."""
