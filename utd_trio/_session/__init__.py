"""The session shell: state across connections, the supervisor (reconnects), event fan-out."""
