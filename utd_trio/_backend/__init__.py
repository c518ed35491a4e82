"""The one seam between the library and the event loop it runs on.

Everything above this folder is written against anyio (task groups, cancel scopes, events,
``anyio.current_time``), so the same code runs under ``trio.run`` and ``asyncio.run``. What
anyio would make slower on a hot path is chosen here once per session, at run time, from the
running loop (as httpcore's ``_backends/auto.py`` does):

- `open_stream`: the TCP (+TLS) byte stream under a WebSocket — Trio's own
  ``SocketStream``/``SSLStream`` on Trio, an asyncio transport and protocol on asyncio;
  both can offer arrivals to a sink before the reader wakes (asyncio in the transport's
  callback, Trio over TCP in one poller task per run: `_trio_arrivals`);
- `Waiter`: a request's reply slot with its timeout — ``trio.Event`` under Trio's own
  ``move_on_after``, a future with a ``call_later`` timer on asyncio;
- `current_clock`: the loop's clock function, looked up once, not per call;
- `ParkingLot`: the wake-up primitive of the event streams — ``trio.lowlevel.ParkingLot`` on
  Trio, a futures-based lot on asyncio (anyio has none, and ``anyio.Event`` per wait costs an
  allocation and a backend lookup each time);
- `Latch`, `Pulse`: a one-shot flag and a "changed" signal whose ``anyio.Event`` is made only
  when a task waits (an idle session keeps none);
- `create_task_group`: a ``trio.Nursery`` on Trio (anyio's group wraps each task in a handle
  with its own cancel scope and event), anyio's task group on asyncio.
"""

from ._lazy_events import Latch, Pulse
from ._lot import ParkingLot
from ._select import Backend, current_backend, current_clock
from ._streams import open_stream
from ._streams_base import ByteStream, StreamBroken
from ._task_group import TaskGroup, create_task_group
from ._waiter import Waiter

__all__ = [
    "Backend",
    "ByteStream",
    "Latch",
    "ParkingLot",
    "Pulse",
    "StreamBroken",
    "TaskGroup",
    "Waiter",
    "create_task_group",
    "current_backend",
    "current_clock",
    "open_stream",
]
