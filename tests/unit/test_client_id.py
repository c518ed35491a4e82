"""`new_client_id`: the ``client_id`` of every sent message is a random version-4 UUID."""

from __future__ import annotations

import uuid

from utd_trio._domains._chat import new_client_id


def test_a_client_id_is_a_canonical_random_uuid4_and_never_repeats() -> None:
    ids = [new_client_id() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text  # canonical: lower-case hex, 8-4-4-4-12
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
    # Every one of the 122 random bits varies across the sample.
    ones = 0
    for text in ids:
        ones |= uuid.UUID(text).int
    fixed = (0xF000 << 64) | (0xC000 << 48)
    assert ones | fixed == (1 << 128) - 1
