"""Exchange for OpenAI's non-chat endpoints: images, audio, files, batches, fine-tuning, moderations.

For OpenAI and OpenAI-compatible providers the request goes to the same path under the
provider's base URL; translators that can route these endpoints themselves (Azure OpenAI's
deployment URLs) supply the URL and auth through ``route``. JSON bodies get override params,
multipart forms are re-encoded with them, and answers (JSON, audio, file content) are relayed
as they arrive; errors come back in OpenAI's envelope with the provider's name.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import urllib3

from gateway import credentials
from gateway.compat import forward_client_headers, provider_headers, relayed_headers
from gateway.errors import ProviderError
from gateway.multipart import MultipartBody, form_fields
from gateway.outcomes import error_result, gateway_exception, without_type
from gateway.result import Result, json_result
from gateway.targets import Leaf
from gateway.upstream import Timeout, UpstreamResponse
from translators import openai as openai_translator
from translators.base import Target, TranslationError

if TYPE_CHECKING:
    from gateway.attempt import LeafCaller

log = logging.getLogger("gateway.endpoints")

#: Endpoint ids served by this exchange.
ENDPOINT_FNS = frozenset(
    {
        "imageGenerate",
        "imageEdit",
        "imageVariation",
        "createSpeech",
        "createTranscription",
        "createTranslation",
        "moderate",
        "uploadFile",
        "listFiles",
        "retrieveFile",
        "deleteFile",
        "retrieveFileContent",
        "createBatch",
        "listBatches",
        "retrieveBatch",
        "cancelBatch",
        "createFinetune",
        "listFinetunes",
        "retrieveFinetune",
        "cancelFinetune",
    }
)


def request_payload(caller: "LeafCaller", leaf: Leaf, headers: dict[str, str]) -> Any:
    """The body to send: JSON with override params, a re-encoded form, or nothing."""
    call = caller.call
    if call.form is not None:
        body = MultipartBody(form_fields(call.form.fields, leaf.override_params), call.form.files)
        headers["content-type"] = body.content_type
        return body
    if call.body is not None:
        headers["content-type"] = "application/json"
        return openai_translator.request_body(leaf.spec, call.body, call.raw, leaf.override_params)
    headers.pop("content-type", None)
    return None


class EndpointExchange:
    """One request to an OpenAI-shaped endpoint; the answer is relayed as a stream of bytes."""

    stream = True

    def __init__(self, leaf: Leaf, method: str, url: str, headers: dict[str, str], body: Any) -> None:
        self.leaf = leaf
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body

    @classmethod
    def prepare(cls, caller: "LeafCaller", leaf: Leaf, translator: Any = None) -> "EndpointExchange | Result":
        """Build the exchange (``translator`` routes non-OpenAI providers), or the error that prevents it."""
        call = caller.call
        if translator is None:
            if not leaf.spec.serves(call.fn):
                return gateway_exception(leaf, 400, f"{call.fn} is not supported by {leaf.provider}")
            url = (leaf.custom_host or leaf.spec.base_url) + call.path + (f"?{call.query}" if call.query else "")
            headers = provider_headers(caller, leaf, {})
            method = call.method
        else:
            try:
                creds = credentials.resolve(caller.state, leaf)
            except ProviderError as error:
                return error_result(leaf, error)
            target = Target(
                provider=leaf.provider,
                base_url=leaf.spec.base_url,
                custom_host=leaf.custom_host,
                api_key=leaf.api_key,
                options=leaf.options,
                strict=leaf.strict,
                credentials=creds,
            )
            try:
                routed = translator.route(call.fn, target, call.method, call.path, call.query)
            except TranslationError as exc:
                return gateway_exception(leaf, 400, exc.message, param=exc.param)
            url, method = routed.url, routed.method
            headers = {k.lower(): v for k, v in routed.headers.items()}
            forward_client_headers(caller, leaf, headers)
        body = request_payload(caller, leaf, headers)
        return cls(leaf, method, url, headers, body)

    def handle(self, response: UpstreamResponse, timeout: Timeout) -> Result:
        """Relay the answer; wrap errors in OpenAI's envelope."""
        leaf = self.leaf
        relayed = relayed_headers(response)
        content_type = response.headers.get("content-type", "")
        if response.status_code >= 400:
            payload = openai_translator.error_envelope(
                leaf.provider, response.status_code, response.content, content_type
            )
            response.close()
            return json_result(
                response.status_code,
                payload,
                headers=without_type(relayed),
                provider=leaf.provider,
                path=leaf.path,
                error_origin=leaf.provider,
            )

        def body() -> Iterator[bytes]:
            try:
                yield from response.iter_content()
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                log.info("%s body from %s ended early: %s", self.method, leaf.provider, exc.__class__.__name__)
            finally:
                response.close()

        return Result(
            response.status_code,
            without_type(relayed),
            stream=body(),
            content_type=content_type or "application/json",
            provider=leaf.provider,
            path=leaf.path,
        )
