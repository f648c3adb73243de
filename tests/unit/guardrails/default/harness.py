"""What the default-check tests share: a fake ``CheckIO``, hook contexts, and ``run`` / ``check``.

Plain helpers, not fixtures: the tests use them inside ``pytest.mark.parametrize`` tables, which are
built when the module is imported. ``FakeIO`` answers from a table (url -> ``Answer``, exception, or
``callable(url, payload)``) and records every call; a url it has no answer for fails like a refused
connection.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from gateway.guardrails.contract import AFTER, BEFORE, CheckResult, HookContext
from gateway.guardrails.default.registry import CHECKS


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"{}"


def json_answer(value: Any, status: int = 200) -> Answer:
    return Answer(status, {"content-type": "application/json"}, json.dumps(value).encode())


class FakeIO:
    """A ``CheckIO`` answering from a table: url -> Answer, exception, or callable(url, payload)."""

    def __init__(self, routes: dict[str, Any] | None = None) -> None:
        self.routes = routes or {}
        self.calls: list[tuple[str, str, Any, dict, float]] = []
        self.store: dict[str, Any] = {}

    def _answer(self, method: str, url: str, payload: Any, headers: Any, timeout: float) -> Answer:
        self.calls.append((method, url, payload, dict(headers or {}), timeout))
        route = self.routes.get(url)
        if route is None:
            raise OSError(f"{method} {url} failed: connection refused")
        if isinstance(route, Exception):
            raise route
        return route(url, payload) if callable(route) else route

    def post_json(self, url, payload, headers, timeout):
        return self._answer("POST", url, payload, headers, timeout)

    def get(self, url, headers, timeout):
        return self._answer("GET", url, None, headers, timeout)

    def head(self, url, timeout):
        return self._answer("HEAD", url, None, {}, timeout)

    def cached(self, key, ttl, fetch):
        if key not in self.store:
            self.store[key] = fetch()
        return self.store[key]


CHAT_REQUEST = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello"}]}


def after(text: Any, fn: str = "chatComplete", **kw: Any) -> HookContext:
    """An after-request context whose answer is ``text``."""
    choice = {"text": text} if fn == "complete" else {"message": {"role": "assistant", "content": text}}
    return HookContext(AFTER, fn, kw.pop("request", CHAT_REQUEST), {"choices": [choice]}, **kw)


def before(request: dict[str, Any] | None = None, fn: str = "chatComplete", **kw: Any) -> HookContext:
    return HookContext(BEFORE, fn, request if request is not None else CHAT_REQUEST, None, **kw)


def user(text: str) -> HookContext:
    return before({"model": "gpt-4o", "messages": [{"role": "user", "content": text}]})


def run(name: str, parameters: dict[str, Any], context: HookContext, io: Any = None) -> CheckResult:
    return CHECKS[name].run(context, parameters, io or FakeIO())


def check(result: CheckResult, expected: bool, /, error: str | None = None, data: dict | None = None, **subset: Any):
    assert result.verdict is expected, result
    if error is None:
        assert result.error is None, result.error
    else:
        assert result.error is not None and error in result.error, result.error
    if data is not None:
        assert result.data == data
    for key, value in subset.items():
        assert result.data[key] == value, (key, result.data)
