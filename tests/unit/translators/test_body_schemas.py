"""The body schemas' quick pass agrees with marshmallow's full load on every body, valid or not."""

from __future__ import annotations

import copy
import itertools

import pytest
from marshmallow import ValidationError

from translators.formats import endpoint_schemas, schemas

MESSAGE = {"role": "user", "content": "hi"}
VALID = {
    "chat_completion": {
        "model": "gpt-4o",
        "messages": [{"role": "system", "content": "be brief"}, MESSAGE],
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": 0.5,
        "top_p": 1,
        "n": 1,
        "max_tokens": 16,
        "max_completion_tokens": None,
        "presence_penalty": -2,
        "seed": 7,
        "stop": ["\n"],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
        "tool_choice": {"type": "function", "function": {"name": "f"}},
        "response_format": {"type": "json_object"},
        "logprobs": None,
        "top_logprobs": 3,
        "user": "u",
        "x_unmodelled": {"anything": 1},
    },
    "completion": {"model": "m", "prompt": "say", "echo": False, "suffix": None, "max_tokens": 4},
    "embedding": {"model": "e", "input": ["a"], "encoding_format": "float", "dimensions": 8},
    "messages": {
        "model": "claude",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        "system": [{"type": "text", "text": "brief"}],
        "temperature": 1,
        "top_k": 0,
        "stop_sequences": ["x"],
        "tools": [{"name": "t"}],
        "tool_choice": {"type": "auto"},
    },
    "count_tokens": {"model": "claude", "messages": [MESSAGE]},
    "responses": {
        "model": "gpt-4o",
        "input": [{"role": "user", "content": "hi"}, {"type": "function_call_output", "call_id": "c", "output": "1"}],
        "instructions": None,
        "store": False,
        "max_output_tokens": 10,
        "reasoning": None,
    },
}
ENDPOINT_VALID = {
    "image_generation": {"prompt": "a cat", "n": 2, "response_format": "url"},
    "speech": {"model": "tts", "input": "hello", "voice": "alloy", "speed": 1.5},
    "moderation": {"input": "x"},
    "batch": {"input_file_id": "f", "endpoint": "/v1/chat/completions", "completion_window": "24h"},
    "fine_tune": {"model": "m", "training_file": "f", "validation_file": None},
}
# Values that break (or stress) one field: wrong types, nulls, out of range, empty, near-misses.
REPLACEMENTS = [
    None,
    True,
    0,
    -1,
    3,
    21,
    2**70,
    2.5,
    float("inf"),
    "",
    "5",
    "auto",
    [],
    ["a", 1],
    [{}],
    [{"role": "bot"}],
    [{"role": "user", "content": 5}],
    [{"role": "user", "content": [{"text": "no type"}]}],
    {},
    {"type": 1},
    {"type": "text"},
    {"include_usage": "yes"},
    [{"type": "function", "function": {"name": ""}}],
]


def cases():
    every = {**{n: (getattr(schemas, n), b) for n, b in VALID.items()}}
    every |= {n: (getattr(endpoint_schemas, n), b) for n, b in ENDPOINT_VALID.items()}
    for name, (schema, body) in every.items():
        yield name, schema, body
        for key in body:
            missing = copy.deepcopy(body)
            del missing[key]
            yield f"{name}-{key}", schema, missing
            for i, value in enumerate(REPLACEMENTS):
                changed = copy.deepcopy(body)
                changed[key] = copy.deepcopy(value)
                yield f"{name}-{key}-{i}", schema, changed
        for a, b in itertools.combinations(list(body)[:4], 2):  # two fields broken at once
            changed = copy.deepcopy(body)
            changed[a], changed[b] = None, "bad"
            yield f"{name}-{a}-{b}", schema, changed


CASES = list(cases())


def full_load_accepts(schema, body) -> bool:
    try:
        schema.load(body)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize(("name", "schema", "body"), CASES, ids=[c[0] for c in CASES])
def test_quick_pass_agrees_with_the_full_load(name, schema, body):
    assert schema.passes_quickly(body) is full_load_accepts(schema, body)


def test_the_corpus_holds_both_outcomes():
    outcomes = [full_load_accepts(schema, body) for _, schema, body in CASES]
    assert outcomes.count(True) > 20 and outcomes.count(False) > 200


def test_cross_field_rules_run_on_the_quick_pass_and_name_their_field():
    chat = {"model": "m", "messages": [MESSAGE], "stream_options": {"include_usage": True}}
    assert not schemas.chat_completion.passes_quickly(chat)
    assert schemas.validate(schemas.chat_completion, chat) == (
        "stream_options",
        "stream_options is only allowed when stream is true.",
    )
    assert schemas.validate(schemas.chat_completion, {"model": "m", "messages": [MESSAGE], "tool_choice": 5})[0] == (
        "tool_choice"
    )
    assert schemas.validate(schemas.embedding, {"input": []}) == ("input", "Must be a string or a non-empty list.")
