"""Log unexpected exceptions without their text.

An exception's message can carry what the code was handling when it failed: ``requests``
prints a rejected header value (``Invalid header value b'Bearer sk-...'``), a JSON error quotes
the body. ``log_unexpected`` writes the exception's class and the stack frames (file, line,
function) of the whole chain, never ``str(exc)`` nor the source lines' locals, so a credential
cannot reach the log through it.
"""

from __future__ import annotations

import logging
import traceback


def describe(exc: BaseException) -> str:
    """Return the exception chain as class names and frames, without any exception text."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        frames = traceback.extract_tb(current.__traceback__)
        where = "\n".join(f'  File "{f.filename}", line {f.lineno}, in {f.name}' for f in frames)
        parts.append(f"{type(current).__module__}.{type(current).__qualname__} (message withheld)\n{where}")
        current = current.__cause__ or current.__context__
    return "\nwhich was raised while handling or from:\n".join(parts)


def log_unexpected(log: logging.Logger, exc: BaseException, message: str, *args: object) -> None:
    """Log ``message % args`` at error level, followed by ``describe(exc)``."""
    log.error(message + "\n%s", *args, describe(exc))


def kind(exc: BaseException) -> str:
    """The class name to log for an expected failure instead of its text."""
    return type(exc).__name__
