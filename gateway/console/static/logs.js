// Logs view: stored records newest first, paged, filtered; live records prepended; a detail panel.
import { get } from "./api.js";
import { $, clear, fmtCost, fmtMs, fmtNumber, fmtTime, h, statusClass, tokens } from "./dom.js";

const PAGE = 50;
const MAX_ROWS = 1000;
let filters = {};
let cursor = null;
let shown = 0;

function readFilters() {
  const form = $("#filters");
  const out = {};
  for (const el of form.elements) {
    if (!el.name || !el.value.trim()) continue;
    if (el.type === "datetime-local") {
      const epoch = new Date(el.value).getTime() / 1000;
      if (!Number.isNaN(epoch)) out[el.name] = String(epoch);
    } else {
      out[el.name] = el.value.trim();
    }
  }
  return out;
}

export function matches(record, f) {
  if (f.status_class && `${Math.floor(record.status / 100)}xx` !== f.status_class) return false;
  if (f.provider && record.provider !== f.provider) return false;
  if (f.catalog_slug && record.catalog_slug !== f.catalog_slug) return false;
  if (f.gateway_key && record.gateway_key !== f.gateway_key) return false;
  if (f.model && record.model_requested !== f.model && record.model_answered !== f.model) return false;
  if (f.trace_id && record.trace_id !== f.trace_id) return false;
  if (f.metadata) {
    const at = f.metadata.indexOf("=");
    const key = f.metadata.slice(0, at);
    const value = f.metadata.slice(at + 1);
    if (!record.metadata || String(record.metadata[key]) !== value) return false;
  }
  if (f.since && record.time < Number(f.since)) return false;
  if (f.until && record.time > Number(f.until)) return false;
  return true;
}

function providerLabel(record) {
  return record.catalog_slug ? `@${record.catalog_slug}` : record.provider || "";
}

function row(record, fresh) {
  const tr = h("tr", { class: fresh ? "fresh" : null, dataset: { id: record.id }, tabindex: 0, onclick: () => openDetail(record.id),
    onkeydown: (e) => { if (e.key === "Enter") openDetail(record.id); } },
    h("td", { text: fmtTime(record.time), title: fmtTime(record.time, true) }),
    h("td", {}, h("span", { class: `badge ${statusClass(record.status)}`, text: record.status })),
    h("td", { class: "c-route", text: `${record.method || ""} ${record.route || ""}` }),
    h("td", { text: providerLabel(record) }),
    h("td", { class: "c-model", text: record.model_answered || record.model_requested || "" }),
    h("td", { class: "num", text: fmtMs(record.latency_ms) }),
    h("td", { class: "num c-tokens", text: tokens(record.usage) }),
    h("td", { class: "num c-cost", text: fmtCost(record.cost_usd) }),
    h("td", { class: "trace c-trace", text: record.trace_id || "" }),
  );
  return tr;
}

function note(text) {
  const el = $("#logs-note");
  el.hidden = !text;
  el.textContent = text || "";
}

function count() {
  $("#log-count").textContent = shown ? `${shown} request${shown === 1 ? "" : "s"} shown` : "No requests yet.";
}

async function load(reset) {
  if (reset) {
    cursor = null;
    shown = 0;
    clear($("#log-rows"));
  }
  try {
    const page = await get("records", { ...filters, limit: PAGE, before: cursor });
    if (page.available === false) note("No request record store is configured, so there is nothing to show yet.");
    else note("");
    const body = $("#log-rows");
    const fresh = page.records.filter((r) => !body.querySelector(`tr[data-id="${CSS.escape(r.id)}"]`));
    for (const record of fresh) body.append(row(record, false));
    shown += fresh.length;
    cursor = page.next;
    $("#older").hidden = !cursor;
    count();
  } catch (err) {
    note(`Could not load requests: ${err.message}`);
  }
}

// After the live stream (re)connects: add what arrived while it was not listening.
export async function catchUp() {
  const body = $("#log-rows");
  const top = body.firstElementChild ? body.firstElementChild.dataset.id : null;
  if (!top) {
    await load(true);
    return;
  }
  try {
    const page = await get("records", { ...filters, limit: PAGE });
    for (const record of page.records.filter((r) => r.id > top).reverse()) onLive(record);
  } catch {
    // the next live record or a reload brings the table up to date
  }
}

export function onLive(record) {
  if (!matches(record, filters)) return;
  const body = $("#log-rows");
  if (body.querySelector(`tr[data-id="${CSS.escape(record.id)}"]`)) return;
  body.prepend(row(record, true));
  shown += 1;
  while (body.children.length > MAX_ROWS) body.lastElementChild.remove();
  count();
}

// --- detail ------------------------------------------------------------------------------------

function kv(pairs) {
  const dl = h("dl", { class: "kv" });
  for (const [key, value] of pairs) {
    if (value === null || value === undefined || value === "") continue;
    dl.append(h("dt", { text: key }), h("dd", {}, value));
  }
  return dl;
}

function fallbackPath(record) {
  const path = h("div", { class: "path", id: "fallback-path" });
  if (!record.targets || !record.targets.length) {
    // Nothing was sent upstream: the gateway answered itself (a bad request, a limit, an open circuit).
    path.append(h("div", { class: `node ${record.status < 400 ? "ok" : "fail"}`, dataset: { index: "gateway" } },
      h("div", { class: "idx", text: "gateway" }),
      h("div", { class: "prov", text: record.cache_status && record.cache_status.includes("HIT") ? "answered from the cache" : "no provider called" }),
      h("div", {}, h("span", { class: `badge ${statusClass(record.status)}`, text: record.status }))));
    return path;
  }
  const targets = record.targets;
  targets.forEach((target, i) => {
    if (i) path.append(h("span", { class: "arrow", text: "→", "aria-hidden": "true" }));
    const status = target.status;
    const state = status === null || status === undefined ? "skip" : status < 400 ? "ok" : "fail";
    const answered = target.index === record.last_used_option_index;
    path.append(h("div", { class: `node ${state}`, dataset: { index: target.index } },
      h("div", { class: "idx", text: `${target.index}${answered ? " · answered" : ""}` }),
      h("div", { class: "prov", text: target.provider || "?" }),
      h("div", {}, status === null || status === undefined
        ? h("span", { class: "muted", text: "not reached" })
        : h("span", { class: `badge ${statusClass(status)}`, text: status })),
      h("div", { class: "muted", text: `${target.retries || 0} retr${target.retries === 1 ? "y" : "ies"} · ${fmtMs(target.latency_ms)}` }),
    ));
  });
  return path;
}

function usageText(usage) {
  if (!usage) return "";
  return `input ${usage.input_tokens || 0} · output ${usage.output_tokens || 0} · cached ${usage.cached_tokens || 0} · reasoning ${usage.reasoning_tokens || 0}`;
}

function renderDetail(record) {
  $("#detail-title").textContent = `${record.method || ""} ${record.route || ""}`;
  const body = clear($("#detail-body"));
  body.append(
    kv([
      ["Status", h("span", { class: `badge ${statusClass(record.status)}`, text: record.status })],
      ["Error", record.error ? h("span", { class: "error", text: record.error }) : null],
      ["Error origin", record.error_origin],
      ["Time", fmtTime(record.time, true)],
      ["Trace id", h("code", { text: record.trace_id || "" })],
      ["Provider", record.provider],
      ["Catalog provider", record.catalog_slug ? `@${record.catalog_slug}` : null],
      ["Gateway key", record.gateway_key],
      ["Model", [record.model_requested, record.model_answered && record.model_answered !== record.model_requested ? ` → ${record.model_answered}` : ""].join("")],
      ["Format", `${record.client_format || ""}${record.stream ? " (stream)" : ""}`],
      ["Latency", `${fmtMs(record.latency_ms)}${record.ttfb_ms !== null && record.ttfb_ms !== undefined ? ` (first byte ${fmtMs(record.ttfb_ms)})` : ""}`],
      ["Retries", String(record.retries ?? 0)],
      ["Cache", record.cache_status],
      ["Usage", usageText(record.usage)],
      ["Cost", record.cost_usd === null || record.cost_usd === undefined ? "unpriced" : fmtCost(record.cost_usd)],
    ]),
    h("h2", { text: "Fallback path" }),
    fallbackPath(record),
  );
  if (record.guardrails && record.guardrails.length) {
    body.append(h("h2", { text: "Guardrails" }), h("div", { class: "chips" }, record.guardrails.map((g) =>
      h("span", { class: `chip ${g.verdict ? "pass" : "fail"}`, text: `${g.phase === "after" ? "after" : "before"}: ${g.id} ${g.verdict ? "✓" : "✗"}` }))));
  }
  const metadata = Object.entries(record.metadata || {});
  if (metadata.length) body.append(h("h2", { text: "Metadata" }), kv(metadata.map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)])));
  if (record.request_body) body.append(h("h2", { text: "Request body" }), h("pre", { class: "body", text: record.request_body }));
  if (record.response_body) body.append(h("h2", { text: "Response body" }), h("pre", { class: "body", text: record.response_body }));
}

async function openDetail(id) {
  const panel = $("#detail");
  panel.hidden = false;
  clear($("#detail-body")).append(h("p", { class: "muted", text: "Loading…" }));
  try {
    renderDetail(await get(`records/${encodeURIComponent(id)}`));
  } catch (err) {
    clear($("#detail-body")).append(h("p", { class: "error", text: `Could not load the request: ${err.message}` }));
  }
}

export function init() {
  $("#filters").addEventListener("submit", (event) => {
    event.preventDefault();
    filters = readFilters();
    load(true);
  });
  $("#filters").addEventListener("reset", () => {
    setTimeout(() => { filters = {}; load(true); }, 0);
  });
  $("#older").addEventListener("click", () => load(false));
  $("#detail-close").addEventListener("click", () => { $("#detail").hidden = true; });
  document.addEventListener("keydown", (event) => { if (event.key === "Escape") $("#detail").hidden = true; });
  return load(true);
}
