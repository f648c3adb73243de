"""Validate what clients send to the OpenAI-format endpoints (marshmallow schemas).

Schemas check types and ranges and report the path of the first bad field; they never
rewrite the body: the gateway validates, then forwards or translates the original dict.
Every schema uses ``unknown = INCLUDE``, so fields the gateway does not model pass through.
Numbers are strict (``"5"`` is not 5) and booleans must be JSON booleans. Rules across fields are
plain functions in a schema's ``rules`` (``BodySchema`` runs them on its quick pass too).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import INCLUDE, Schema, ValidationError, fields, validates_schema
from marshmallow.validate import Length, OneOf, Range

ROLES = ("system", "user", "assistant", "tool", "developer", "function")


class StrictBoolean(fields.Boolean):
    """A boolean that accepts only JSON ``true`` / ``false``."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class Number(fields.Float):
    """A JSON number (not a numeric string, not a boolean)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class StringOrList(fields.Field):
    """A string or a list of strings (``stop``)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            return value
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        raise ValidationError("Must be a string or a list of strings.")


class _Open(Schema):
    """A schema that lets undeclared fields through and checks its ``rules`` after its fields."""

    class Meta:
        unknown = INCLUDE

    #: Rules across fields: each takes the body and raises ``ValidationError`` (naming its field).
    rules: tuple[Callable[[dict[str, Any]], None], ...] = ()

    @validates_schema
    def _rules(self, data: dict[str, Any], **_: Any) -> None:
        for rule in self.rules:
            rule(data)


def stream_options_need_stream(body: dict[str, Any]) -> None:
    if body.get("stream_options") is not None and body.get("stream") is not True:
        raise ValidationError("stream_options is only allowed when stream is true.", "stream_options")


def tool_choice_shape(body: dict[str, Any]) -> None:
    choice = body.get("tool_choice")
    if choice is None or choice in ("auto", "none", "required"):
        return
    if isinstance(choice, dict) and isinstance(choice.get("type"), str):
        return
    raise ValidationError("Must be 'auto', 'none', 'required' or an object naming a tool.", "tool_choice")


def embedding_input_shape(body: dict[str, Any]) -> None:
    value = body.get("input")
    if isinstance(value, str) or (isinstance(value, list) and value):
        return
    raise ValidationError("Must be a string or a non-empty list.", "input")


_ROLE_ERROR = f"Must be one of: {', '.join(ROLES)}."


def _message_errors(message: Any) -> dict[str, list[str]]:
    """Return the field errors of one chat message (empty when it is valid)."""
    if not isinstance(message, dict):
        return {"_schema": ["Invalid input type."]}
    errors: dict[str, Any] = {}
    role = message.get("role")
    if role is None:
        errors["role"] = ["Missing data for required field."]
    elif role not in ROLES:
        errors["role"] = [_ROLE_ERROR]
    content = message.get("content")
    if content is not None:
        if isinstance(content, list):
            for i, part in enumerate(content):
                if not isinstance(part, dict) or not isinstance(part.get("type"), str):
                    errors["content"] = {i: {"type": ["Each content part needs a string type."]}}
                    break
        elif not isinstance(content, str):
            errors["content"] = ["Must be a string, a list of content parts or null."]
    for key in ("name", "tool_call_id"):
        if key in message and not isinstance(message[key], str):
            errors[key] = ["Not a valid string."]
    calls = message.get("tool_calls")
    if calls is not None and not (isinstance(calls, list) and all(isinstance(c, dict) for c in calls)):
        errors["tool_calls"] = ["Must be a list of tool call objects."]
    return errors


class Messages(fields.Field):
    """A non-empty list of chat messages, checked in one pass (a nested schema per message costs ~5x more)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, list):
            raise ValidationError("Not a valid list.")
        if not value:
            raise ValidationError("Shorter than minimum length 1.")
        errors = {i: e for i, e in enumerate(map(_message_errors, value)) if e}
        if errors:
            raise ValidationError(errors)
        return value


class FunctionSchema(_Open):
    name = fields.String(required=True, validate=Length(min=1))
    description = fields.String()
    parameters = fields.Dict()


class ToolSchema(_Open):
    type = fields.String(required=True)
    function = fields.Nested(FunctionSchema)


class StreamOptionsSchema(_Open):
    include_usage = StrictBoolean()


class ResponseFormatSchema(_Open):
    type = fields.String(required=True, validate=OneOf(("text", "json_object", "json_schema")))
    json_schema = fields.Dict()


class _Sampling(_Open):
    model = fields.String(validate=Length(min=1))
    stream = StrictBoolean()
    temperature = Number(validate=Range(0, 2))
    top_p = Number(validate=Range(0, 1))
    n = fields.Integer(strict=True, validate=Range(min=1))
    max_tokens = fields.Integer(strict=True, validate=Range(min=1), allow_none=True)
    presence_penalty = Number(validate=Range(-2, 2))
    frequency_penalty = Number(validate=Range(-2, 2))
    seed = fields.Integer(strict=True)
    stop = StringOrList(allow_none=True)
    stream_options = fields.Nested(StreamOptionsSchema, allow_none=True)
    user = fields.String()

    rules = (stream_options_need_stream,)


class ChatCompletionSchema(_Sampling):
    messages = Messages(required=True)
    max_completion_tokens = fields.Integer(strict=True, validate=Range(min=1), allow_none=True)
    tools = fields.List(fields.Nested(ToolSchema))
    tool_choice = fields.Raw()
    parallel_tool_calls = StrictBoolean()
    response_format = fields.Nested(ResponseFormatSchema)
    logprobs = StrictBoolean(allow_none=True)
    top_logprobs = fields.Integer(strict=True, validate=Range(0, 20))
    reasoning_effort = fields.String(allow_none=True)

    rules = (stream_options_need_stream, tool_choice_shape)


class CompletionSchema(_Sampling):
    prompt = fields.Raw(required=True)
    echo = StrictBoolean()
    suffix = fields.String(allow_none=True)


class EmbeddingSchema(_Open):
    model = fields.String(validate=Length(min=1))
    input = fields.Raw(required=True)
    encoding_format = fields.String(validate=OneOf(("float", "base64")))
    dimensions = fields.Integer(strict=True, validate=Range(min=1))
    user = fields.String()

    rules = (embedding_input_shape,)


class AnthropicMessages(fields.Field):
    """Anthropic ``messages``: a non-empty list of user/assistant turns (and mid-conversation ``system``
    instructions) with string or block content."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, list):
            raise ValidationError("Not a valid list.")
        if not value:
            raise ValidationError("Shorter than minimum length 1.")
        errors: dict[int, Any] = {}
        for i, message in enumerate(value):
            if not isinstance(message, dict):
                errors[i] = {"_schema": ["Invalid input type."]}
            elif message.get("role") not in ("user", "assistant", "system"):
                errors[i] = {"role": ["Must be one of: user, assistant, system."]}
            elif not isinstance(message.get("content"), (str, list)):
                errors[i] = {"content": ["Must be a string or a list of content blocks."]}
            elif isinstance(message["content"], list):
                bad = next(
                    (
                        j
                        for j, b in enumerate(message["content"])
                        if not isinstance(b, dict) or not isinstance(b.get("type"), str)
                    ),
                    None,
                )
                if bad is not None:
                    errors[i] = {"content": {bad: {"type": ["Each content block needs a string type."]}}}
        if errors:
            raise ValidationError(errors)
        return value


class StringOrBlocks(fields.Field):
    """A string or a list of text blocks (Anthropic ``system``)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str) or (isinstance(value, list) and all(isinstance(b, dict) for b in value)):
            return value
        raise ValidationError("Must be a string or a list of text blocks.")


class MessagesSchema(_Open):
    """An Anthropic Messages request."""

    model = fields.String(required=True, validate=Length(min=1))
    max_tokens = fields.Integer(strict=True, required=True, validate=Range(min=1))
    messages = AnthropicMessages(required=True)
    system = StringOrBlocks()
    stream = StrictBoolean()
    temperature = Number(validate=Range(0, 1))
    top_p = Number(validate=Range(0, 1))
    top_k = fields.Integer(strict=True, validate=Range(min=0))
    stop_sequences = fields.List(fields.String())
    tools = fields.List(fields.Dict())
    tool_choice = fields.Dict()
    metadata = fields.Dict()
    thinking = fields.Dict()


class CountTokensSchema(MessagesSchema):
    """An Anthropic ``count_tokens`` request (``max_tokens`` not needed)."""

    max_tokens = fields.Integer(strict=True, validate=Range(min=1))


class ResponseInput(fields.Field):
    """Responses ``input``: a string or a list of input items."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            return value
        if not isinstance(value, list):
            raise ValidationError("Must be a string or a list of input items.")
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                raise ValidationError({i: ["Each input item must be an object."]})
            kind = item.get("type", "message")
            if kind == "message" and item.get("role") not in ("user", "assistant", "system", "developer"):
                raise ValidationError({i: {"role": ["Must be one of: user, assistant, system, developer."]}})
            if kind in ("function_call", "function_call_output") and not isinstance(item.get("call_id"), str):
                raise ValidationError({i: {"call_id": ["Missing data for required field."]}})
        return value


class ResponsesSchema(_Open):
    """An OpenAI Responses request."""

    model = fields.String(required=True, validate=Length(min=1))
    input = ResponseInput(required=True)
    instructions = fields.String(allow_none=True)
    previous_response_id = fields.String(allow_none=True)
    stream = StrictBoolean()
    store = StrictBoolean()
    temperature = Number(validate=Range(0, 2))
    top_p = Number(validate=Range(0, 1))
    max_output_tokens = fields.Integer(strict=True, validate=Range(min=1), allow_none=True)
    tools = fields.List(fields.Dict())
    tool_choice = fields.Raw()
    text = fields.Dict()
    reasoning = fields.Dict(allow_none=True)
    metadata = fields.Dict(allow_none=True)
    parallel_tool_calls = StrictBoolean()


#: Field classes whose ``deserialize`` returns a value of this exact type unchanged, after the field's
#: validators: a ``str`` for ``String``, an ``int`` (never a ``bool``, whose type is not ``int``) for ``Integer``,
#: a ``bool`` for ``StrictBoolean``. Other values (and other field classes) go through ``deserialize``.
_PLAIN_TYPES: dict[type, type] = {fields.String: str, fields.Integer: int, StrictBoolean: bool}


class BodySchema:
    """Validate bodies against a schema: a quick pass first, marshmallow's full load for the wording.

    The quick pass runs each declared field present in the body through its own ``deserialize``
    (type, null and ``validate=`` checks; nested schemas load as they do in a full load), checks
    the required fields are there and runs the schema's ``rules``: what a full load does, without
    building its result and error dictionaries. A value of a ``_PLAIN_TYPES`` field that already has
    the field's exact type skips ``deserialize`` (which would return it unchanged) and meets only the
    field's validators. A body it passes is valid; any problem sends the body to the full load, which
    finds and words the first error.
    """

    def __init__(self, schema_class: type[_Open]) -> None:
        self.schema_class = schema_class
        self.full = schema_class()
        fields_ = dict(self.full.fields)
        if any(f.data_key not in (None, name) for name, f in fields_.items()):
            raise TypeError(f"{schema_class.__name__}: the quick pass reads fields by name (no data_key)")
        self.required = tuple(name for name, f in fields_.items() if f.required)
        #: name -> (field, the exact type that needs only the validators or None, the field's validators)
        self.checks = {name: (f, _PLAIN_TYPES.get(type(f)), tuple(f.validators)) for name, f in fields_.items()}

    def passes_quickly(self, body: dict[str, Any]) -> bool:
        """Whether ``body`` is valid, checked without building marshmallow's load result."""
        for name in self.required:
            if name not in body:
                return False
        checks = self.checks
        try:
            for key, value in body.items():
                check = checks.get(key)
                if check is None:
                    continue
                field, plain, validators = check
                if type(value) is not plain:
                    field.deserialize(value, key, body)
                    continue
                for validator in validators:
                    if validator(value) is False:
                        return False
            for rule in self.schema_class.rules:
                rule(body)
        except ValidationError:
            return False
        return True

    def load(self, body: dict[str, Any]) -> Any:
        """Validate ``body`` with marshmallow's full load; raise ``ValidationError`` on the first problems."""
        return self.full.load(body)


messages = BodySchema(MessagesSchema)
count_tokens = BodySchema(CountTokensSchema)
responses = BodySchema(ResponsesSchema)
chat_completion = BodySchema(ChatCompletionSchema)
completion = BodySchema(CompletionSchema)
embedding = BodySchema(EmbeddingSchema)


def first_error(messages: Any, path: tuple = ()) -> tuple[str, str]:
    """Return ``(dotted path, message)`` of the first error in marshmallow's error dict."""
    if isinstance(messages, dict):
        for key, sub in messages.items():
            return first_error(sub, path if key == "_schema" else path + (key,))
    if isinstance(messages, list) and messages:
        head = messages[0]
        if isinstance(head, (dict, list)):
            return first_error(head, path)
        return ".".join(str(p) for p in path), str(head)
    return ".".join(str(p) for p in path), str(messages)


def validate(schema: BodySchema, body: dict[str, Any]) -> tuple[str, str] | None:
    """Validate ``body``; return ``(path, message)`` of the first problem, or None."""
    if isinstance(body, dict) and schema.passes_quickly(body):
        return None
    try:
        schema.load(body)
    except ValidationError as exc:
        return first_error(exc.messages)
    return None
