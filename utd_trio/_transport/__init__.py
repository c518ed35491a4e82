"""The transport layer: one WebSocket connection (wsproto), its dial and handshake, TLS."""
