"""Network checks of the default plugin: webhook, log and validUrls.

Facts from the reference (``plugins/default/webhook.ts``, ``log.ts``, ``validUrls.ts``,
``plugins/utils.ts`` ``post``): the hook context sent is ``{request: {json, text,
isStreamingRequest, isTransformed, headers}, response: {json, text, statusCode, isTransformed},
provider, requestType, metadata}``. webhook POSTs it without the request headers, plus
``eventType``, with ``headers`` (an object or a JSON string) and ``timeout`` ms (default 3000);
a non-2xx answer is an error (``HTTP error! status: N``, with a JSON body kept as
``responseData``); the answer's ``verdict`` is the verdict and its
``transformedData.request.json`` (before) / ``transformedData.response.json`` (after) replaces
the request or response. log POSTs the context (here with credential headers redacted) and
passes unless the POST fails. validUrls finds ``https?://`` runs up to whitespace, comma,
quote, brace or bracket; every URL must answer a HEAD with 2xx (redirects followed, 3 s each),
or with ``onlyDNS`` its host must resolve; no URL found fails.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urljoin, urlsplit

from gateway.guardrails.contract import AFTER, BEFORE, CheckIO, CheckResult, HookContext, request_text, response_text
from gateway.guardrails.default.common import excerpt, flag, js_str, truthy

DEFAULT_TIMEOUT_MS = 3000
URL_TIMEOUT = 3.0
MAX_REDIRECTS = 5
MAX_PARALLEL = 8
REDACTED = "[REDACTED]"
_SECRET_HEADER = re.compile(
    r"authorization|cookie|api[-_]?key|token|secret|password|credential|signature", re.IGNORECASE
)
_URL = re.compile(r"""https?://[^\s,"'{}\[\]]+""")


def hook_payload(context: HookContext, with_headers: bool) -> dict[str, Any]:
    """Return the reference's hook context object for ``context``."""
    request: dict[str, Any] = {
        "json": context.request_json,
        "text": request_text(context.fn, context.request_json or {}),
        "isStreamingRequest": bool((context.request_json or {}).get("stream")),
        "isTransformed": False,
    }
    if with_headers:
        request["headers"] = {
            k: (REDACTED if _SECRET_HEADER.search(k) else v) for k, v in (context.request_headers or {}).items()
        }
    answered = context.event == AFTER and context.response_json is not None
    return {
        "request": request,
        "response": {
            "json": context.response_json if context.response_json is not None else {},
            "text": response_text(context.fn, context.response_json or {}),
            "statusCode": 200 if answered else None,
            "isTransformed": False,
        },
        "provider": context.provider,
        "requestType": context.fn,
        "metadata": dict(context.metadata or {}),
    }


def _headers(value: Any) -> dict[str, str]:
    """Read the ``headers`` parameter: an object or a JSON object string."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError("Invalid headers format") from None
    if value is None or value == "":
        return {}
    if not isinstance(value, Mapping):
        raise ValueError("Invalid headers format")
    return {str(k): js_str(v) for k, v in value.items()}


def _timeout_ms(parameters: Mapping[str, Any]) -> Any:
    value = parameters.get("timeout")
    return value if truthy(value) and isinstance(value, (int, float)) and value > 0 else DEFAULT_TIMEOUT_MS


class _HttpError(Exception):
    def __init__(self, status: int, body: bytes, content_type: str) -> None:
        super().__init__(f"HTTP error! status: {status}")
        self.body = body
        self.content_type = content_type


def _post(io: CheckIO, url: str, payload: Any, headers: dict[str, str], timeout_ms: Any) -> Any:
    """POST like the reference's ``post``: 2xx JSON answers only."""
    try:
        answer = io.post_json(url, payload, headers, float(timeout_ms) / 1000)
    except Exception as exc:  # noqa: BLE001 - network failures, timeouts and SSRF refusals are errors
        raise OSError(str(exc) or exc.__class__.__name__) from None
    if not 200 <= answer.status < 300:
        content_type = next((v for k, v in answer.headers.items() if k.lower() == "content-type"), "")
        raise _HttpError(answer.status, answer.body, content_type)
    try:
        return json.loads(answer.body)
    except ValueError:
        raise ValueError("The answer is not valid JSON") from None


def webhook(context: HookContext, parameters: dict[str, Any], io: CheckIO) -> CheckResult:
    """Ask a webhook for the verdict (and optionally a rewritten request or response)."""
    url = parameters.get("webhookURL")
    timeout_ms = _timeout_ms(parameters)
    try:
        if not truthy(url):
            raise ValueError("Missing webhook URL")
        parts = urlsplit(str(url))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("Invalid webhook URL format")
        try:
            headers = _headers(parameters.get("headers"))
        except ValueError as exc:
            raise ValueError(f"Failed to parse headers: {exc}") from None
        payload = {**hook_payload(context, with_headers=False), "eventType": context.event}
        reply = _post(io, str(url), payload, headers, timeout_ms)
    except (ValueError, OSError, _HttpError) as exc:
        data: dict[str, Any] = {
            "explanation": f"Webhook error: {exc}",
            "webhookUrl": url or "No URL provided",
            "requestContext": {"timeout": timeout_ms},
        }
        if isinstance(exc, _HttpError) and exc.content_type.split(";")[0].strip() == "application/json":
            with contextlib.suppress(ValueError):
                data["responseData"] = json.loads(exc.body)
        return CheckResult(verdict=False, error=str(exc), data=data)
    reply = reply if isinstance(reply, Mapping) else {}
    verdict = truthy(reply.get("verdict"))
    transformed = reply.get("transformedData") if isinstance(reply.get("transformedData"), Mapping) else {}
    new_request = (
        (transformed.get("request") or {}).get("json") if isinstance(transformed.get("request"), Mapping) else None
    )
    new_response = (
        (transformed.get("response") or {}).get("json") if isinstance(transformed.get("response"), Mapping) else None
    )
    result = CheckResult(
        verdict=verdict,
        data={
            "verdict": verdict,
            "explanation": "Webhook request succeeded" if verdict else "Webhook request failed",
            "webhookUrl": url,
            "responseData": reply.get("data"),
            "requestContext": {"timeout": timeout_ms},
        },
    )
    if context.event == BEFORE and isinstance(new_request, dict) and new_request:
        result.transformed_request = new_request
    if context.event == AFTER and isinstance(new_response, dict) and new_response:
        result.transformed_response = new_response
    return result


def log(context: HookContext, parameters: dict[str, Any], io: CheckIO) -> CheckResult:
    """POST the hook context to ``logURL``; pass unless that fails."""
    url = parameters.get("logURL")
    try:
        if not truthy(url):
            raise ValueError("Missing log URL")
        headers = _headers(parameters.get("headers"))
        _post(io, str(url), hook_payload(context, with_headers=True), headers, _timeout_ms(parameters))
    except (ValueError, OSError, _HttpError) as exc:
        return CheckResult(verdict=False, error=str(exc))
    return CheckResult(verdict=True, data={"message": f"Logged the request to {url}"})


def _head_ok(io: CheckIO, url: str) -> bool:
    """HEAD ``url`` following redirects; whether the final answer is 2xx."""
    for _ in range(MAX_REDIRECTS + 1):
        try:
            answer = io.head(url, URL_TIMEOUT)
        except Exception:  # noqa: BLE001 - any failure (network, timeout, SSRF refusal) makes the URL invalid
            return False
        if 200 <= answer.status < 300:
            return True
        location = next((v for k, v in answer.headers.items() if k.lower() == "location"), None)
        if answer.status not in (301, 302, 303, 307, 308) or not location:
            return False
        url = urljoin(url, location)
    return False


def _dns_ok(url: str) -> bool:
    """Whether the URL's host name resolves."""
    try:
        host = urlsplit(url).hostname
        return bool(host) and bool(socket.getaddrinfo(host, None))
    except (OSError, ValueError, UnicodeError):
        return False


def valid_urls(context: HookContext, parameters: dict[str, Any], io: CheckIO) -> CheckResult:
    """Pass when every URL in the text answers (or resolves, with ``onlyDNS``)."""
    text = context.text
    inverted = flag(parameters, "not")
    only_dns = flag(parameters, "onlyDNS")
    method = "DNS lookup" if only_dns else "HTTP request"
    if not text:
        return CheckResult(
            verdict=False,
            error="Missing text to analyze",
            data={
                "explanation": "An error occurred while validating URLs: Missing text to analyze",
                "validationMethod": method,
                "not": inverted,
                "textExcerpt": "No text available",
            },
        )
    urls = _URL.findall(text)
    if not urls:
        return CheckResult(
            verdict=False,
            data={
                "explanation": "No URLs found in the text.",
                "urls": [],
                "validationMethod": method,
                "not": inverted,
                "textExcerpt": excerpt(text),
            },
        )
    unique = list(dict.fromkeys(urls))
    probe = _dns_ok if only_dns else (lambda u: _head_ok(io, u))
    if len(unique) == 1:
        outcome = {unique[0]: probe(unique[0])}
    else:
        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(unique))) as pool:
            outcome = dict(zip(unique, pool.map(probe, unique), strict=True))
    valid = [u for u in urls if outcome[u]]
    invalid = [u for u in urls if not outcome[u]]
    all_valid = not invalid
    verdict = all_valid != inverted
    total = len(urls)
    if verdict:
        explanation = (
            f"All URLs are invalid as expected ({len(invalid)} of {total})."
            if inverted
            else f"All URLs are valid ({len(valid)} found)."
        )
    else:
        explanation = (
            f"Some URLs are valid when they should all be invalid ({len(valid)} of {total})."
            if inverted
            else f"Some URLs are invalid ({len(invalid)} of {total} failed)."
        )
    return CheckResult(
        verdict=verdict,
        data={
            "verdict": verdict,
            "not": inverted,
            "explanation": explanation,
            "validUrls": valid,
            "invalidUrls": invalid,
            "validationMethod": method,
            "textExcerpt": excerpt(text),
        },
    )
