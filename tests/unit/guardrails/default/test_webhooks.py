"""The network checks (``gateway.guardrails.default.webhooks``): validUrls, webhook and log.

They run against the fake ``CheckIO`` of ``harness``, except one test that drives webhook and log
through the gateway's own ``CheckIO`` to a local HTTP server.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from gateway.core.settings import Settings
from gateway.guardrails.contract import AFTER, BEFORE, HookContext
from gateway.web.state import GatewayState
from tests.unit.guardrails.default.harness import Answer, FakeIO, after, check, json_answer, run

# -- validUrls --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "verdict", "valid", "invalid", "explanation"),
    [
        (
            "Check out https://example.com and https://google.com",
            True,
            ["https://example.com", "https://google.com"],
            [],
            "All URLs are valid (2 found).",
        ),
        (
            "Check out https://invalid-domain-123456.com",
            False,
            [],
            ["https://invalid-domain-123456.com"],
            "Some URLs are invalid (1 of 1 failed).",
        ),
        (
            "Check out https://malformed.123 and http://this-is-definitely-invalid-12345.com/path?invalid=true#bad",
            False,
            [],
            ["https://malformed.123", "http://this-is-definitely-invalid-12345.com/path?invalid=true#bad"],
            "Some URLs are invalid (2 of 2 failed).",
        ),
        (
            "Check out https://example.com/path?param=1#section",
            True,
            ["https://example.com/path?param=1#section"],
            [],
            "All URLs are valid (1 found).",
        ),
        (
            "Valid: https://example.com Invalid: https://invalid-domain-123456.com",
            False,
            ["https://example.com"],
            ["https://invalid-domain-123456.com"],
            "Some URLs are invalid (1 of 2 failed).",
        ),
    ],
)
def test_valid_urls_dns(dns, text, verdict, valid, invalid, explanation):
    result = run("validUrls", {"onlyDNS": True, "not": False}, after(text))
    check(result, verdict, validationMethod="DNS lookup", validUrls=valid, invalidUrls=invalid, explanation=explanation)


def test_valid_urls_no_urls_empty_text_and_long_text(dns):
    check(
        run("validUrls", {"onlyDNS": False}, after("This text contains no URLs")),
        False,
        explanation="No URLs found in the text.",
        urls=[],
        validationMethod="HTTP request",
    )
    check(
        run("validUrls", {}, after("")),
        False,
        error="Missing text to analyze",
        textExcerpt="No text available",
        explanation="An error occurred while validating URLs: Missing text to analyze",
    )
    long_text = f"Here's a very long text {'-' * 200} with a URL https://example.com in the middle {'-' * 200}"
    result = run("validUrls", {"onlyDNS": True}, after(long_text))
    assert len(result.data["textExcerpt"]) == 103 and result.data["textExcerpt"].endswith("...")
    assert result.data["validUrls"] == ["https://example.com"]


def test_valid_urls_http_mode_redirects_refusals_and_not():
    io = FakeIO(
        {
            "https://example.com": Answer(200),
            "https://moved.example": Answer(301, {"Location": "/new"}),
            "https://moved.example/new": Answer(204),
            "https://gone.example": Answer(404),
            "https://10.0.0.1/x": ValueError("refused by the custom-host rules"),
        }
    )
    ok = run("validUrls", {}, after("See https://example.com, or https://moved.example."), io)
    check(ok, False, invalidUrls=["https://moved.example."], validationMethod="HTTP request")
    ok = run("validUrls", {}, after("See https://example.com and https://moved.example"), io)
    check(ok, True, validUrls=["https://example.com", "https://moved.example"], invalidUrls=[])
    assert ("HEAD", "https://moved.example/new") in [(c[0], c[1]) for c in io.calls]
    bad = run("validUrls", {"not": True}, after("https://gone.example https://10.0.0.1/x"), io)
    check(bad, True, explanation="All URLs are invalid as expected (2 of 2).")
    # as in the reference, ``not`` passes as soon as one URL is invalid
    mixed = run("validUrls", {"not": True}, after("https://gone.example https://example.com"), io)
    check(mixed, True, explanation="All URLs are invalid as expected (1 of 2).")
    fine = run("validUrls", {"not": True}, after("https://example.com"), io)
    check(fine, False, explanation="Some URLs are valid when they should all be invalid (1 of 1).")
    assert all(c[4] == 3.0 for c in io.calls)


# -- webhook and log --------------------------------------------------------------------------------

HOOK = "https://hooks.example/guardrail"


def webhook_context(event: str = AFTER) -> HookContext:
    response = {"choices": [{"message": {"role": "assistant", "content": "test response"}}]} if event == AFTER else None
    return HookContext(
        event,
        "chatComplete",
        {"model": "m", "messages": [{"role": "user", "content": "test request"}]},
        response,
        {"team": "a"},
        "openai",
        {"Authorization": "Bearer sk-secret", "x-trace": "t1"},
    )


def test_webhook_verdicts_and_payload():
    io = FakeIO(
        {
            HOOK + "/true": json_answer({"verdict": True, "data": {"score": 1}}),
            HOOK + "/false": json_answer({"verdict": False}),
        }
    )
    params = {"webhookURL": HOOK + "/true", "headers": '{"Authorization": "Bearer test-token"}', "not": False}
    result = run("webhook", params, webhook_context(), io)
    check(
        result,
        True,
        data={
            "verdict": True,
            "explanation": "Webhook request succeeded",
            "webhookUrl": HOOK + "/true",
            "responseData": {"score": 1},
            "requestContext": {"timeout": 3000},
        },
    )
    method, url, payload, headers, timeout = io.calls[0]
    assert (method, url, headers, timeout) == ("POST", HOOK + "/true", {"Authorization": "Bearer test-token"}, 3.0)
    assert payload["eventType"] == AFTER and "headers" not in payload["request"]
    assert payload["request"]["text"] == "test request" and payload["response"]["text"] == "test response"
    assert payload["response"]["statusCode"] == 200 and payload["metadata"] == {"team": "a"}
    assert payload["provider"] == "openai" and payload["requestType"] == "chatComplete"
    result = run(
        "webhook", {"webhookURL": HOOK + "/false", "headers": {"X-A": 1}, "timeout": 500}, webhook_context(), io
    )
    check(result, False, explanation="Webhook request failed", requestContext={"timeout": 500})
    assert io.calls[1][3] == {"X-A": "1"} and io.calls[1][4] == 0.5


@pytest.mark.parametrize(
    ("params", "message", "url"),
    [
        ({"headers": '{"Authorization": "Bearer test-token"}'}, "Missing webhook URL", "No URL provided"),
        ({"webhookURL": "not-a-url"}, "Invalid webhook URL format", "not-a-url"),
        (
            {"webhookURL": HOOK + "/true", "headers": "{invalid json}"},
            "Failed to parse headers: Invalid headers format",
            HOOK + "/true",
        ),
        ({"webhookURL": HOOK + "/down"}, "connection refused", HOOK + "/down"),
    ],
)
def test_webhook_errors(params, message, url):
    result = run("webhook", params, webhook_context(), FakeIO())
    check(result, False, error=message, webhookUrl=url, requestContext={"timeout": 3000})
    assert result.data["explanation"].startswith("Webhook error: ") and message in result.data["explanation"]


def test_webhook_http_error_keeps_json_body():
    io = FakeIO({HOOK: json_answer({"reason": "boom"}, status=500)})
    result = run("webhook", {"webhookURL": HOOK}, webhook_context(), io)
    check(
        result,
        False,
        error="HTTP error! status: 500",
        data={
            "explanation": "Webhook error: HTTP error! status: 500",
            "webhookUrl": HOOK,
            "requestContext": {"timeout": 3000},
            "responseData": {"reason": "boom"},
        },
    )


def test_webhook_transforms_the_payload_of_its_event():
    new_request = {"model": "m", "messages": [{"role": "user", "content": "rewritten"}]}
    new_response = {"choices": [{"message": {"role": "assistant", "content": "redacted"}}]}
    io = FakeIO(
        {
            HOOK: json_answer(
                {
                    "verdict": True,
                    "transformedData": {"request": {"json": new_request}, "response": {"json": new_response}},
                }
            )
        }
    )
    result = run("webhook", {"webhookURL": HOOK}, webhook_context(BEFORE), io)
    assert result.transformed_request == new_request and result.transformed_response is None
    assert io.calls[0][2]["eventType"] == BEFORE and io.calls[0][2]["response"] == {
        "json": {},
        "text": "",
        "statusCode": None,
        "isTransformed": False,
    }
    result = run("webhook", {"webhookURL": HOOK}, webhook_context(AFTER), io)
    assert result.transformed_response == new_response and result.transformed_request is None


def test_log_posts_the_context_with_credentials_redacted():
    io = FakeIO({"https://logs.example/collector": Answer(200, {}, b'{"ok": true}')})
    params = {"logURL": "https://logs.example/collector", "headers": '{"Authorization": "this is some secret"}'}
    result = run("log", params, webhook_context(), io)
    check(result, True, data={"message": "Logged the request to https://logs.example/collector"})
    _, _, payload, headers, _ = io.calls[0]
    assert headers == {"Authorization": "this is some secret"} and "eventType" not in payload
    assert payload["request"]["headers"] == {"Authorization": "[REDACTED]", "x-trace": "t1"}
    failed = run("log", {"logURL": "https://logs.example/down"}, webhook_context(), io)
    assert failed.verdict is False and failed.data is None and "connection refused" in failed.error
    io.routes["https://logs.example/500"] = Answer(500, {}, b"nope")
    check(run("log", {"logURL": "https://logs.example/500"}, webhook_context(), io), False, error="status: 500")


class _Collector(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        _Collector.received.append({"path": self.path, "body": body, "auth": self.headers.get("authorization")})
        reply = json.dumps({"verdict": self.path == "/pass", "data": {"seen": body.get("eventType", "log")}}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


def test_webhook_and_log_through_the_gateway_check_io():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state = GatewayState(Settings())
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        passed = run(
            "webhook",
            {"webhookURL": base + "/pass", "headers": {"Authorization": "Bearer hook"}},
            webhook_context(),
            state.check_io,
        )
        check(passed, True, responseData={"seen": AFTER})
        check(
            run("webhook", {"webhookURL": base + "/fail"}, webhook_context(), state.check_io),
            False,
            explanation="Webhook request failed",
        )
        check(run("log", {"logURL": base + "/log"}, webhook_context(), state.check_io), True)
    finally:
        server.shutdown()
        state.close()
    assert [r["path"] for r in _Collector.received[-3:]] == ["/pass", "/fail", "/log"]
    assert _Collector.received[-3]["auth"] == "Bearer hook"
    assert _Collector.received[-1]["body"]["request"]["headers"]["Authorization"] == "[REDACTED]"
