"""Guardrails end to end through gunicorn: 446 and 246, mutators, async hooks, streams, every format."""

from __future__ import annotations

import json
import time
import uuid

import anthropic
import openai
import pytest
import requests

from tests.chatdata import streamed_text

QUESTION = [{"role": "user", "content": "Tell me about Apple pie"}]
API_KEY = "sk-guard-4b1d"  # the client's credential: it must never reach a hook receiver


def sid() -> str:
    return uuid.uuid4().hex[:10]


def client(gateway, config: dict):
    return openai.OpenAI(
        base_url=gateway.url + "/v1",
        api_key=API_KEY,
        max_retries=0,
        default_headers={"x-portkey-config": json.dumps(config)},
    )


def target(mockctl, scenario: str, **extra) -> dict:
    return {"provider": "openai", "custom_host": mockctl.base(id=scenario), **extra}


def test_an_input_guardrail_that_denies_is_a_446_before_the_provider(gateway, mockctl) -> None:
    s = sid()
    config = target(
        mockctl, s, input_guardrails=[{"default.contains": {"operator": "none", "words": ["Apple"]}, "deny": True}]
    )
    with pytest.raises(openai.APIStatusError) as caught:
        client(gateway, config).chat.completions.create(model="m", messages=QUESTION)
    assert caught.value.status_code == 446
    body = caught.value.response.json()
    assert body["error"]["type"] == "hooks_failed"
    hook = body["hook_results"]["before_request_hooks"][0]
    assert hook["verdict"] is False and hook["deny"] is True
    assert hook["checks"][0]["id"] == "default.contains" and hook["checks"][0]["verdict"] is False
    assert mockctl.requests(s) == []


def test_a_failed_guardrail_without_deny_answers_246_with_hook_results(gateway, mockctl) -> None:
    s = sid()
    config = target(mockctl, s, input_guardrails=[{"default.wordCount": {"minWords": 10, "maxWords": 99}}])
    raw = client(gateway, config).chat.completions.with_raw_response.create(model="m", messages=QUESTION)
    assert raw.status_code == 246
    body = json.loads(raw.content)
    assert body["choices"][0]["message"]["content"] == "echo: Tell me about Apple pie"
    assert body["hook_results"]["before_request_hooks"][0]["verdict"] is False
    assert len(mockctl.requests(s)) == 1


def test_output_guardrails_deny_or_mark_the_answer(gateway, mockctl) -> None:
    s = sid()
    deny = target(
        mockctl, s, output_guardrails=[{"default.contains": {"operator": "none", "words": ["echo"]}, "deny": True}]
    )
    with pytest.raises(openai.APIStatusError) as caught:
        client(gateway, deny).chat.completions.create(model="m", messages=QUESTION)
    assert caught.value.status_code == 446
    assert caught.value.response.json()["hook_results"]["after_request_hooks"][0]["verdict"] is False
    assert len(mockctl.requests(s)) == 1  # the provider answered; the answer was withheld
    mark = target(mockctl, s, output_guardrails=[{"default.endsWith": {"suffix": "nothing like this"}}])
    raw = client(gateway, mark).chat.completions.with_raw_response.create(model="m", messages=QUESTION)
    assert raw.status_code == 246 and json.loads(raw.content)["hook_results"]["after_request_hooks"]


def test_passing_guardrails_answer_200_with_their_results(gateway, mockctl) -> None:
    config = target(
        mockctl,
        sid(),
        input_guardrails=[{"default.regexMatch": {"rule": "apple", "not": True}}],
        output_guardrails=[{"default.contains": {"operator": "any", "words": ["echo"]}}],
    )
    raw = client(gateway, config).chat.completions.with_raw_response.create(model="m", messages=QUESTION)
    assert raw.status_code == 200
    results = json.loads(raw.content)["hook_results"]
    assert results["before_request_hooks"][0]["verdict"] and results["after_request_hooks"][0]["verdict"]


def test_mutators_rewrite_the_request_and_the_answer(gateway, mockctl) -> None:
    s = sid()
    config = target(
        mockctl,
        s,
        input_mutators=[{"default.addPrefix": {"prefix": "Be brief. "}}],
        output_mutators=[{"default.regexReplace": {"rule": "Apple", "redactText": "[FRUIT]"}}],
    )
    reply = client(gateway, config).chat.completions.create(model="m", messages=QUESTION)
    sent = json.loads(mockctl.requests(s)[0]["body"])
    assert sent["messages"][-1]["content"] == "Be brief. Tell me about Apple pie"
    assert reply.choices[0].message.content == "echo: Be brief. Tell me about [FRUIT] pie"


def test_async_hooks_run_off_the_request_path(gateway, mockctl) -> None:
    s, hook = sid(), sid()
    webhook = mockctl.url + f"/s/id={hook},delay_ms=800/hooks/webhook"
    config = target(mockctl, s, output_guardrails=[{"default.webhook": {"webhookURL": webhook}, "async": True}])
    started = time.monotonic()
    raw = client(gateway, config).chat.completions.with_raw_response.create(model="m", messages=QUESTION)
    assert raw.status_code == 200 and time.monotonic() - started < 0.7
    assert "hook_results" not in json.loads(raw.content)  # async results never change the answer
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and not mockctl.requests(hook):
        time.sleep(0.05)
    posted = mockctl.requests(hook)
    assert posted, "the async webhook ran after the response"
    payload = json.loads(posted[0]["body"])
    assert payload["eventType"] == "afterRequestHook"
    # the webhook gets the hook context without the request's headers, so the client's key is
    # nowhere in what it receives: not in the payload, not in the headers of the webhook call
    assert "headers" not in payload["request"], payload["request"]
    assert API_KEY not in posted[0]["body"]
    assert "authorization" not in posted[0]["headers"]
    assert not [name for name, value in posted[0]["headers"].items() if API_KEY in value]


def test_an_async_log_gets_the_request_headers_with_the_credential_redacted(gateway, mockctl) -> None:
    log = sid()
    config = target(
        mockctl,
        sid(),
        output_guardrails=[{"default.log": {"logURL": mockctl.url + f"/s/id={log}/hooks/log"}, "async": True}],
    )
    client(gateway, config).chat.completions.create(model="m", messages=QUESTION)
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and not mockctl.requests(log):
        time.sleep(0.05)
    posted = mockctl.requests(log)
    assert posted, "the async log ran after the response"
    headers = {name.lower(): value for name, value in json.loads(posted[0]["body"])["request"]["headers"].items()}
    assert headers["authorization"] == "[REDACTED]"  # the header is logged, its value is not
    assert API_KEY not in posted[0]["body"]
    assert not [name for name, value in posted[0]["headers"].items() if API_KEY in value]


def test_a_synchronous_webhook_decides(gateway, mockctl) -> None:
    hook = sid()
    webhook = mockctl.url + f"/s/id={hook},status=1/hooks/webhook"
    config = target(mockctl, sid(), input_guardrails=[{"default.webhook": {"webhookURL": webhook}, "deny": True}])
    with pytest.raises(openai.APIStatusError) as caught:
        client(gateway, config).chat.completions.create(model="m", messages=QUESTION)
    assert caught.value.status_code == 446 and len(mockctl.requests(hook)) == 1


def test_a_streamed_answer_denied_by_an_output_guardrail_ends_with_an_error_event(gateway, mockctl) -> None:
    config = target(
        mockctl, sid(), output_guardrails=[{"default.contains": {"operator": "none", "words": ["Apple"]}, "deny": True}]
    )
    resp = requests.post(
        gateway.url + "/v1/chat/completions",
        timeout=10,
        headers={"x-portkey-config": json.dumps(config), "Authorization": "Bearer k"},
        json={"model": "m", "messages": QUESTION, "stream": True},
    )
    events = resp.text.strip().split("\n\n")
    assert b"[DONE]" not in resp.content
    last = json.loads(events[-1].removeprefix("data: "))
    assert last["error"]["code"] == "guardrail_denied"
    text = "".join(
        json.loads(e.removeprefix("data: "))["choices"][0]["delta"].get("content") or ""
        for e in events[:-1]
        if json.loads(e.removeprefix("data: ")).get("choices")
    )
    assert text == "echo: Tell me about Apple pie"  # sent as it streamed; the verdict arrives in-band
    with pytest.raises(openai.APIError, match="denied by an output guardrail"):
        list(client(gateway, config).chat.completions.create(model="m", messages=QUESTION, stream=True))


def test_a_streamed_answer_that_passes_ends_normally(gateway, mockctl) -> None:
    config = target(
        mockctl, sid(), output_guardrails=[{"default.contains": {"operator": "any", "words": ["Apple"]}, "deny": True}]
    )
    chunks = list(client(gateway, config).chat.completions.create(model="m", messages=QUESTION, stream=True))
    assert streamed_text(chunks) == "echo: Tell me about Apple pie"


def test_default_guardrail_headers_apply_to_every_target(gateway, mockctl) -> None:
    s = sid()
    guard = json.dumps([{"default.contains": {"operator": "none", "words": ["pie"]}, "deny": True}])
    resp = requests.post(
        gateway.url + "/v1/chat/completions",
        timeout=10,
        json={"model": "m", "messages": QUESTION},
        headers={
            "x-portkey-provider": "openai",
            "Authorization": "Bearer k",
            "x-portkey-custom-host": mockctl.base(id=s),
            "x-portkey-default-input-guardrails": guard,
        },
    )
    assert resp.status_code == 446 and mockctl.requests(s) == []
    bad = requests.post(
        gateway.url + "/v1/chat/completions",
        json={"model": "m", "messages": QUESTION},
        headers={"x-portkey-provider": "openai", "x-portkey-default-input-guardrails": "[{"},
    )
    assert bad.status_code == 400 and "x-portkey-default-input-guardrails" in bad.json()["message"]


@pytest.mark.parametrize(
    ("guardrail", "fragment"),
    [
        ({"portkey.pii": {}}, "Unknown guardrail check 'portkey.pii'"),
        ({"default.regexMatch": {}}, "missing required parameter"),
        ({"deny": True}, "needs at least one check"),
    ],
)
def test_bad_guardrail_configs_are_400_at_validation(gateway, mockctl, guardrail, fragment) -> None:
    config = target(mockctl, sid(), input_guardrails=[guardrail])
    resp = requests.post(
        gateway.url + "/v1/chat/completions",
        json={"model": "m", "messages": QUESTION},
        headers={"x-portkey-config": json.dumps(config)},
    )
    assert resp.status_code == 400 and fragment in resp.json()["errors"][0]
    assert resp.json()["error"]["param"].startswith("input_guardrails[0]")


def test_guardrails_apply_to_messages_responses_completions_and_embeddings(gateway, mockctl) -> None:
    deny = {"default.contains": {"operator": "none", "words": ["Apple"]}, "deny": True}
    config = target(mockctl, sid(), input_guardrails=[deny])
    ant = anthropic.Anthropic(
        base_url=gateway.url, api_key="k", max_retries=0, default_headers={"x-portkey-config": json.dumps(config)}
    )
    with pytest.raises(anthropic.APIStatusError) as caught:
        ant.messages.create(model="m", max_tokens=10, messages=QUESTION)
    assert caught.value.status_code == 446 and caught.value.body["type"] == "error"
    assert "hook_results" in caught.value.response.json()
    oai = client(gateway, config)
    for call in (
        lambda: oai.responses.create(model="m", input="Apple pie?"),
        lambda: oai.completions.create(model="m", prompt="Apple pie?"),
        lambda: oai.embeddings.create(model="e", input="Apple pie?"),
    ):
        with pytest.raises(openai.APIStatusError) as caught:
            call()
        assert caught.value.status_code == 446


def test_output_guardrails_see_the_answer_of_a_native_messages_call(gateway, mockctl) -> None:
    """Anthropic serves /v1/messages natively; with after-hooks the gateway reads the answer in chat terms."""
    s = sid()
    must_echo = {"default.contains": {"operator": "any", "words": ["echo"]}, "deny": True}
    config = {
        "provider": "anthropic",
        "api_key": "k",
        "custom_host": mockctl.base(id=s),
        "output_guardrails": [must_echo],
    }
    ant = anthropic.Anthropic(
        base_url=gateway.url, api_key="k", max_retries=0, default_headers={"x-portkey-config": json.dumps(config)}
    )
    raw = ant.messages.with_raw_response.create(model="claude-x", max_tokens=10, messages=QUESTION)
    answer = raw.parse()
    assert raw.status_code == 200 and answer.content[0].text == "echo: Tell me about Apple pie"
    assert answer.type == "message" and answer.stop_reason == "end_turn"
    assert json.loads(raw.http_response.content)["hook_results"]["after_request_hooks"][0]["verdict"] is True
    assert mockctl.requests(s)[0]["path"].endswith("/v1/messages")


def test_output_guardrails_read_a_streamed_legacy_completion(gateway, mockctl) -> None:
    s = sid()
    config = target(mockctl, s, output_guardrails=[{"default.notNull": {}, "deny": True}])
    chunks = list(client(gateway, config).completions.create(model="m", prompt="Apple pie?", stream=True))
    assert "".join(c.choices[0].text for c in chunks if c.choices) == "echo: Apple pie?"


def test_a_stream_whose_request_failed_a_check_is_246_and_not_cached(gateway, mockctl) -> None:
    s = sid()
    config = target(
        mockctl,
        s,
        input_guardrails=[{"default.wordCount": {"minWords": 10, "maxWords": 99}}],
        cache={"mode": "simple"},
    )
    raw = client(gateway, config).chat.completions.with_raw_response.create(model="m", messages=QUESTION, stream=True)
    assert raw.status_code == 246
    assert streamed_text(raw.parse()) == "echo: Tell me about Apple pie"
    again = client(gateway, config).chat.completions.with_raw_response.create(model="m", messages=QUESTION)
    assert again.headers["x-portkey-cache-status"] == "MISS" and again.status_code == 246
    assert len(mockctl.requests(s)) == 2


@pytest.mark.parametrize(("path", "named"), [("/v1/chat/completions", False), ("/v1/messages", True)])
def test_non_strict_streams_start_with_the_input_hook_results(gateway, mockctl, path, named) -> None:
    config = target(mockctl, sid(), input_guardrails=[{"default.wordCount": {"minWords": 1, "maxWords": 99}}])
    body = {"model": "m", "max_tokens": 20, "messages": QUESTION, "stream": True}
    headers = {"x-portkey-config": json.dumps(config), "Authorization": "Bearer k"}
    strict = requests.post(gateway.url + path, json=body, headers=headers, timeout=10)
    assert strict.status_code == 200 and "hook_results" not in strict.text
    relaxed = requests.post(
        gateway.url + path,
        json=body,
        headers={**headers, "x-portkey-strict-open-ai-compliance": "false"},
        timeout=10,
    )
    first, rest = relaxed.text.split("\n\n", 1)
    lines = first.split("\n")
    assert lines[:-1] == (["event: hook_results"] if named else [])
    hooks = json.loads(lines[-1].removeprefix("data: "))["hook_results"]["before_request_hooks"]
    assert hooks[0]["verdict"] is True and hooks[0]["checks"][0]["id"] == "default.wordCount"
    assert "hook_results" not in rest and ("message_stop" in rest if named else rest.endswith("data: [DONE]\n\n"))
