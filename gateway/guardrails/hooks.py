"""Run guardrails and mutators before and after the provider call.

Config: full hook objects in ``before_request_hooks`` / ``after_request_hooks`` and the
shorthand lists ``input_guardrails``, ``output_guardrails``, ``input_mutators``,
``output_mutators`` (each element ``{"default.contains": {...params}, "deny": true}``: the keys
``deny``, ``on_fail``, ``on_success``, ``async``, ``id``, ``type``, ``sequential`` configure the
hook, every other key is a check; a check id without a namespace means ``default.``). The
``x-portkey-default-input-guardrails`` / ``-output-guardrails`` headers add shorthand hooks to
every target. Unknown checks and missing required parameters are config errors (a 400), not
silent passes.

A check passes when its verdict is true, or when it errored and ``failOnError`` is not set
(also for checks that raise). A hook passes when all its enabled checks pass. A failed hook
with ``deny`` stops the request: 446 before the provider is called, or 446 instead of its
answer; failed hooks without ``deny`` mark an answer 246. Mutators rewrite the request or the
answer. ``async`` hooks run after the response, off the request path, and only log.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gateway.core.errors import config_error
from gateway.core.safelog import log_unexpected
from gateway.guardrails.contract import AFTER, BEFORE, CheckIO, CheckResult, HookContext
from gateway.guardrails.default.registry import CHECKS, validate_check

log = logging.getLogger("gateway.guardrails.hooks")

HOOK_FNS = frozenset({"chatComplete", "complete", "embed", "messages", "responses"})
_HOOK_FIELDS = frozenset(
    {
        "deny",
        "on_fail",
        "on_success",
        "async",
        "id",
        "type",
        "sequential",
        "guardrail_version_id",
        "onFail",
        "onSuccess",
    }
)
_IO_CHECKS = frozenset({"webhook", "log", "jwt", "validUrls"})
DENIED_MESSAGE = (
    "The guardrail checks defined in the config failed. You can find more information in the `hook_results` object."
)


@dataclass
class CheckSpec:
    """One configured check."""

    id: str
    name: str
    parameters: dict[str, Any]
    enabled: bool = True


@dataclass
class Hook:
    """One configured hook (a guardrail or a mutator) for one event."""

    id: str
    type: str
    event: str
    checks: list[CheckSpec]
    deny: bool = False
    is_async: bool = False
    sequential: bool = False
    on_fail: Any = None
    on_success: Any = None


@dataclass
class HookRun:
    """What running one event's hooks produced."""

    results: list[dict[str, Any]] = field(default_factory=list)
    denied: bool = False
    failed: bool = False
    request: dict[str, Any] | None = None
    response: dict[str, Any] | None = None


def _name(check_id: str) -> str:
    return check_id.split(".", 1)[1] if check_id.startswith("default.") else check_id


def _check(check_id: str, parameters: Any, enabled: bool, path: tuple) -> CheckSpec:
    full = check_id if "." in check_id else f"default.{check_id}"
    params = dict(parameters) if isinstance(parameters, Mapping) else {}
    problem = validate_check(full, params)
    if problem:
        raise config_error(path, problem)
    return CheckSpec(full, _name(full), params, enabled)


def _shorthand(element: Any, event: str, kind: str, index: int, path: tuple) -> Hook:
    if not isinstance(element, Mapping):
        raise config_error(path, "Saved guardrail ids are not supported; give the checks inline")
    checks = [_check(key, value, True, path + (key,)) for key, value in element.items() if key not in _HOOK_FIELDS]
    if not checks:
        raise config_error(path, "A guardrail needs at least one check")
    prefix = "input" if event == BEFORE else "output"
    return _hook(element, event, checks, f"{prefix}_{kind}_{index}", kind)


def _full(element: Any, event: str, index: int, path: tuple) -> Hook:
    if not isinstance(element, Mapping) or not isinstance(element.get("checks"), list):
        raise config_error(path, "A hook needs a checks list")
    checks = [
        _check(str(c.get("id", "")), c.get("parameters"), c.get("is_enabled", True) is not False, path + ("checks", i))
        for i, c in enumerate(element["checks"])
        if isinstance(c, Mapping)
    ]
    return _hook(element, event, checks, f"{event}_{index}", "guardrail")


def _hook(element: Mapping[str, Any], event: str, checks: list[Any], default_id: str, default_type: str) -> Hook:
    """Build a hook from the settings its config object shares with every other form."""
    return Hook(
        id=str(element.get("id") or default_id),
        type=str(element.get("type") or default_type),
        event=event,
        checks=checks,
        deny=bool(element.get("deny", False)),
        is_async=bool(element.get("async", False)),
        sequential=bool(element.get("sequential", False)),
        on_fail=element.get("on_fail", element.get("onFail")),
        on_success=element.get("on_success", element.get("onSuccess")),
    )


def compile_hooks(
    raw: Mapping[str, list[Any]], default_in: list[Any], default_out: list[Any], path: tuple = ()
) -> tuple[list[Hook], list[Hook]]:
    """Turn a node's hook settings (plus header defaults) into before and after hook lists."""
    before: list[Hook] = []
    after: list[Hook] = []
    for key, event, target in (("before_request_hooks", BEFORE, before), ("after_request_hooks", AFTER, after)):
        for i, element in enumerate(raw.get(key) or []):
            target.append(_full(element, event, i, path + (key, i)))
    for key, event, kind, target in (
        ("input_guardrails", BEFORE, "guardrail", before),
        ("input_mutators", BEFORE, "mutator", before),
        ("output_guardrails", AFTER, "guardrail", after),
        ("output_mutators", AFTER, "mutator", after),
    ):
        for i, element in enumerate(raw.get(key) or []):
            target.append(_shorthand(element, event, kind, i, path + (key, i)))
    for header, items, event, target in (
        ("x-portkey-default-input-guardrails", default_in, BEFORE, before),
        ("x-portkey-default-output-guardrails", default_out, AFTER, after),
    ):
        first = len(target)
        for i, element in enumerate(items):
            target.append(_shorthand(element, event, "guardrail", first + i, (header, i)))
    return before, after


# -- execution -----------------------------------------------------------------------------------


def _stamp() -> str:
    return datetime.now(UTC).isoformat()


def _fail_on_error(parameters: Mapping[str, Any]) -> bool:
    return bool(parameters.get("failOnError", parameters.get("fail_on_error", False)))


def _run_check(spec: CheckSpec, context: HookContext, io: CheckIO) -> tuple[CheckResult, dict[str, Any]]:
    started = time.perf_counter()
    try:
        result = CHECKS[spec.name].run(context, spec.parameters, io)
    except Exception as exc:  # noqa: BLE001 - a throwing check is an erroring check, not a crash
        log.warning("guardrail check %s raised %s", spec.id, exc.__class__.__name__)
        result = CheckResult(verdict=False, error=f"{exc.__class__.__name__}: {exc}")
    fail_on_error = _fail_on_error(spec.parameters)
    passed = result.verdict or (result.error is not None and not fail_on_error)
    report = {
        "verdict": passed,
        "id": spec.id,
        "data": result.data,
        "error": {"name": "CheckError", "message": result.error} if result.error else None,
        "execution_time": round((time.perf_counter() - started) * 1000, 3),
        "created_at": _stamp(),
        "transformed": result.transformed,
        "fail_on_error": fail_on_error,
    }
    return result, report


def _run_hook(hook: Hook, context: HookContext, io: CheckIO) -> tuple[dict[str, Any], HookContext]:
    started = time.perf_counter()
    checks = [c for c in hook.checks if c.enabled]
    outcomes: list[tuple[CheckResult, dict[str, Any]] | None] = [None] * len(checks)
    parallel = hook.type == "guardrail" and not hook.sequential and sum(c.name in _IO_CHECKS for c in checks) > 1
    if parallel:

        def worker(i: int) -> None:
            outcomes[i] = _run_check(checks[i], context, io)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(checks))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    else:
        for i, spec in enumerate(checks):
            result, report = _run_check(spec, context, io)
            outcomes[i] = (result, report)
            if result.transformed_request is not None:
                context = HookContext(
                    context.event,
                    context.fn,
                    result.transformed_request,
                    context.response_json,
                    context.metadata,
                    context.provider,
                    context.request_headers,
                )
            if result.transformed_response is not None:
                context = HookContext(
                    context.event,
                    context.fn,
                    context.request_json,
                    result.transformed_response,
                    context.metadata,
                    context.provider,
                    context.request_headers,
                )
    reports = [o[1] for o in outcomes if o is not None]
    verdict = all(r["verdict"] for r in reports)
    return {
        "verdict": verdict,
        "id": hook.id,
        "transformed": any(r["transformed"] for r in reports),
        "checks": reports,
        "feedback": (hook.on_success if verdict else hook.on_fail) or None,
        "execution_time": round((time.perf_counter() - started) * 1000, 3),
        "async": False,
        "type": hook.type,
        "created_at": _stamp(),
        "deny": hook.deny,
        "skipped": False,
    }, context


def run_hooks(hooks: list[Hook], context: HookContext, io: CheckIO) -> HookRun:
    """Run one event's synchronous hooks in order; start the ``async`` ones in the background."""
    run = HookRun()
    original_request, original_response = context.request_json, context.response_json
    for hook in hooks:
        if hook.is_async:
            snapshot = context
            threading.Thread(target=_background, args=(hook, snapshot, io), daemon=True).start()
            continue
        report, context = _run_hook(hook, context, io)
        run.results.append(report)
        if not report["verdict"]:
            run.failed = True
            run.denied = run.denied or (hook.deny and hook.type == "guardrail")
    if context.request_json is not original_request:
        run.request = context.request_json
    if context.response_json is not original_response:
        run.response = context.response_json
    return run


def _background(hook: Hook, context: HookContext, io: CheckIO) -> None:
    try:
        report, _ = _run_hook(hook, context, io)
        log.info("async hook %s (%s) verdict=%s", hook.id, hook.event, report["verdict"])
    except Exception as exc:  # noqa: BLE001 - logged without its text
        log_unexpected(log, exc, "async hook %s failed", hook.id)


def denied_body(hook_results: Mapping[str, Any]) -> dict[str, Any]:
    """The 446 body."""
    return {
        "error": {"message": DENIED_MESSAGE, "type": "hooks_failed", "param": None, "code": None},
        "hook_results": dict(hook_results),
    }
