"""Build calls for the endpoints that take uploads or no body (images, audio, files, batches, ...).

Multipart forms are parsed by Werkzeug into spooled temporary files (file parts over 500 KB go
to the temp dir, so memory stays flat for any size), checked for their required parts (a
missing ``file`` is a 400 from the gateway, not a provider error), and kept as fields and
files so each target can re-encode them with its own override params. Bodies over
``GATEWAY_MAX_UPLOAD_BYTES`` are refused with a 413, whether they declare a length or are
chunked. Flask closes (and so deletes) the temporary files when the request ends.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import request
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import parse_options_header

from gateway.core.call import Call
from gateway.core.errors import BadRequest, PayloadTooLarge
from gateway.web.incoming import incoming, request_headers, request_options
from gateway.web.state import current_state

MULTIPART = "multipart/form-data"


@dataclass
class Form:
    """A parsed multipart form: text fields and file parts."""

    fields: MultiDict
    files: list[tuple[str, FileStorage]]


def _present(name: str, names: set[str]) -> bool:
    """Whether ``name`` was sent, alone or as an array (``image`` or ``image[]``)."""
    return name in names or f"{name}[]" in names


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"Upload is larger than the limit of {limit} bytes", code="upload_too_large")


def read_form(limit: int, endpoint: str) -> Form:
    """Parse the request's multipart body; raise 400 for another content type or a broken form, 413 over ``limit``."""
    mimetype, options = parse_options_header(request.headers.get("content-type", ""))
    if mimetype.lower() != MULTIPART:
        raise BadRequest(
            f"Invalid content type passed: {endpoint} takes {MULTIPART}, not {mimetype or 'an untyped body'}",
            param="content-type",
            code="invalid_content_type",
        )
    if not options.get("boundary"):
        raise BadRequest(f"Invalid {MULTIPART} body: the content type has no boundary", code="invalid_multipart")
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(limit)
    request.max_content_length = limit
    try:
        fields = request.form
        files = list(request.files.items(multi=True))
    except RequestEntityTooLarge:
        if request.content_length is not None:  # within the limit: a text field or the part count is over its cap
            raise PayloadTooLarge(
                f"A form text field is larger than {request.max_form_memory_size} bytes, "
                f"or the form has more than {request.max_form_parts} parts",
                code="form_part_too_large",
            ) from None
        raise _too_large(limit) from None
    if not fields and not files and request.content_length != 0:
        # Werkzeug drops everything it read when the body is malformed (truncated, wrong boundary).
        raise BadRequest(f"Invalid {MULTIPART} body: no form parts could be read", code="invalid_multipart")
    return Form(fields, files)


def upload_call(fn: str, path: str, files: tuple[str, ...] = ("file",), fields: tuple[str, ...] = ()) -> Call:
    """The call for a multipart endpoint; ``files`` and ``fields`` name the parts it cannot do without."""
    state = current_state()
    headers = request_headers()
    options = request_options(headers)
    form = read_form(state.settings.max_upload_bytes, "/v1" + path)
    file_names = {name for name, _ in form.files}
    field_names = set(form.fields)
    for name in files:
        if _present(name, file_names):
            continue
        if _present(name, field_names):
            raise BadRequest(
                f"Form part '{name}' must be a file upload (with a filename)", param=name, code="invalid_part"
            )
        raise BadRequest(f"Missing required file part: {name}", param=name, code="missing_part")
    for name in fields:
        if not _present(name, field_names):
            raise BadRequest(f"Missing required form field: {name}", param=name, code="missing_part")
    return incoming(fn, path, headers, options, query=True, stream=form.fields.get("stream") == "true", form=form)


def bare_call(fn: str, path: str) -> Call:
    """The call for a GET, DELETE or body-less POST endpoint (the query string is kept, any body is ignored)."""
    headers = request_headers()
    return incoming(fn, path, headers, request_options(headers), query=True)
