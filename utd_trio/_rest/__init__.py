"""The REST layer: `UTDApi` (httpx), its endpoints, reply decoding and uploads."""
