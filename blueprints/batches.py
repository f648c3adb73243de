"""Serve the Batch API: create, list, retrieve, cancel, and download a batch's output."""

from __future__ import annotations

from flask import Blueprint, Response

from gateway.web.incoming import json_call
from gateway.web.render import dispatch
from gateway.web.upload_calls import bare_call
from translators.formats import endpoint_schemas

bp = Blueprint("batches", __name__)


@bp.post("/v1/batches")
def create() -> Response:
    """Create a batch."""
    return dispatch(json_call("createBatch", "/batches", endpoint_schemas.batch))


@bp.get("/v1/batches")
def list_batches() -> Response:
    """List batches."""
    return dispatch(bare_call("listBatches", "/batches"))


@bp.get("/v1/batches/<batch_id>")
def retrieve(batch_id: str) -> Response:
    """Retrieve a batch."""
    return dispatch(bare_call("retrieveBatch", f"/batches/{batch_id}"))


@bp.post("/v1/batches/<batch_id>/cancel")
def cancel(batch_id: str) -> Response:
    """Cancel a batch."""
    return dispatch(bare_call("cancelBatch", f"/batches/{batch_id}/cancel"))


@bp.get("/v1/batches/<batch_id>/output")
def output(batch_id: str) -> Response:
    """Download a finished batch's output file (its error file when it has no output), streamed."""
    return dispatch(bare_call("getBatchOutput", f"/batches/{batch_id}/output"))
