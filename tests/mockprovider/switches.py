"""Parse the mock's behaviour switches from a ``/s/<switches>/`` path segment.

Switches (comma separated ``name=value``):

``id``             scenario id; requests are recorded under it (default ``default``)
``status``         answer every request with this error status (OpenAI error body)
``fail_times``     with ``status``: fail only the first N requests of this id, then succeed
``retry_after``    send ``retry-after: <value>`` on errors (seconds or an HTTP date)
``retry_after_ms`` send ``retry-after-ms: <value>`` on errors
``delay_ms``       wait before sending the response headers
``chunks``         number of content chunks in a stream (default 5)
``chunk_delay_ms`` wait between stream chunks
``cut_after``      drop the connection after N chunks, in the middle of an event
``stall_after``    stop sending after N chunks and hold the connection for ``stall_ms`` (default 30000)
``no_done``        end a stream cleanly without ``data: [DONE]`` (and without a finish_reason)
``crlf``           use ``\\r\\n`` line ends in streams
``split``          write each event in two pieces, split inside the JSON
``text``           the answer's text (default: echo of the last user message)
``tool_calls``     answer with N parallel tool calls
``error_after``    native streams: send an in-band error event after N frames
``cache_read``     report N cached prompt tokens (providers with prompt caching)
``encoding``       ``gzip`` or ``deflate``: compress the answer (JSON or stream) with ``Content-Encoding``
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Switches:
    id: str = "default"
    status: int = 0
    fail_times: int = -1
    retry_after: str = ""
    retry_after_ms: str = ""
    delay_ms: float = 0
    chunks: int = 5
    chunk_delay_ms: float = 0
    cut_after: int = -1
    stall_after: int = -1
    stall_ms: float = 30000
    no_done: bool = False
    crlf: bool = False
    split: bool = False
    text: str = ""
    tool_calls: int = 0
    error_after: int = -1
    cache_read: int = 0
    encoding: str = ""


_INT = {"status", "fail_times", "chunks", "cut_after", "stall_after", "tool_calls", "error_after", "cache_read"}
_FLOAT = {"delay_ms", "chunk_delay_ms", "stall_ms"}
_BOOL = {"no_done", "crlf", "split"}


def parse(segment: str) -> Switches:
    """Parse ``a=1,b=2`` into ``Switches`` (unknown names raise ValueError)."""
    sw = Switches()
    for item in filter(None, segment.split(",")):
        name, _, value = item.partition("=")
        if not hasattr(sw, name):
            raise ValueError(f"unknown mock switch {name!r}")
        if name in _INT:
            setattr(sw, name, int(value))
        elif name in _FLOAT:
            setattr(sw, name, float(value))
        elif name in _BOOL:
            setattr(sw, name, value.lower() not in ("0", "false", "no"))
        else:
            setattr(sw, name, value)
    return sw
