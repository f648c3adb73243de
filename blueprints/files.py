"""Serve the Files API: upload, list, retrieve, delete and download (streamed both ways)."""

from __future__ import annotations

from flask import Blueprint, Response

from gateway.web.render import dispatch
from gateway.web.upload_calls import bare_call, upload_call

bp = Blueprint("files", __name__)


@bp.post("/v1/files")
def upload() -> Response:
    """Upload a file (multipart, any size up to the upload limit)."""
    return dispatch(upload_call("uploadFile", "/files", files=("file",), fields=("purpose",)))


@bp.get("/v1/files")
def list_files() -> Response:
    """List files."""
    return dispatch(bare_call("listFiles", "/files"))


@bp.get("/v1/files/<file_id>")
def retrieve(file_id: str) -> Response:
    """Retrieve a file's metadata."""
    return dispatch(bare_call("retrieveFile", f"/files/{file_id}"))


@bp.delete("/v1/files/<file_id>")
def delete(file_id: str) -> Response:
    """Delete a file."""
    return dispatch(bare_call("deleteFile", f"/files/{file_id}"))


@bp.get("/v1/files/<file_id>/content")
def content(file_id: str) -> Response:
    """Download a file's content, streamed."""
    return dispatch(bare_call("retrieveFileContent", f"/files/{file_id}/content"))
