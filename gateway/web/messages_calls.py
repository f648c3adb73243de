"""Build calls for the Anthropic Messages routes (``/v1/messages``, ``/v1/messages/count_tokens``).

The request is validated in Anthropic's terms (errors in Anthropic's envelope, with the field
path), translated once to chat for providers that do not speak Messages, and kept as sent for
the ones that do. Both ``x-api-key`` and ``Authorization: Bearer`` carry the key;
``anthropic-version`` / ``anthropic-beta`` headers reach Anthropic-family providers.
"""

from __future__ import annotations

from gateway.core.call import Call
from gateway.core.errors import BadRequest
from gateway.streaming.client_formats import MessagesFormat
from gateway.web.incoming import incoming, request_headers, request_options, validated_body
from gateway.web.state import current_state
from translators.contract import TranslationError
from translators.formats import messages as messages_api
from translators.formats import schemas


def messages_call(count_tokens: bool = False) -> Call:
    """The call for a Messages (or ``count_tokens``) request."""
    state = current_state()
    headers = request_headers()
    options = request_options(headers)
    schema = schemas.count_tokens if count_tokens else schemas.messages
    raw, body = validated_body(state.settings.max_json_bytes, schema, label="")
    try:
        chat = messages_api.to_chat(body)
    except TranslationError as exc:
        raise BadRequest(exc.message, param=exc.param) from None
    return incoming(
        "messagesCountTokens" if count_tokens else "messages",
        "/messages/count_tokens" if count_tokens else "/messages",
        headers,
        options,
        body=chat,
        client_body=body,
        client_raw=raw,
        unmapped=messages_api.unmapped_fields(body),
        stream=body.get("stream") is True and not count_tokens,
        format=MessagesFormat(body),
    )
