"""The domain components of `Signaling`.

Presence, calls, chat (typing, recovery), groups, media, channels.
"""
