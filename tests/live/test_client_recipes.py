"""The README's recipes for Claude Code and the Codex CLI, replayed from captured requests (issue 15, items 10-13).

Each fixture in ``tests/fixtures/clients/`` is one turn of the real client as it reaches the gateway
(headers and body). The test adds what the README's recipe makes the client add (Claude Code's
``ANTHROPIC_CUSTOM_HEADERS`` and model variables, Codex's ``http_headers``), points the provider at
the mock with ``x-portkey-custom-host`` (the only test-only header), sends the bytes with ``requests``
and checks what the provider received and what the client got back.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from tests.conformance import check_anthropic_events
from tests.support import scenario_id

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "clients"

#: The README recipe for Claude Code against an OpenAI model: ``ANTHROPIC_CUSTOM_HEADERS`` (one
#: ``Name: Value`` per line, as Claude Code parses it) and ``ANTHROPIC_MODEL``.
CLAUDE_TO_OPENAI = {"ANTHROPIC_CUSTOM_HEADERS": "x-portkey-provider: openai", "ANTHROPIC_MODEL": "gpt-4o"}
CLAUDE_TO_ANTHROPIC = {"ANTHROPIC_CUSTOM_HEADERS": "x-portkey-provider: anthropic"}
#: The README recipe for Codex: ``[model_providers.gateway] http_headers = {...}``.
CODEX_HTTP_HEADERS = {"openai": {"x-portkey-provider": "openai"}, "anthropic": {"x-portkey-provider": "anthropic"}}


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def custom_headers(value: str) -> dict[str, str]:
    """Parse ``ANTHROPIC_CUSTOM_HEADERS`` the way Claude Code does: ``Name: Value`` lines."""
    out = {}
    for line in value.splitlines():
        name, sep, rest = line.partition(":")
        if sep and name.strip():
            out[name.strip()] = rest.strip()
    return out


def sse_events(raw: bytes) -> list[tuple[str, dict]]:
    events = []
    for block in raw.decode().split("\n\n"):
        name, data = "", None
        for line in block.splitlines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                payload = line[5:].strip()
                data = json.loads(payload) if payload.startswith("{") else payload
        if data is not None:
            events.append((name, data))
    return events


def replay_claude_code(gateway, mockctl, recipe: dict[str, str], *, stream: bool = True):
    captured = fixture("claude_code_messages.json")
    sid = scenario_id()
    body = dict(captured["body"], stream=stream)
    if "ANTHROPIC_MODEL" in recipe:
        body["model"] = recipe["ANTHROPIC_MODEL"]
    headers = {
        **captured["headers"],
        "authorization": "Bearer sk-provider-key",  # ANTHROPIC_AUTH_TOKEN
        **custom_headers(recipe["ANTHROPIC_CUSTOM_HEADERS"]),
        "x-portkey-custom-host": mockctl.base(id=sid),
    }
    response = requests.post(gateway.url + captured["path"], json=body, headers=headers, timeout=20)
    return response, mockctl.requests(sid)


def test_claude_code_to_an_openai_model(gateway, mockctl) -> None:
    response, received = replay_claude_code(gateway, mockctl, CLAUDE_TO_OPENAI)
    assert response.status_code == 200, response.text
    events = sse_events(response.content)
    check_anthropic_events(events)
    text = "".join(d["delta"].get("text", "") for n, d in events if n == "content_block_delta")
    assert text == "echo: now review app.py"
    sent = json.loads(received[0]["body"])
    assert received[0]["path"] == "/v1/chat/completions"
    assert received[0]["headers"]["authorization"] == "Bearer sk-provider-key"
    # item 10: the mid-conversation system turn stays a system instruction, in its place
    roles = [m["role"] for m in sent["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "system", "user"]
    assert sent["messages"][4] == {
        "role": "system",
        "content": "You are the code-reviewer agent. Review only; never edit files.",
    }
    # item 11: Anthropic-only fields never reach the chat body; they are named instead
    assert "context_management" not in sent and "thinking" not in sent and "metadata" not in sent
    assert [t["function"]["name"] for t in sent["tools"]] == ["Bash", "Read"]
    unmapped = response.headers["x-portkey-unmapped-params"].split(",")
    assert "context_management" in unmapped and "tools.web_search_20250305" in unmapped
    # item 11: max_tokens clamped to what gpt-4o accepts (16,384), reasoning effort mapped from thinking
    assert sent["max_tokens"] == 16384
    assert sent["reasoning_effort"] == "high"
    assert sent["user"].startswith("user_")


def test_claude_code_to_anthropic_is_relayed_untouched(gateway, mockctl) -> None:
    response, received = replay_claude_code(gateway, mockctl, CLAUDE_TO_ANTHROPIC, stream=False)
    assert response.status_code == 200, response.text
    assert response.json()["type"] == "message"
    sent = json.loads(received[0]["body"])
    assert sent == fixture("claude_code_messages.json")["body"] | {"stream": False}
    assert received[0]["headers"]["anthropic-beta"].startswith("claude-code-20250219")
    assert "x-portkey-unmapped-params" not in response.headers


def test_claude_code_system_turn_is_not_a_400_for_any_backend(gateway, mockctl) -> None:
    for recipe in (CLAUDE_TO_OPENAI, CLAUDE_TO_ANTHROPIC):
        response, _ = replay_claude_code(gateway, mockctl, recipe, stream=False)
        assert response.status_code == 200, response.text


def replay_codex(gateway, mockctl, provider: str, *, stream: bool = True):
    captured = fixture("codex_responses.json")
    sid = scenario_id()
    body = dict(captured["body"], stream=stream)
    headers = {
        **captured["headers"],
        "authorization": "Bearer sk-provider-key",  # env_key
        **CODEX_HTTP_HEADERS[provider],
        "x-portkey-custom-host": mockctl.base(id=sid),
    }
    if not stream:
        headers["accept"] = "application/json"
    response = requests.post(gateway.url + captured["path"], json=body, headers=headers, timeout=20)
    return response, mockctl.requests(sid)


def test_codex_to_openai_gets_the_body_untouched(gateway, mockctl) -> None:
    response, received = replay_codex(gateway, mockctl, "openai", stream=False)
    assert response.status_code == 200, response.text
    assert received[0]["path"] == "/v1/responses"
    assert json.loads(received[0]["body"]) == fixture("codex_responses.json")["body"] | {"stream": False}
    assert "x-portkey-unmapped-params" not in response.headers


def test_codex_history_items_the_chat_layer_cannot_express_still_reach_openai(gateway, mockctl) -> None:
    captured = fixture("codex_responses.json")
    sid = scenario_id()
    body = dict(captured["body"], stream=False)
    body["input"] = body["input"] + [
        {
            "type": "local_shell_call",
            "call_id": "call_1",
            "status": "completed",
            "action": {"type": "exec", "command": ["ls"]},
        },
        {"type": "local_shell_call_output", "call_id": "call_1", "output": "app.py"},
    ]
    headers = {
        "authorization": "Bearer k",
        "x-portkey-provider": "openai",
        "x-portkey-custom-host": mockctl.base(id=sid),
    }
    response = requests.post(gateway.url + "/v1/responses", json=body, headers=headers, timeout=20)
    assert response.status_code == 200, response.text
    assert json.loads(mockctl.requests(sid)[0]["body"])["input"][-1]["type"] == "local_shell_call_output"


@pytest.mark.parametrize("stream", [False, True])
def test_codex_to_a_translated_provider_drops_built_in_tools_with_a_note(gateway, mockctl, stream) -> None:
    response, received = replay_codex(gateway, mockctl, "anthropic", stream=stream)
    assert response.status_code == 200, response.text
    sent = json.loads(received[0]["body"])
    assert received[0]["path"] == "/v1/messages"
    assert [t["name"] for t in sent["tools"]] == ["shell", "update_plan", "mcp__docs__search"]
    assert "client_metadata" not in json.dumps(sent)
    unmapped = response.headers["x-portkey-unmapped-params"].split(",")
    assert "tools.web_search" in unmapped and not any("namespace" in name for name in unmapped)
    assert "client_metadata" in unmapped
    if stream:
        names = [n for n, _ in sse_events(response.content)]
        assert names[0] == "response.created" and names[-1] == "response.completed"
    else:
        assert response.json()["status"] == "completed"
