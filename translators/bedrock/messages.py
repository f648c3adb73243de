"""Turn OpenAI chat messages into Bedrock Converse ``system`` blocks and ``messages``.

Facts (Bedrock API reference ``Converse``, ``Message``, ``ContentBlock``, ``SystemContentBlock``):
every system/developer message becomes ``system`` text blocks, in order; roles are only ``user`` and
``assistant``, so tool results become user ``toolResult`` blocks and consecutive same-role turns are
merged into one message. Images (``png``/``jpeg``/``gif``/``webp``), videos and documents (``pdf``,
``csv``, ``doc(x)``, ``xls(x)``, ``html``, ``txt``, ``md``; each needs a ``name``) carry base64
``bytes`` or, for ``s3://`` URLs, an ``s3Location``; Converse cannot fetch http(s) URLs, so the
gateway downloads them (``urls_to_fetch``) and they arrive in ``Target.fetched``. Assistant tool calls
are ``toolUse`` blocks (``input`` is a JSON object); thinking blocks are ``reasoningContent``
(``reasoningText`` with its signature, or ``redactedContent``); ``cache_control`` on a part adds a
``cachePoint`` block after it. Converse rejects blank text blocks, so empty assistant text is dropped.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping
from typing import Any

from translators.contract import Target, TranslationError
from translators.openai_shapes import append_turn, arguments_object, data_url, image_url_of, parts_of, remote_image_urls

IMAGE_FORMATS = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/jpg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}
VIDEO_FORMATS = {"video/mp4": "mp4", "video/quicktime": "mov", "video/webm": "webm", "video/x-matroska": "mkv"}
DOCUMENT_FORMATS = {
    "application/pdf": "pdf",
    "text/csv": "csv",
    "text/html": "html",
    "text/plain": "txt",
    "text/markdown": "md",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
}


def urls_to_fetch(messages: Any) -> list[str]:
    """Return the http(s) image and file URLs of ``messages`` that Converse needs as bytes."""
    urls = remote_image_urls(messages)
    for message in messages or []:
        for part in parts_of(message.get("content")) if isinstance(message, Mapping) else []:
            file = part.get("file") if part.get("type") == "file" else None
            url = (file.get("file_url") or file.get("url")) if isinstance(file, Mapping) else None
            if isinstance(url, str) and url.startswith(("http://", "https://")) and url not in urls:
                urls.append(url)
    return urls


class Converter:
    """Turn OpenAI messages into Converse ``system`` and ``messages`` (holds per-request state)."""

    def __init__(self, target: Target) -> None:
        self.fetched = target.fetched
        self.documents = 0
        self.tool_blocks = False

    def media(self, media_type: str, source: dict[str, Any]) -> dict[str, Any]:
        """Return the image, video or document block for ``media_type`` with ``source``."""
        media_type = media_type.lower()
        if media_type in IMAGE_FORMATS:
            return {"image": {"format": IMAGE_FORMATS[media_type], "source": source}}
        if media_type in VIDEO_FORMATS:
            return {"video": {"format": VIDEO_FORMATS[media_type], "source": source}}
        if media_type in DOCUMENT_FORMATS:
            self.documents += 1
            return {
                "document": {
                    "format": DOCUMENT_FORMATS[media_type],
                    "name": f"document-{self.documents}",
                    "source": source,
                }
            }
        raise TranslationError(f"{media_type} content is not supported by bedrock", "messages")

    def url_block(self, url: str) -> dict[str, Any]:
        """Return the media block for a data URL, an ``s3://`` URL or a downloaded http(s) URL."""
        parsed = data_url(url)
        if parsed is not None:
            return self.media(parsed[0], {"bytes": parsed[1]})
        if url.startswith("s3://"):
            guessed = mimetypes.guess_type(url)[0] or "application/octet-stream"
            return self.media(guessed, {"s3Location": {"uri": url}})
        fetched = self.fetched.get(url)
        if fetched is None:
            raise TranslationError(f"bedrock needs image bytes; {url[:200]} was not downloaded", "messages")
        return self.media(fetched.media_type, {"bytes": fetched.b64})

    def block(self, part: Mapping[str, Any], role: str) -> dict[str, Any] | None:
        """Return the Converse block of one content part (None for empty assistant text)."""
        kind = part.get("type")
        if kind == "text":
            text = part.get("text", "")
            return {"text": text} if text or role != "assistant" else None
        if kind == "image_url":
            url = image_url_of(part)
            if not url:
                raise TranslationError("image_url parts need a url", "messages")
            return self.url_block(url)
        if kind == "file":
            file = part.get("file") or {}
            url = file.get("file_data") or file.get("file_url") or file.get("url")
            if not url:
                raise TranslationError("file parts need file_data or file_url for bedrock", "messages")
            return self.url_block(url)
        if kind == "thinking":
            text = {"text": part.get("thinking", ""), "signature": part.get("signature", "")}
            return {"reasoningContent": {"reasoningText": text}}
        if kind == "redacted_thinking":
            return {"reasoningContent": {"redactedContent": part.get("data", "")}}
        raise TranslationError(f"{kind} content is not supported by bedrock ({role} message)", "messages")

    def blocks(self, content: Any, role: str) -> list[dict[str, Any]]:
        """Return the Converse blocks of a message's content, with ``cachePoint`` blocks where asked."""
        out: list[dict[str, Any]] = []
        for part in parts_of(content):
            block = self.block(part, role)
            if block is not None:
                out.append(block)
            if "cache_control" in part:
                out.append({"cachePoint": {"type": "default"}})
        return out

    def tool_result(self, message: Mapping[str, Any]) -> dict[str, Any]:
        """Return the ``toolResult`` block of a tool message."""
        self.tool_blocks = True
        content = message.get("content")
        if isinstance(content, list):
            result = self.blocks(content, "tool")
        else:
            result = [{"text": content}] if isinstance(content, str) and content else []
        return {"toolResult": {"toolUseId": message.get("tool_call_id", ""), "content": result}}

    def assistant(self, message: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Return the blocks of an assistant message: its content, then its ``toolUse`` calls."""
        out = self.blocks(message.get("content"), "assistant")
        for call in message.get("tool_calls") or []:
            self.tool_blocks = True
            function = call.get("function") or {}
            use = {
                "toolUseId": call.get("id", ""),
                "name": function.get("name", ""),
                "input": arguments_object(function.get("arguments")),
            }
            out.append({"toolUse": use})
        return out

    def convert(self, messages: list[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Return ``(system blocks, messages)``."""
        system: list[dict[str, Any]] = []
        out: list[dict[str, Any]] = []
        for message in messages:
            role = message.get("role")
            if role in ("system", "developer"):
                for part in parts_of(message.get("content")):
                    if part.get("type") == "text":
                        system.append({"text": part.get("text", "")})
                        if "cache_control" in part:
                            system.append({"cachePoint": {"type": "default"}})
                continue
            if role == "assistant":
                turn, blocks = "assistant", self.assistant(message)
            elif role in ("tool", "function"):
                turn, blocks = "user", [self.tool_result(message)]
            else:
                turn, blocks = "user", self.blocks(message.get("content"), "user")
            append_turn(out, turn, blocks)
        return system, out
