"""Serve fine-tuning jobs: create, list, retrieve, cancel, events and checkpoints."""

from __future__ import annotations

from flask import Blueprint, Response

from gateway.web.incoming import json_call
from gateway.web.render import dispatch
from gateway.web.upload_calls import bare_call
from translators.formats import endpoint_schemas

bp = Blueprint("fine_tuning", __name__)


@bp.post("/v1/fine_tuning/jobs")
def create() -> Response:
    """Create a fine-tuning job."""
    return dispatch(json_call("createFinetune", "/fine_tuning/jobs", endpoint_schemas.fine_tune))


@bp.get("/v1/fine_tuning/jobs")
def list_jobs() -> Response:
    """List fine-tuning jobs."""
    return dispatch(bare_call("listFinetunes", "/fine_tuning/jobs"))


@bp.get("/v1/fine_tuning/jobs/<job_id>")
def retrieve(job_id: str) -> Response:
    """Retrieve a fine-tuning job."""
    return dispatch(bare_call("retrieveFinetune", f"/fine_tuning/jobs/{job_id}"))


@bp.post("/v1/fine_tuning/jobs/<job_id>/cancel")
def cancel(job_id: str) -> Response:
    """Cancel a fine-tuning job."""
    return dispatch(bare_call("cancelFinetune", f"/fine_tuning/jobs/{job_id}/cancel"))


@bp.get("/v1/fine_tuning/jobs/<job_id>/<any(events, checkpoints):what>")
def job_details(job_id: str, what: str) -> Response:
    """List a job's events or checkpoints."""
    return dispatch(bare_call("retrieveFinetune", f"/fine_tuning/jobs/{job_id}/{what}"))
