// Playground: a chat through the gateway itself (streamed as it arrives), its raw response headers,
// SDK snippets for the current request, routing examples and a config editor checked by the gateway.
import { ROOT, get, post } from "./api.js";
import { $, $$, clear, h } from "./dom.js";

let models = { catalog: [], providers: [] };
let snippetKind = "openai";
let busy = null;

const form = () => $("#play-form");
const value = (name) => form().elements[name].value.trim();
const checked = (name) => form().elements[name].checked;
const mode = () => form().elements.mode.value;
const origin = () => window.location.origin;
const apiBase = () => `${origin()}${ROOT}v1`;

function catalogChoices() {
  const out = [];
  for (const entry of models.catalog) {
    for (const model of entry.models) out.push(`@${entry.slug}/${model}`);
    for (const alias of Object.keys(entry.aliases)) out.push(`@${entry.slug}/${alias}`);
    if (!entry.models.length && !Object.keys(entry.aliases).length) out.push(`@${entry.slug}/`);
  }
  return out;
}

function fillChoices() {
  const list = clear($("#catalog-models"));
  const choices = catalogChoices();
  for (const choice of choices) list.append(h("option", { value: choice }));
  $("#catalog-empty").hidden = models.catalog.length > 0;
  if (choices.length && !value("catalog_model")) form().elements.catalog_model.value = choices[0];
  const select = clear($("#play-provider"));
  for (const id of models.providers) select.append(h("option", { value: id, text: id, selected: id === "openai" }));
  if (!models.catalog.length) setMode("provider");
}

function setMode(which) {
  for (const radio of form().elements.mode) radio.checked = radio.value === which;
  $(".mode-catalog").hidden = which !== "catalog";
  $(".mode-provider").hidden = which !== "provider";
  renderSnippet();
}

// --- the request ------------------------------------------------------------------------------

function request() {
  const stream = checked("stream");
  const headers = { "Content-Type": "application/json" };
  let model;
  if (mode() === "catalog") {
    model = value("catalog_model");
    if (value("gateway_key")) headers.Authorization = `Bearer ${value("gateway_key")}`;
  } else {
    model = value("model");
    headers["x-portkey-provider"] = value("provider");
    if (value("api_key")) headers.Authorization = `Bearer ${value("api_key")}`;
    if (value("gateway_key")) headers["x-portkey-api-key"] = value("gateway_key");
  }
  if (checked("use_config") && $("#config-text").value.trim()) headers["x-portkey-config"] = JSON.stringify(JSON.parse($("#config-text").value));
  const body = { model, messages: [{ role: "user", content: value("message") }], stream };
  if (stream) body.stream_options = { include_usage: true };
  return { url: `${ROOT}v1/chat/completions`, headers, body };
}

function showHeaders(response) {
  const lines = [`HTTP ${response.status} ${response.statusText}`];
  response.headers.forEach((v, k) => lines.push(`${k}: ${v}`));
  $("#play-headers").textContent = lines.join("\n");
  $("#play-headers-box").open = true;
}

function status(text) {
  $("#play-status").textContent = text;
}

function errorText(text) {
  try {
    const body = JSON.parse(text);
    return (body.error && body.error.message) || body.message || text;
  } catch {
    return text;
  }
}

async function readStream(response, out, started) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let first = null;
  let done = false;
  while (!done) {
    const chunk = await reader.read();
    if (chunk.done) break;
    buffer += decoder.decode(chunk.value, { stream: true });
    const events = buffer.split(/\r?\n\r?\n/);
    buffer = events.pop();
    for (const raw of events) {
      const data = raw.split(/\r?\n/).filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n");
      if (!data) continue;
      if (data === "[DONE]") { done = true; break; }
      let event;
      try { event = JSON.parse(data); } catch { continue; }
      if (event.error) {
        out.classList.add("failed");
        out.append(document.createTextNode(`\n[stream error] ${event.error.message || JSON.stringify(event.error)}`));
        continue;
      }
      const piece = event.choices && event.choices[0] && event.choices[0].delta && event.choices[0].delta.content;
      if (piece) {
        if (first === null) first = performance.now() - started;
        out.append(document.createTextNode(piece));
        out.dataset.chunks = String(Number(out.dataset.chunks || 0) + 1);
      }
    }
  }
  return first;
}

async function send(event) {
  event.preventDefault();
  if (busy) busy.abort();
  const out = clear($("#play-output"));
  out.classList.remove("failed");
  out.dataset.chunks = "0";
  delete out.dataset.done;
  let req;
  try {
    req = request();
  } catch (err) {
    status(`The config is not valid JSON: ${err.message}`);
    return;
  }
  busy = new AbortController();
  const started = performance.now();
  status("Sending…");
  try {
    const response = await fetch(req.url, { method: "POST", headers: req.headers, body: JSON.stringify(req.body), signal: busy.signal, credentials: "omit" });
    showHeaders(response);
    const slug = response.headers.get("x-portkey-catalog-provider");
    const provider = `${response.headers.get("x-portkey-provider") || ""}${slug ? ` (@${slug})` : ""}`;
    if (!response.ok) {
      out.classList.add("failed");
      out.textContent = errorText(await response.text());
      status(`${response.status} from ${provider || "the gateway"} in ${Math.round(performance.now() - started)} ms`);
      return;
    }
    let first = null;
    if (req.body.stream && (response.headers.get("content-type") || "").includes("text/event-stream")) {
      first = await readStream(response, out, started);
    } else {
      const body = await response.json();
      out.textContent = (body.choices && body.choices[0] && body.choices[0].message && body.choices[0].message.content) || JSON.stringify(body, null, 2);
    }
    const total = Math.round(performance.now() - started);
    status(`${response.status} from ${provider} in ${total} ms${first !== null ? ` · first token after ${Math.round(first)} ms` : ""}`);
  } catch (err) {
    if (err.name !== "AbortError") {
      out.classList.add("failed");
      out.textContent = `Request failed: ${err.message}`;
      status("");
    }
  } finally {
    out.dataset.done = "1";
    busy = null;
  }
}

// --- snippets ---------------------------------------------------------------------------------

function py(value) {
  return JSON.stringify(value);
}

function exampleTargets() {
  const slugs = models.catalog.map((entry) => entry.slug);
  if (slugs.length >= 2) return [{ provider: `@${slugs[0]}` }, { provider: `@${slugs[1]}` }];
  if (slugs.length === 1) {
    return [{ provider: `@${slugs[0]}` }, { provider: "anthropic", api_key: "YOUR_ANTHROPIC_KEY", override_params: { model: "claude-sonnet-4-5" } }];
  }
  return [
    { provider: "openai", api_key: "YOUR_OPENAI_KEY", override_params: { model: "gpt-4o-mini" } },
    { provider: "anthropic", api_key: "YOUR_ANTHROPIC_KEY", override_params: { model: "claude-sonnet-4-5" } },
  ];
}

export function exampleConfig(kind) {
  const targets = exampleTargets();
  if (kind === "loadbalance") {
    return { strategy: { mode: "loadbalance" }, targets: targets.map((t, i) => ({ ...t, weight: i === 0 ? 0.7 : 0.3 })) };
  }
  return { strategy: { mode: "fallback", on_status_codes: [429, 500, 502, 503, 504] }, retry: { attempts: 2 }, targets };
}

function snippet(kind) {
  const catalog = mode() === "catalog";
  const model = catalog ? value("catalog_model") : value("model");
  const provider = value("provider");
  const stream = checked("stream");
  const message = value("message");
  const keyName = catalog ? "YOUR_GATEWAY_KEY" : "YOUR_PROVIDER_KEY";
  const headerLines = catalog ? [] : [`"x-portkey-provider": ${py(provider)}`];
  if (!catalog && value("gateway_key")) headerLines.push('"x-portkey-api-key": "YOUR_GATEWAY_KEY"');
  const headersArg = headerLines.length ? `\n    default_headers={${headerLines.join(", ")}},` : "";
  if (kind === "openai") {
    return `from openai import OpenAI

client = OpenAI(
    base_url=${py(apiBase())},
    api_key=${py(keyName)},${headersArg}
)
${stream ? `stream = client.chat.completions.create(
    model=${py(model)},
    messages=[{"role": "user", "content": ${py(message)}}],
    stream=True,
)
for chunk in stream:
    if chunk.choices:
        print(chunk.choices[0].delta.content or "", end="", flush=True)` : `answer = client.chat.completions.create(
    model=${py(model)},
    messages=[{"role": "user", "content": ${py(message)}}],
)
print(answer.choices[0].message.content)`}
`;
  }
  if (kind === "anthropic") {
    return `from anthropic import Anthropic

client = Anthropic(
    base_url=${py(`${origin()}${ROOT}`.replace(/\/$/, ""))},  # the SDK adds /v1/messages
    api_key=${py(keyName)},${headersArg}
)
${stream ? `with client.messages.stream(
    model=${py(model)},
    max_tokens=256,
    messages=[{"role": "user", "content": ${py(message)}}],
) as stream:
    for text in stream.text_stream:
        print(text, end="", flush=True)` : `message = client.messages.create(
    model=${py(model)},
    max_tokens=256,
    messages=[{"role": "user", "content": ${py(message)}}],
)
print(message.content[0].text)`}
`;
  }
  if (kind === "portkey") {
    const args = catalog ? `    api_key="YOUR_GATEWAY_KEY",` : `    provider=${py(provider)},
    Authorization="YOUR_PROVIDER_KEY",${value("gateway_key") ? `\n    api_key="YOUR_GATEWAY_KEY",` : ""}`;
    return `from portkey_ai import Portkey

portkey = Portkey(
    base_url=${py(apiBase())},
${args}
)
${stream ? `for chunk in portkey.chat.completions.create(
    model=${py(model)},
    messages=[{"role": "user", "content": ${py(message)}}],
    stream=True,
):
    if chunk.choices:
        print(chunk.choices[0].delta.content or "", end="", flush=True)` : `answer = portkey.chat.completions.create(
    model=${py(model)},
    messages=[{"role": "user", "content": ${py(message)}}],
)
print(answer.choices[0].message.content)`}
`;
  }
  if (kind === "curl") {
    const lines = [`curl ${stream ? "-N " : ""}${apiBase()}/chat/completions \\`, `  -H "Content-Type: application/json" \\`];
    lines.push(`  -H "Authorization: Bearer $${catalog ? "GATEWAY_KEY" : "PROVIDER_KEY"}" \\`);
    if (!catalog) lines.push(`  -H "x-portkey-provider: ${provider}" \\`);
    if (!catalog && value("gateway_key")) lines.push(`  -H "x-portkey-api-key: $GATEWAY_KEY" \\`);
    const body = { model, messages: [{ role: "user", content: message }], stream };
    lines.push(`  -d '${JSON.stringify(body).replaceAll("'", "'\\''")}'`);
    return lines.join("\n") + "\n";
  }
  const config = JSON.stringify(exampleConfig(kind), null, 2);
  return `# x-portkey-config: ${kind === "fallback" ? "try the targets in order, moving on when one fails with these codes" : "split traffic 70/30 by weight"}
import json
from openai import OpenAI

config = ${config.replaceAll("\n", "\n")}

client = OpenAI(
    base_url=${py(apiBase())},
    api_key="unused",  # each target brings its own key (catalog targets use the gateway's)
    default_headers={"x-portkey-config": json.dumps(config)},
)
`;
}

export function renderSnippet() {
  $("#snippet").textContent = snippet(snippetKind);
  $("#snippet-to-editor").hidden = !["fallback", "loadbalance"].includes(snippetKind);
  for (const tab of $$("#snippet-tabs button")) tab.classList.toggle("active", tab.dataset.snippet === snippetKind);
}

// --- config editor ----------------------------------------------------------------------------

async function validate() {
  const verdict = $("#config-verdict");
  const list = clear($("#config-errors"));
  verdict.className = "";
  verdict.textContent = "Checking…";
  try {
    const result = await post("config/validate", { config: $("#config-text").value });
    verdict.className = result.valid ? "ok" : "bad";
    verdict.textContent = result.valid ? "Valid config" : `${result.errors.length} problem${result.errors.length === 1 ? "" : "s"}: ${result.message || ""}`;
    for (const problem of result.errors) {
      list.append(h("li", { class: "error-item" }, h("span", { class: "p-path", text: problem.path || "(config)" }), " ", problem.message));
    }
    for (const problem of result.warnings || []) {
      list.append(h("li", { class: "warn" }, h("span", { class: "p-path", text: problem.path || "(config)" }), " ", `warning: ${problem.message}`));
    }
  } catch (err) {
    verdict.className = "bad";
    verdict.textContent = `Could not validate: ${err.message}`;
  }
}

export async function init() {
  form().addEventListener("submit", send);
  form().addEventListener("input", renderSnippet);
  for (const radio of form().elements.mode) radio.addEventListener("change", () => setMode(radio.value));
  for (const tab of $$("#snippet-tabs button")) {
    tab.addEventListener("click", () => { snippetKind = tab.dataset.snippet; renderSnippet(); });
  }
  $("#snippet-to-editor").addEventListener("click", () => {
    $("#config-text").value = JSON.stringify(exampleConfig(snippetKind), null, 2);
  });
  $("#config-validate").addEventListener("click", validate);
  $("#config-text").value = JSON.stringify(exampleConfig("fallback"), null, 2);
  try {
    models = await get("models");
  } catch {
    models = { catalog: [], providers: ["openai"] };
  }
  fillChoices();
  renderSnippet();
}
