"""Build calls for the endpoints that take uploads or no body (images, audio, files, batches, ...).

Multipart forms are parsed by Werkzeug into spooled temporary files (memory stays flat for any
size), checked for their required parts (a missing ``file`` is a 400, not a provider error),
and kept as fields and files so each target can re-encode them with its own override params.
Bodies over ``GATEWAY_MAX_UPLOAD_BYTES`` are refused with a 413.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import request
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from gateway.call import Call
from gateway.endpoint import request_headers, request_options
from gateway.errors import BadRequest, PayloadTooLarge
from gateway.state import current_state


@dataclass
class Form:
    """A parsed multipart form: text fields and file parts."""

    fields: MultiDict
    files: list[tuple[str, FileStorage]]


def upload_call(fn: str, path: str, required: tuple[str, ...]) -> Call:
    """The call for a multipart endpoint; ``required`` names the parts it cannot do without."""
    state = current_state()
    headers = request_headers()
    options = request_options(headers)
    ctype = (request.content_type or "").lower()
    if not ctype.startswith("multipart/form-data"):
        raise BadRequest(
            "Invalid content type passed: this endpoint takes multipart/form-data",
            param="content-type",
            code="invalid_content_type",
        )
    limit = state.settings.max_upload_bytes
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"Upload is larger than the limit of {limit} bytes", code="upload_too_large")
    request.max_content_length = limit
    try:
        fields = request.form
        files = [(name, storage) for name, storage in request.files.items(multi=True)]
    except RequestEntityTooLarge:
        raise PayloadTooLarge(f"Upload is larger than the limit of {limit} bytes", code="upload_too_large") from None
    names = set(fields) | {name for name, _ in files}
    missing = [name for name in required if name not in names]
    if missing:
        raise BadRequest(f"Missing required form part: {missing[0]}", param=missing[0], code="missing_part")
    return Call(
        fn=fn,
        method="POST",
        path=path,
        query=request.query_string.decode("latin-1"),
        headers=headers,
        options=options,
        content_type=ctype,
        form=Form(fields, files),
    )


def bare_call(fn: str, path: str) -> Call:
    """The call for a GET, DELETE or body-less POST endpoint (the query string is kept)."""
    headers = request_headers()
    return Call(
        fn=fn,
        method=request.method,
        path=path,
        query=request.query_string.decode("latin-1"),
        headers=headers,
        options=request_options(headers),
    )
