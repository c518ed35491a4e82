"""Where the CLI's output goes, and what happens when its reader goes away.

``utd-trio demo --json | head -5`` closes the pipe while the command still writes. Writing
then raises `BrokenPipeError`; the output layer turns it into `OutputClosed`, the command
unwinds (its sessions close as on Ctrl-C), and ``main`` points stdout at ``/dev/null`` (as the
Python documentation advises, so the interpreter's last flush cannot fail either) and exits
with `EXIT_BROKEN_PIPE`, silently.

Why 141 and not 0: it is what a shell reports for ``yes | head -1`` (128 + SIGPIPE), so a
script under ``set -o pipefail`` can tell a cut-short output from a complete one, as with any
other Unix tool. The default SIGPIPE action is not restored instead: it would also kill the
process on a socket peer that goes away mid-write.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

__all__ = ["EXIT_BROKEN_PIPE", "OutputClosed", "involves", "silence_stdout", "write_line"]

EXIT_BROKEN_PIPE = 141
"""The exit status when stdout's reader closed early (128 + SIGPIPE, as a shell shows it)."""


class OutputClosed(Exception):
    """The reader of stdout went away (EPIPE): the command stops quietly."""


def write_line(out: TextIO, text: str) -> None:
    """Write ``text`` and a newline to ``out`` and flush; `OutputClosed` when nobody reads."""
    try:
        out.write(text + "\n")
        out.flush()
    except BrokenPipeError:
        raise OutputClosed from None


def involves(error: BaseException, *kinds: type[BaseException]) -> bool:
    """Whether ``error`` is one of ``kinds``, or an exception group holding one."""
    if isinstance(error, kinds):
        return True
    members: tuple[BaseException, ...] = getattr(error, "exceptions", ())
    return issubclass(type(error), BaseExceptionGroup) and any(
        involves(member, *kinds) for member in members
    )


def silence_stdout() -> None:
    """Point file descriptor 1 at ``/dev/null`` so no later flush raises (Python docs' recipe)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real stdout (e.g. replaced in tests): nothing to do
        pass
