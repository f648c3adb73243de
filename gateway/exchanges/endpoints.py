"""Exchange for OpenAI's non-chat endpoints: images, audio, files, batches, fine-tuning, moderations.

For OpenAI and OpenAI-compatible providers the request goes to the same path under the
provider's base URL; translators that can route these endpoints themselves (Azure OpenAI's
deployment URLs) supply the URL and auth through ``route``. JSON bodies get override params,
multipart forms are re-encoded with them (``gateway.transport.multipart``), and answers (JSON, audio,
file content, SSE) are relayed as they arrive, with the provider's ``Content-Length`` when the
body is passed on unchanged. An upstream body that breaks off aborts the client connection
instead of ending cleanly, so a truncated download is never mistaken for a whole one. Errors
come back in OpenAI's envelope with the provider's name.

``GET /v1/batches/{id}/output`` (``getBatchOutput``) is two requests: the batch is retrieved,
then its ``output_file_id`` (or ``error_file_id``) content is streamed, as the reference does.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import orjson

from gateway.core.errors import ProviderError
from gateway.core.outcomes import error_result, gateway_exception, stream_headers, without_type
from gateway.core.plan import Leaf
from gateway.core.result import Result
from gateway.exchanges.base import guarded_body, openai_failure, outgoing_headers, provider_headers, relayed_headers
from gateway.transport.client import Timeout, UpstreamResponse
from gateway.transport.multipart import MultipartBody, form_fields
from translators.contract import Target, TranslationError

if TYPE_CHECKING:
    from gateway.exchanges.base import ExchangeContext

log = logging.getLogger("gateway.exchanges.endpoints")

#: Endpoint ids served by this exchange.
ENDPOINT_FNS = frozenset({
    "imageGenerate", "imageEdit", "imageVariation", "createSpeech", "createTranscription", "createTranslation",
    "moderate", "uploadFile", "listFiles", "retrieveFile", "deleteFile", "retrieveFileContent", "createBatch",
    "listBatches", "retrieveBatch", "cancelBatch", "getBatchOutput", "createFinetune", "listFinetunes",
    "retrieveFinetune", "cancelFinetune", "retrieveResponse",
})  # fmt: skip

#: Endpoint ids a provider serves when it serves another one (the registry does not list them).
SERVED_AS = {"getBatchOutput": "retrieveBatch", "retrieveResponse": "responses"}

#: ``(method, url, headers)`` of one upstream request.
Routed = tuple[str, str, dict[str, str]]


def json_payload(body: dict[str, Any], raw: bytes | None, overrides: dict[str, Any]) -> bytes:
    """The JSON body to send: the client's bytes unchanged, or re-serialised with the override params."""
    if not overrides and raw is not None:
        return raw
    return orjson.dumps({**body, **overrides})


def request_payload(ctx: "ExchangeContext", leaf: Leaf, headers: dict[str, str], model: str | None = None) -> Any:
    """The body to send: JSON with override params (and the translator's ``model``), a re-encoded form, or nothing."""
    call = ctx.call
    overrides = {**leaf.override_params, "model": model} if model else leaf.override_params
    if call.form is not None:
        body = MultipartBody(form_fields(call.form.fields, overrides), call.form.files)
        headers["content-type"] = body.content_type
        return body
    if call.body is not None:
        headers["content-type"] = "application/json"
        return json_payload(call.body, call.raw, overrides)
    headers.pop("content-type", None)
    return None


class Locator:
    """Where one leaf's requests go: the provider's base URL, or a translator's ``route``."""

    def __init__(self, ctx: "ExchangeContext", leaf: Leaf, translator: Any = None) -> None:
        self.ctx = ctx
        self.leaf = leaf
        self.translator = translator
        self.target: Target | None = None

    def __call__(self, fn: str, method: str, path: str, query: str) -> Routed:
        """Return the upstream request line and headers; raise ``TranslationError`` or ``ProviderError``."""
        leaf = self.leaf
        if self.translator is None:
            url = (leaf.custom_host or leaf.spec.base_url) + path + (f"?{query}" if query else "")
            return method, url, provider_headers(self.ctx, leaf, {})
        if self.target is None:
            self.target = self.ctx.credentials.target(leaf)
        routed = self.translator.route(fn, self.target, method, path, query)
        return routed.method, routed.url, outgoing_headers(self.ctx, leaf, routed.headers)

    def body_model(self, fn: str) -> str | None:
        """The model a routing translator needs the body to name (Azure's deployment), if any."""
        hook = getattr(self.translator, "body_model", None)
        return hook(fn, self.target) if hook is not None and self.target is not None else None


class EndpointExchange:
    """One request to an OpenAI-shaped endpoint; the answer is relayed as a stream of bytes."""

    #: Send with the body unread (relayed as it arrives).
    stream = True

    def __init__(self, ctx: "ExchangeContext", leaf: Leaf, routed: Routed, body: Any, locator: Locator) -> None:
        self.ctx = ctx
        self.leaf = leaf
        self.method, self.url, self.headers = routed
        self.body = body
        self.locator = locator
        #: The client asked for server-sent events; the stream idle timeout applies rather than the read timeout.
        call = ctx.call
        self.sse = call.stream or (call.body or {}).get("stream_format") == "sse"

    @classmethod
    def prepare(cls, ctx: "ExchangeContext", leaf: Leaf, translator: Any = None) -> "EndpointExchange | Result":
        """Build the exchange (``translator`` routes non-OpenAI providers), or the error that prevents it."""
        call = ctx.call
        if translator is None and not (leaf.spec.serves(call.fn) or leaf.spec.serves(SERVED_AS.get(call.fn, ""))):
            return gateway_exception(leaf, 400, f"{call.fn} is not supported by {leaf.provider}")
        exchange_cls: type[EndpointExchange] = BatchOutputExchange if call.fn == "getBatchOutput" else cls
        locator = Locator(ctx, leaf, translator)
        try:
            routed = exchange_cls.first_request(locator, call.fn, call.method, call.path, call.query)
        except ProviderError as error:
            return error_result(leaf, error)
        except TranslationError as exc:
            return gateway_exception(leaf, 400, exc.message, param=exc.param)
        body = request_payload(ctx, leaf, routed[2], locator.body_model(call.fn))
        return exchange_cls(ctx, leaf, routed, body, locator)

    @staticmethod
    def first_request(locator: Locator, fn: str, method: str, path: str, query: str) -> Routed:
        """The request that starts the exchange."""
        return locator(fn, method, path, query)

    def handle(self, response: UpstreamResponse, timeout: Timeout) -> Result:
        """Relay the answer; wrap errors in OpenAI's envelope."""
        return relay(self.leaf, response)


class BatchOutputExchange(EndpointExchange):
    """Retrieve a batch, then stream the content of its output (or error) file."""

    @staticmethod
    def first_request(locator: Locator, fn: str, method: str, path: str, query: str) -> Routed:
        """Retrieve the batch (the route's path without ``/output``)."""
        return locator("retrieveBatch", "GET", path.removesuffix("/output"), "")

    def handle(self, response: UpstreamResponse, timeout: Timeout) -> Result:
        """Find the batch's output file and relay its content."""
        leaf = self.leaf
        if response.status_code >= 400:
            return relay(leaf, response)
        try:
            batch = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            batch = None
        if not isinstance(batch, dict):
            return self._no_output(502, f"the batch could not be read: {response.content[:200]!r}")
        file_id = batch.get("output_file_id") or batch.get("error_file_id")
        if not isinstance(file_id, str) or not file_id:
            status = batch.get("status", "unknown")
            return self._no_output(400, f"batch {batch.get('id')} has no output file (status: {status})")
        try:
            method, url, headers = self.locator("retrieveFileContent", "GET", f"/files/{file_id}/content", "")
        except ProviderError as error:
            return error_result(leaf, error)
        except TranslationError as exc:
            return gateway_exception(leaf, 400, exc.message, param=exc.param)
        content = self.ctx.outbound.client.send(
            method, url, headers=headers, stream=True, timeout=timeout, guard=leaf.guard_host
        )
        return relay(leaf, content)

    def _no_output(self, status: int, detail: str) -> Result:
        error = ProviderError(
            self.leaf.provider,
            status,
            f"{self.leaf.provider} error: {detail}",
            error_type="invalid_request_error",
            code="batch_output_unavailable",
        )
        return error_result(self.leaf, error)


def relay(leaf: Leaf, response: UpstreamResponse) -> Result:
    """The provider's answer as a result: errors in OpenAI's envelope, anything else streamed as it arrives."""
    relayed = relayed_headers(response)
    content_type = response.headers.get("content-type", "")
    if response.status_code >= 400:
        return openai_failure(leaf, response, relayed)
    if content_type.startswith("text/event-stream"):
        headers = stream_headers(relayed)
    else:
        headers = without_type(relayed)
        length = response.headers.get("content-length")
        if length and response.headers.get("content-encoding", "identity").lower() == "identity":
            headers.append(("Content-Length", length))  # the body is passed on byte for byte
    return Result(
        response.status_code,
        headers,
        stream=guarded_body(leaf, response.iter_content, response.close),
        content_type=content_type or "application/octet-stream",
        provider=leaf.provider,
        path=leaf.path,
    )
