"""OpenAI and Azure OpenAI realtime over WebSocket, served on the raw gunicorn socket.

Routes: ``GET /v1/realtime`` (OpenAI: ``Authorization: Bearer``, ``model`` query),
``GET /openai/realtime`` (Azure: ``api-key`` or a bearer token the Azure mock issued, with
``api-version`` and ``deployment``) and ``GET /openai/v1/realtime`` (Azure GA: ``model``).
Refusals come before the upgrade, as the real services answer them: 401 for a missing or bad key
(``sk-bad...`` / ``bad-key``), 400 for a missing model or deployment, and the ``status`` switch;
bodies in the provider's error shape. The handshake itself is websockets' sans-I/O server, so
the gateway's wsproto client is checked against an independent implementation.

After the upgrade the mock sends ``session.created`` and answers (GA event names; with
``OpenAI-Beta: realtime=v1`` or the ``openai-beta.realtime-v1`` subprotocol, the beta names
``conversation.item.created`` and ``response.text.*``): ``session.update`` -> ``session.updated``;
``conversation.item.create`` -> ``conversation.item.added`` + ``conversation.item.done``;
``response.create`` -> ``response.created``, ``response.output_item.added``,
``response.content_part.added``, ``chunks`` x ``response.output_text.delta`` (the ``text`` switch,
else ``echo: <last user text>``), ``response.output_text.done``, ``response.content_part.done``,
``response.output_item.done``, ``response.done`` with usage. Binary messages are echoed;
``{"type": "mock.close", "code": N, "reason": R}`` makes the mock close first; anything else gets
an ``error`` event. ``/_mock/events?id=`` records ``ws_open`` (subprotocol), ``ws_message`` (type,
or ``binary`` with its size) and ``ws_closed`` (code, reason, ``by`` client, server or eof).
"""

from __future__ import annotations

import itertools
import socket
from contextlib import suppress
from typing import Any

import orjson
from flask import Blueprint, Response, request
from websockets.frames import Close, Opcode
from websockets.protocol import State
from websockets.server import ServerProtocol

from tests.mockprovider import azure as azure_mock
from tests.mockprovider.answers import split
from tests.mockprovider.common import begin, json_response, note, switches
from tests.mockprovider.switches import Switches

bp = Blueprint("mock_realtime", __name__)
_ids = itertools.count(1)
MODEL = "gpt-realtime"


class _Closed(StopIteration):
    """Raised to gunicorn after a session: close the connection without writing a response."""


class _SessionResponse(Response):
    def __init__(self, session: "_Session") -> None:
        super().__init__(status=101)
        self.session = session

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        try:
            self.session.run()
        finally:
            self.session.close_socket()
        raise _Closed("mock realtime session ended")


def _eid(prefix: str = "event") -> str:
    return f"{prefix}_{next(_ids):06d}"


def _openai_refusal(status: int, message: str, code: str | None, kind: str = "invalid_request_error") -> Response:
    return json_response({"error": {"message": message, "type": kind, "param": None, "code": code}}, status)


def _beta() -> bool:
    protocols = request.headers.get("sec-websocket-protocol", "")
    return request.headers.get("openai-beta", "") == "realtime=v1" or "openai-beta.realtime-v1" in protocols


def _select(protocol: ServerProtocol, offered: Any) -> str | None:
    return "realtime" if "realtime" in offered else None


class _Session:
    """One accepted realtime session: websockets' server protocol on the gunicorn socket."""

    def __init__(self, sw: Switches, model: str, beta: bool) -> None:
        self.sw = sw
        self.model = model
        self.beta = beta
        self.sock = request.environ["gunicorn.socket"]
        self.proto = ServerProtocol(select_subprotocol=_select, max_size=None)
        self.last_text = ""
        self.partial: list[bytes] = []
        self.partial_kind: Opcode | None = None
        self.closed_by = "client"
        lines = [f"GET {request.full_path} HTTP/1.1"] + [f"{k}: {v}" for k, v in request.headers.items()]
        self.proto.receive_data(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def flush(self) -> None:
        writes = self.proto.data_to_send()
        data = b"".join(writes)
        if data:
            self.sock.sendall(data)
        if b"" in writes:
            self.sock.shutdown(socket.SHUT_WR)

    def send(self, event: dict[str, Any]) -> None:
        self.proto.send_text(orjson.dumps({"event_id": _eid(), **event}))

    def close_socket(self) -> None:
        with suppress(OSError):
            self.sock.close()

    def run(self) -> None:
        [handshake] = self.proto.events_received()
        response = self.proto.accept(handshake)
        self.proto.send_response(response)
        if response.status_code != 101:
            self.flush()
            return
        note(self.sw, "ws_open", subprotocol=self.proto.subprotocol, beta=self.beta)
        session = {"id": _eid("sess"), "object": "realtime.session", "type": "realtime", "model": self.model}
        self.send({"type": "session.created", "session": session})
        self.flush()  # one write: the first frame arrives together with the 101
        while self.proto.state is not State.CLOSED:
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b""
            if data:
                self.proto.receive_data(data)
            else:
                self.proto.receive_eof()
            for frame in self.proto.events_received():
                self.on_frame(frame)
            self.flush()
            if not data:
                break
        if self.proto.close_rcvd is None:
            note(self.sw, "ws_closed", code=1006, reason="", by="eof")

    def on_frame(self, frame: Any) -> None:
        if frame.opcode is Opcode.CLOSE:
            close = Close.parse(frame.data)
            note(self.sw, "ws_closed", code=close.code, reason=close.reason, by=self.closed_by)
            return
        if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
            self.partial, self.partial_kind = [frame.data], frame.opcode
        elif frame.opcode is Opcode.CONT:
            self.partial.append(frame.data)
        else:
            return
        if not frame.fin:
            return
        data = b"".join(self.partial)
        if self.partial_kind is Opcode.BINARY:
            note(self.sw, "ws_message", type="binary", size=len(data))
            if self.proto.state is State.OPEN:
                self.proto.send_binary(data)
            return
        self.on_event(data)

    def on_event(self, data: bytes) -> None:
        try:
            event = orjson.loads(data)
        except orjson.JSONDecodeError:
            event = {}
        kind = event.get("type") if isinstance(event, dict) else None
        note(self.sw, "ws_message", type=kind, size=len(data))
        if self.proto.state is not State.OPEN:
            return
        if kind == "session.update":
            self.send({"type": "session.updated", "session": {"model": self.model, **(event.get("session") or {})}})
        elif kind == "conversation.item.create":
            self.item_created(event.get("item") or {})
        elif kind == "response.create":
            self.respond()
        elif kind == "mock.close":
            self.closed_by = "server"
            self.proto.send_close(int(event.get("code", 1000)), str(event.get("reason", "")))
        else:
            error = {"type": "invalid_request_error", "code": "unknown_event", "message": f"Unknown event {kind!r}"}
            self.send({"type": "error", "error": {**error, "param": None, "event_id": event.get("event_id")}})

    def item_created(self, item: dict[str, Any]) -> None:
        item = {"id": item.get("id") or _eid("item"), "object": "realtime.item", "status": "completed", **item}
        texts = [part.get("text", "") for part in item.get("content") or [] if isinstance(part, dict)]
        self.last_text = " ".join(t for t in texts if t)
        if self.beta:
            self.send({"type": "conversation.item.created", "previous_item_id": None, "item": item})
            return
        self.send({"type": "conversation.item.added", "previous_item_id": None, "item": item})
        self.send({"type": "conversation.item.done", "previous_item_id": None, "item": item})

    def respond(self) -> None:
        text = self.sw.text or f"echo: {self.last_text}"
        rid, iid = _eid("resp"), _eid("item")
        item = {"id": iid, "object": "realtime.item", "type": "message", "role": "assistant", "status": "in_progress"}
        base = {"response_id": rid, "item_id": iid, "output_index": 0, "content_index": 0}
        prefix = "response.text" if self.beta else "response.output_text"
        response = {"id": rid, "object": "realtime.response", "status": "in_progress", "output": []}
        self.send({"type": "response.created", "response": response})
        self.send({"type": "response.output_item.added", "response_id": rid, "output_index": 0, "item": item})
        self.send({"type": "response.content_part.added", **base, "part": {"type": "text", "text": ""}})
        for piece in split(text, self.sw.chunks):
            self.send({"type": f"{prefix}.delta", **base, "delta": piece})
        self.send({"type": f"{prefix}.done", **base, "text": text})
        self.send({"type": "response.content_part.done", **base, "part": {"type": "text", "text": text}})
        done_item = {**item, "status": "completed", "content": [{"type": "output_text", "text": text}]}
        self.send({"type": "response.output_item.done", "response_id": rid, "output_index": 0, "item": done_item})
        usage = {"total_tokens": 12 + len(text), "input_tokens": 12, "output_tokens": len(text)}
        final = {**response, "status": "completed", "output": [done_item], "usage": usage}
        self.send({"type": "response.done", "response": final})


def _openai_error(status: int) -> dict[str, Any]:
    return {"error": {"message": f"mock failure {status}", "type": "mock_error"}}


@bp.get("/v1/realtime", websocket=True)
def openai_realtime() -> Response:
    failure = begin(switches(), b"", _openai_error)
    if failure is not None:
        return failure
    auth = request.headers.get("authorization", "")
    if not auth.startswith("Bearer ") or not auth[7:].strip():
        return _openai_refusal(401, "You didn't provide an API key.", None)
    if auth[7:].startswith("sk-bad"):
        return _openai_refusal(401, "Incorrect API key provided: sk-bad***.", "invalid_api_key")
    model = request.args.get("model")
    if not model and not request.args.get("call_id"):
        return _openai_refusal(400, "Missing required parameter: 'model'.", "missing_required_parameter")
    return _SessionResponse(_Session(switches(), model or MODEL, _beta()))


def _azure_auth() -> Response | None:
    key = request.headers.get("api-key")
    if key is not None:
        if not key or key.startswith("bad"):
            return json_response(azure_mock.error_body(401, azure_mock.DENIED), 401)
        return None
    auth = request.headers.get("authorization", "")
    if auth.startswith("Bearer ") and auth[7:] in azure_mock.ISSUED:
        return None
    return json_response(azure_mock.error_body(401, azure_mock.DENIED), 401)


def _azure_gate() -> Response | None:
    """Record the handshake, apply the switches, then check Azure's key or token."""
    return begin(switches(), b"", azure_mock.error_body) or _azure_auth()


@bp.get("/openai/realtime", websocket=True)
def azure_realtime() -> Response:
    problem = _azure_gate()
    if problem is not None:
        return problem
    if not request.args.get("api-version"):
        return json_response(azure_mock.error_body(404, "Resource not found", "404"), 404)
    deployment = request.args.get("deployment")
    if not deployment:
        return json_response(azure_mock.error_body(400, "deployment is required", "BadRequest"), 400)
    return _SessionResponse(_Session(switches(), deployment, _beta()))


@bp.get("/openai/v1/realtime", websocket=True)
def azure_v1_realtime() -> Response:
    problem = _azure_gate()
    if problem is not None:
        return problem
    model = request.args.get("model")
    if not model:
        return json_response(azure_mock.error_body(400, "model is required", "BadRequest"), 400)
    return _SessionResponse(_Session(switches(), model, _beta()))
