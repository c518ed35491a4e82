"""Compact JSON text with one encoder built once (the outbound frames and the metadata check).

``json.JSONEncoder.encode`` builds a new C encoder on every call: about 1.5 µs of the 4 µs a
``message.send`` frame takes to encode (issue 18, the round trip). `compact_encoder` builds it
once and calls it directly. The text is what ``JSONEncoder(separators=(",", ":"),
allow_nan=False, ensure_ascii=...)`` writes, with one difference: there is no check for
circular references, so such data raises RecursionError (as data nested too deep always did)
instead of ValueError; every caller refuses both.

Where the C accelerator is missing (another interpreter), or does not write for a sample of
every JSON type the text ``JSONEncoder.encode`` writes, or writes NaN, the encoder is
``JSONEncoder.encode`` itself.
"""

from __future__ import annotations

import json
import json.encoder
from collections.abc import Callable
from typing import Any

__all__ = ["compact_encoder"]

_SAMPLE: dict[object, object] = {
    "s": 'a "quoted" \\ line\n\t\x00 é 😀',
    "n": [0, -1, 2**70, 1.5, -0.0, 1e300],
    "b": [True, False, None],
    "nest": {"k": [{"": []}], "": ()},
    7: "int key",
}
# What ``JSONEncoder.encode`` writes for `_SAMPLE`, per ``ensure_ascii`` (fixed here, so the
# check does not depend on the module it checks).
_WRITTEN = (
    '{"s":"a \\"quoted\\" \\\\ line\\n\\t\\u0000 %s",'
    '"n":[0,-1,1180591620717411303424,1.5,-0.0,1e+300],"b":[true,false,null],'
    '"nest":{"k":[{"":[]}],"":[]},"7":"int key"}'
)
_EXPECTED = {True: _WRITTEN % "\\u00e9 \\ud83d\\ude00", False: _WRITTEN % "é 😀"}


def compact_encoder(*, ensure_ascii: bool) -> Callable[[Any], str]:
    """A function writing compact JSON (no spaces, no NaN) with the given ``ensure_ascii``.

    It raises as ``JSONEncoder.encode`` does: TypeError for what JSON cannot hold,
    ValueError for NaN and infinities, RecursionError for nesting too deep or circular.
    """
    reference = json.JSONEncoder(separators=(",", ":"), allow_nan=False, ensure_ascii=ensure_ascii)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return reference.encode
    strings = (
        json.encoder.encode_basestring_ascii if ensure_ascii else json.encoder.encode_basestring
    )
    try:
        # (markers, default, encoder, indent, key_separator, item_separator, sort_keys,
        #  skipkeys, allow_nan): what JSONEncoder.iterencode passes, without the markers.
        iterencode = make(None, reference.default, strings, None, ":", ",", False, False, False)
    except Exception:  # a C signature this module does not know
        return reference.encode
    join = "".join

    def encode(value: Any) -> str:
        return join(iterencode(value, 0))

    return encode if _same(encode, _EXPECTED[ensure_ascii]) else reference.encode


def _same(encode: Callable[[Any], str], expected: str) -> bool:
    """True when ``encode`` writes ``expected`` for `_SAMPLE` and refuses NaN."""
    try:
        if encode(_SAMPLE) != expected:
            return False
    except Exception:
        return False
    try:
        encode({"x": float("nan")})
    except ValueError:
        return True
    except Exception:
        return False
    return False  # NaN was written
