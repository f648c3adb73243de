"""Helpers for the Model Catalog live tests: catalog files pointed at the mock, and gateways using them."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import requests

PROD_KEY = "sk-prod-catalog-secret-9f1c2e"
TEAM_A_KEY = "gk-team-a-secret-77d1e0"
TEAM_B_KEY = "gk-team-b-secret-1b2c3d"
SECRETS = (PROD_KEY, TEAM_A_KEY, TEAM_B_KEY)
SECRET_ENV = {"PROD_KEY": PROD_KEY, "TEAM_A_KEY": TEAM_A_KEY, "TEAM_B_KEY": TEAM_B_KEY}
CHAT = [{"role": "user", "content": "hi"}]


def slug(prefix: str = "p") -> str:
    """A fresh slug (counters in a shared Redis or SQLite file never collide between tests)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def provider_table(name: str, host: str, *, models: str = "", limits: str = "", extra: str = "") -> str:
    text = (
        f'[providers.{name}]\nprovider = "openai"\napi_key = "${{PROD_KEY}}"\n'
        f'custom_host = "{host}"\n{models}\n{extra}\n'
    )
    if limits:
        text += f"[providers.{name}.limits]\n{limits}\n"
    return text


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def chat(gateway, key: str, model: str, **extra) -> requests.Response:
    """One chat request as the OpenAI SDK sends it (Authorization: Bearer <gateway key>)."""
    return requests.post(
        gateway.url + "/v1/chat/completions",
        json={"model": model, "messages": CHAT, **extra},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )


def away_from_minute_edge(margin: float = 8.0) -> None:
    """Wait until a fixed minute window has at least ``margin`` seconds left."""
    left = 60 - time.time() % 60
    if left < margin:
        time.sleep(left + 0.5)
