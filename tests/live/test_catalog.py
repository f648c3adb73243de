"""The Model Catalog end to end: gunicorn, the official SDKs, the mock provider.

The quick start is the OpenAI SDK with only ``base_url``, ``api_key=<gateway key>`` and
``model="@slug/model"``; the catalog holds the provider key, which only the mock ever sees.
"""

from __future__ import annotations

import json

import anthropic
import openai
import pytest
import requests

from tests.live.catalog_support import CHAT, PROD_KEY, SECRET_ENV, SECRETS, TEAM_A_KEY, TEAM_B_KEY, chat, write
from tests.support import scenario_id

SID = scenario_id()
OTHER_SID = scenario_id()


@pytest.fixture(scope="module")
def catalog_file(tmp_path_factory, mockctl):
    host = mockctl.base(id=SID)
    other = mockctl.base(id=OTHER_SID)
    text = f"""
[providers.openai-prod]
provider = "openai"
api_key = "${{PROD_KEY}}"
custom_host = "{host}"
models = ["gpt-4o", "gpt-4o-mini", "text-embedding-3-small"]
aliases = {{ fast = "gpt-4o-mini" }}

[providers.open-any]
provider = "openai"
api_key = "${{PROD_KEY}}"
custom_host = "{other}"

[keys.team-a]
key = "${{TEAM_A_KEY}}"

[keys.team-b]
key_sha256 = "{__import__("hashlib").sha256(TEAM_B_KEY.encode()).hexdigest()}"
providers = ["open-any"]
"""
    return write(tmp_path_factory.mktemp("catalog") / "catalog.toml", text)


@pytest.fixture(scope="module")
def gw(gateway_factory, catalog_file, tmp_path_factory):
    db = tmp_path_factory.mktemp("limits") / "limits.sqlite3"
    return gateway_factory(
        GATEWAY_CATALOG_FILE=str(catalog_file), GATEWAY_LIMITS_DB=str(db), GATEWAY_LOGLEVEL="debug", **SECRET_ENV
    )


def last_request(mockctl, sid: str = SID) -> dict:
    return mockctl.requests(sid)[-1]


def test_openai_sdk_quick_start(gw, mockctl) -> None:
    client = openai.OpenAI(base_url=gw.url + "/v1", api_key=TEAM_A_KEY)
    completion = client.chat.completions.create(model="@openai-prod/gpt-4o", messages=CHAT)
    assert completion.choices[0].message.content
    sent = last_request(mockctl)
    assert json.loads(sent["body"])["model"] == "gpt-4o"
    assert sent["headers"]["authorization"] == f"Bearer {PROD_KEY}"
    assert TEAM_A_KEY not in json.dumps(sent)


def test_headers_name_the_provider_and_the_slug(gw) -> None:
    client = openai.OpenAI(base_url=gw.url + "/v1", api_key=TEAM_A_KEY, max_retries=0)
    raw = client.chat.completions.with_raw_response.create(model="@openai-prod/gpt-4o", messages=CHAT)
    assert raw.headers["x-portkey-provider"] == "openai"
    assert raw.headers["x-portkey-catalog-provider"] == "openai-prod"


def test_alias_resolves_and_streams(gw, mockctl) -> None:
    client = openai.OpenAI(base_url=gw.url + "/v1", api_key=TEAM_A_KEY, max_retries=0)
    chunks = list(client.chat.completions.create(model="@openai-prod/fast", messages=CHAT, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert json.loads(last_request(mockctl)["body"])["model"] == "gpt-4o-mini"


def test_embeddings_and_completions_bodies(gw, mockctl) -> None:
    client = openai.OpenAI(base_url=gw.url + "/v1", api_key=TEAM_A_KEY, max_retries=0)
    emb = client.embeddings.create(model="@openai-prod/text-embedding-3-small", input="hello")
    assert emb.data[0].embedding
    assert json.loads(last_request(mockctl)["body"])["model"] == "text-embedding-3-small"
    done = client.completions.create(model="@open-any/davinci-002", prompt="say hi")
    assert done.choices[0].text is not None
    assert json.loads(last_request(mockctl, OTHER_SID)["body"])["model"] == "davinci-002"


def test_anthropic_sdk_to_an_openai_format_provider(gw, mockctl) -> None:
    client = anthropic.Anthropic(base_url=gw.url, api_key=TEAM_A_KEY, max_retries=0)
    message = client.messages.create(model="@openai-prod/gpt-4o", max_tokens=50, messages=CHAT)
    assert message.content[0].text
    sent = last_request(mockctl)
    assert sent["path"] == "/v1/chat/completions"
    assert json.loads(sent["body"])["model"] == "gpt-4o"
    assert TEAM_A_KEY not in json.dumps(sent)
    with client.messages.stream(model="@openai-prod/fast", max_tokens=50, messages=CHAT) as stream:
        assert "".join(stream.text_stream)
    assert json.loads(last_request(mockctl)["body"])["model"] == "gpt-4o-mini"


def test_anthropic_sdk_errors_come_in_anthropic_envelope(gw) -> None:
    client = anthropic.Anthropic(base_url=gw.url, api_key=TEAM_A_KEY, max_retries=0)
    with pytest.raises(anthropic.PermissionDeniedError) as caught:
        client.messages.create(model="@openai-prod/gpt-9", max_tokens=50, messages=CHAT)
    assert caught.value.body["type"] == "error"
    assert "not allowed" in caught.value.body["error"]["message"]
    bad = anthropic.Anthropic(base_url=gw.url, api_key="gk-wrong-key-000", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as caught:
        bad.messages.create(model="@openai-prod/gpt-4o", max_tokens=50, messages=CHAT)
    assert caught.value.body["type"] == "error"


def test_responses_api_with_a_catalog_model(gw, mockctl) -> None:
    client = openai.OpenAI(base_url=gw.url + "/v1", api_key=TEAM_A_KEY, max_retries=0)
    response = client.responses.create(model="@openai-prod/gpt-4o", input="hello", store=False)
    assert response.output_text
    assert json.loads(last_request(mockctl)["body"])["model"] == "gpt-4o"


def test_provider_header_form(gw, mockctl) -> None:
    client = openai.OpenAI(
        base_url=gw.url + "/v1",
        api_key="unused",
        max_retries=0,
        default_headers={"x-portkey-provider": "@openai-prod", "x-portkey-api-key": TEAM_A_KEY},
    )
    raw = client.chat.completions.with_raw_response.create(model="fast", messages=CHAT)
    assert raw.headers["x-portkey-catalog-provider"] == "openai-prod"
    sent = last_request(mockctl)
    assert json.loads(sent["body"])["model"] == "gpt-4o-mini"
    assert sent["headers"]["authorization"] == f"Bearer {PROD_KEY}"


def test_config_target_form_and_override_model(gw, mockctl) -> None:
    config = {"strategy": {"mode": "single"}, "targets": [{"provider": "@open-any"}]}
    resp = requests.post(
        gw.url + "/v1/chat/completions",
        json={"model": "my-model", "messages": CHAT},
        headers={"x-portkey-config": json.dumps(config), "x-portkey-api-key": TEAM_A_KEY},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["x-portkey-catalog-provider"] == "open-any"
    assert json.loads(last_request(mockctl, OTHER_SID)["body"])["model"] == "my-model"
    config = {"override_params": {"model": "@openai-prod/fast"}}
    resp = requests.post(
        gw.url + "/v1/chat/completions",
        json={"model": "ignored", "messages": CHAT},
        headers={"x-portkey-config": json.dumps(config), "Authorization": f"Bearer {TEAM_A_KEY}"},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    assert json.loads(last_request(mockctl)["body"])["model"] == "gpt-4o-mini"


def test_fallback_from_a_failing_inline_target_to_a_catalog_target(gw, mockctl) -> None:
    failing = scenario_id()
    config = {
        "strategy": {"mode": "fallback"},
        "targets": [
            {"provider": "openai", "api_key": "sk-inline", "custom_host": mockctl.base(id=failing, status=503)},
            {"provider": "@openai-prod", "override_params": {"model": "gpt-4o"}},
        ],
    }
    resp = requests.post(
        gw.url + "/v1/chat/completions",
        json={"model": "gpt-4o-mini", "messages": CHAT},
        headers={"x-portkey-config": json.dumps(config), "x-portkey-api-key": TEAM_A_KEY},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["x-portkey-last-used-option-index"] == "config.targets[1]"
    assert resp.headers["x-portkey-catalog-provider"] == "openai-prod"
    inline = mockctl.requests(failing)[-1]
    assert inline["headers"]["authorization"] == "Bearer sk-inline"
    assert json.loads(last_request(mockctl)["body"])["model"] == "gpt-4o"


def test_unknown_slug_is_a_400_naming_it(gw) -> None:
    resp = chat(gw, TEAM_A_KEY, "@nowhere/gpt-4o")
    assert resp.status_code == 400
    assert "@nowhere" in resp.json()["message"]
    assert resp.headers["x-portkey-error-origin"] == "gateway"


def test_allow_lists_are_403(gw) -> None:
    resp = chat(gw, TEAM_A_KEY, "@openai-prod/gpt-3.5-turbo")
    assert resp.status_code == 403
    assert "gpt-3.5-turbo" in resp.json()["message"]
    resp = chat(gw, TEAM_B_KEY, "@openai-prod/gpt-4o")  # team-b may use open-any only
    assert resp.status_code == 403
    assert "team-b" in resp.json()["message"]
    assert chat(gw, TEAM_B_KEY, "@open-any/gpt-4o").status_code == 200  # stored as key_sha256


def test_missing_or_wrong_key_is_401(gw) -> None:
    resp = requests.post(gw.url + "/v1/chat/completions", json={"model": "@openai-prod/gpt-4o", "messages": CHAT})
    assert resp.status_code == 401
    assert chat(gw, "gk-not-a-key-123", "@openai-prod/gpt-4o").status_code == 401
    resp = requests.post(  # a wrong x-portkey-api-key is not rescued by a right Bearer
        gw.url + "/v1/chat/completions",
        json={"model": "@openai-prod/gpt-4o", "messages": CHAT},
        headers={"x-portkey-api-key": "gk-wrong-123456", "Authorization": f"Bearer {TEAM_A_KEY}"},
        timeout=30,
    )
    assert resp.status_code == 401
    assert requests.get(gw.url + "/healthz", timeout=5).status_code == 200


def test_models_lists_the_catalog(gw) -> None:
    client = openai.OpenAI(base_url=gw.url + "/v1", api_key=TEAM_A_KEY, max_retries=0)
    ids = {m.id for m in client.models.list().data}
    assert {"@openai-prod/gpt-4o", "@openai-prod/gpt-4o-mini", "@openai-prod/fast"} <= ids
    assert any(i.startswith("@open-any/") for i in ids)  # no list in the file: the provider's own /models
    limited = openai.OpenAI(base_url=gw.url + "/v1", api_key=TEAM_B_KEY, max_retries=0)
    assert all(m.id.startswith("@open-any/") for m in limited.models.list().data)


def test_secrets_never_leave(gw, mockctl) -> None:
    seen = []
    for model in ("@openai-prod/gpt-4o", "@openai-prod/gpt-9", "@nowhere/x"):
        seen.append(chat(gw, TEAM_A_KEY, model))
    seen.append(chat(gw, "gk-not-a-key-123", "@openai-prod/gpt-4o"))
    seen.append(requests.get(gw.url + "/v1/models", headers={"Authorization": f"Bearer {TEAM_A_KEY}"}, timeout=30))
    failing = {"x-portkey-provider": "@open-any", "x-portkey-api-key": TEAM_A_KEY}
    seen.append(requests.post(gw.url + "/v1/chat/completions", json={"model": "m"}, headers=failing, timeout=30))
    echo = requests.get(gw.url + "/v1/echo/me", headers=failing, timeout=30)  # the mock echoes the headers it got
    assert echo.status_code == 200 and echo.json()["headers"]["authorization"] == "Bearer ***"
    seen.append(echo)
    for resp in seen:
        text = resp.text + json.dumps(dict(resp.headers))
        assert not any(secret in text for secret in SECRETS), resp.text
    log = gw.log()
    assert not any(secret in log for secret in SECRETS)
    for sid in (SID, OTHER_SID):
        for sent in mockctl.requests(sid):
            assert TEAM_A_KEY not in json.dumps(sent) and TEAM_B_KEY not in json.dumps(sent)


def tiny_wav() -> bytes:
    import io
    import wave

    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"\x00\x00" * 800)
    return out.getvalue()


def test_images_and_audio_bodies(gw, mockctl) -> None:
    client = openai.OpenAI(base_url=gw.url + "/v1", api_key=TEAM_A_KEY, max_retries=0)
    image = client.images.generate(model="@open-any/dall-e-3", prompt="a cat")
    assert image.data
    assert json.loads(last_request(mockctl, OTHER_SID)["body"])["model"] == "dall-e-3"
    text = client.audio.transcriptions.create(model="@open-any/whisper-1", file=("a.wav", tiny_wav(), "audio/wav"))
    assert text.text is not None
    sent = last_request(mockctl, OTHER_SID)
    assert sent["path"] == "/v1/audio/transcriptions"
    assert json.loads(sent["body"])["fields"]["model"] == "whisper-1"
    assert sent["headers"]["authorization"] == f"Bearer {PROD_KEY}"


def test_cached_answers_stay_with_their_gateway_key(gw, mockctl) -> None:
    config = json.dumps({"cache": {"mode": "simple"}})
    body = {"model": "@open-any/cache-model", "messages": [{"role": "user", "content": scenario_id()}]}

    def ask(key: str) -> str:
        resp = requests.post(
            gw.url + "/v1/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {key}", "x-portkey-config": config},
            timeout=30,
        )
        assert resp.status_code == 200, resp.text
        return resp.headers["x-portkey-cache-status"]

    assert [ask(TEAM_A_KEY), ask(TEAM_A_KEY), ask(TEAM_B_KEY), ask(TEAM_B_KEY)] == ["MISS", "HIT", "MISS", "HIT"]


def test_portkey_sdk_with_a_gateway_key(gw, mockctl) -> None:
    from portkey_ai import Portkey

    client = Portkey(base_url=gw.url + "/v1", api_key=TEAM_A_KEY, max_retries=0)  # sent as x-portkey-api-key
    completion = client.chat.completions.create(model="@openai-prod/gpt-4o", messages=CHAT)
    assert completion.choices[0].message.content
    with_header = Portkey(base_url=gw.url + "/v1", api_key=TEAM_A_KEY, provider="@open-any", max_retries=0)
    assert with_header.chat.completions.create(model="any-model", messages=CHAT).choices
    assert json.loads(last_request(mockctl, OTHER_SID)["body"])["model"] == "any-model"
    assert TEAM_A_KEY not in json.dumps(last_request(mockctl, OTHER_SID))


def test_realtime_session_with_a_catalog_model(gw, mockctl) -> None:
    client = openai.OpenAI(base_url=gw.url + "/v1", api_key=TEAM_A_KEY, max_retries=0)
    with client.realtime.connect(model="@openai-prod/fast") as conn:
        first = conn.recv()
        assert first.type == "session.created" and first.session.model == "gpt-4o-mini"
    sent = last_request(mockctl)
    assert sent["path"] == "/v1/realtime" and sent["query"] == "model=gpt-4o-mini"
    assert sent["headers"]["authorization"] == f"Bearer {PROD_KEY}"
    assert TEAM_A_KEY not in json.dumps(sent)
    from websockets.exceptions import InvalidStatus

    limited = openai.OpenAI(base_url=gw.url + "/v1", api_key=TEAM_B_KEY, max_retries=0)
    with pytest.raises(InvalidStatus) as caught, limited.realtime.connect(model="@openai-prod/gpt-4o") as conn:
        conn.recv()  # team-b may use open-any only
    assert caught.value.response.status_code == 403
