"""Describe one client request as the routing engine sees it, independent of Flask.

A ``Call`` carries the endpoint id (the reference's ``fn``), the path after ``/v1``, the
client's headers and options, and the body: parsed JSON plus its original bytes for JSON
endpoints, or a readable stream for the pass-through and multipart endpoints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import IO, Any

from gateway.core.options import RequestOptions, first_header


@dataclass
class Call:
    """One client request on its way to a provider."""

    fn: str
    method: str
    path: str
    query: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    options: RequestOptions = field(default_factory=RequestOptions)
    body: dict[str, Any] | None = None
    raw: bytes | None = None
    stream_body: IO[bytes] | None = None
    stream: bool = False
    #: How to answer a client that does not speak OpenAI chat (``streaming.client_formats``); None for OpenAI chat.
    format: Any = None
    #: The client's original body when ``body`` holds its chat translation (Messages, Responses).
    client_body: dict[str, Any] | None = None
    client_raw: bytes | None = None
    #: Client fields the translation to chat dropped (no equivalent); named in ``x-portkey-unmapped-params``
    #: when the chat body is what a provider got (not on native relays, which get the client's body).
    unmapped: list[str] = field(default_factory=list)
    #: A parsed multipart form (``gateway.web.upload_calls.Form``) for upload endpoints.
    form: Any = None
    #: The request's observation (``gateway.observability.request.Observation``): attempts report to it; or None.
    trace: Any = field(default=None, repr=False, compare=False)

    @property
    def unified_fn(self) -> str:
        """The endpoint providers are asked for: chat for clients served through the chat layer."""
        return "chatComplete" if self.format is not None else self.fn

    @property
    def model(self) -> str | None:
        """The requested model, when the body names one."""
        if isinstance(self.body, dict):
            model = self.body.get("model")
            return model if isinstance(model, str) else None
        return None

    def header(self, name: str) -> str | None:
        """Return the first client header called ``name`` (case-insensitive)."""
        return first_header(self.headers, name)
