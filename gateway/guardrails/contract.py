"""What a guardrail check sees and returns: the contract between hooks and checks.

A check is ``check(context, parameters, io) -> CheckResult``. ``HookContext`` carries the
request (and, after the provider answered, the response) in OpenAI chat terms, whatever
format the client spoke, plus the text under test: for requests the last message's text
parts joined by newlines (chat, messages, responses), the prompt (completions) or the input
(embeddings); for responses the first choice's message content (or text). Mutating checks
return a rewritten request or response JSON. ``CheckIO`` is how checks reach the network
(webhooks, logs, JWKS, URL probes), always with timeouts and the SSRF rules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

BEFORE = "beforeRequestHook"
AFTER = "afterRequestHook"


@dataclass
class HookContext:
    """The request (and response) a hook looks at."""

    event: str
    fn: str
    request_json: dict[str, Any]
    response_json: dict[str, Any] | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    provider: str = ""
    request_headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def model(self) -> str:
        """The requested model."""
        model = self.request_json.get("model")
        return model if isinstance(model, str) else ""

    @property
    def text(self) -> str:
        """The text under test for this event (request text before, response text after)."""
        return (
            request_text(self.fn, self.request_json)
            if self.event == BEFORE
            else response_text(self.fn, self.response_json or {})
        )


@dataclass
class CheckResult:
    """A check's outcome: verdict, explanation data, an error, and an optional rewrite."""

    verdict: bool
    data: dict[str, Any] | None = None
    error: str | None = None
    transformed_request: dict[str, Any] | None = None
    transformed_response: dict[str, Any] | None = None

    @property
    def transformed(self) -> bool:
        """Whether the check rewrote the request or the response."""
        return self.transformed_request is not None or self.transformed_response is not None


class HttpAnswer(Protocol):
    status: int
    headers: Mapping[str, str]
    body: bytes


class CheckIO(Protocol):
    """Network access for checks (all calls time out; targets are SSRF-checked unless trusted)."""

    def post_json(self, url: str, payload: Any, headers: Mapping[str, str], timeout: float) -> HttpAnswer: ...

    def get(self, url: str, headers: Mapping[str, str], timeout: float) -> HttpAnswer: ...

    def head(self, url: str, timeout: float) -> HttpAnswer: ...

    def cached(self, key: str, ttl: float, fetch: Callable[[], Any]) -> Any: ...


# -- text under test -----------------------------------------------------------------------------


def _parts_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # non-empty text parts, as the reference joins them
        return "\n".join(
            p["text"] for p in content if isinstance(p, Mapping) and p.get("type") == "text" and p.get("text")
        )
    return ""


def request_text(fn: str, request: Mapping[str, Any]) -> str:
    """The request text checks look at."""
    if fn == "complete":
        prompt = request.get("prompt")
        return prompt if isinstance(prompt, str) else "\n".join(p for p in prompt or [] if isinstance(p, str))
    if fn == "embed":
        value = request.get("input")
        return value if isinstance(value, str) else "\n".join(v for v in value or [] if isinstance(v, str))
    messages = request.get("messages") or []
    return _parts_text(messages[-1].get("content")) if messages else ""


def response_text(fn: str, response: Mapping[str, Any]) -> str:
    """The response text checks look at."""
    choices = response.get("choices") or []
    if not choices:
        return ""
    choice = choices[0]
    if fn == "complete":
        return str(choice.get("text") or "")
    return _parts_text((choice.get("message") or {}).get("content"))
