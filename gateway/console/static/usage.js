// Usage view: catalog providers and gateway keys against their limits; the last hour's charts.
import { get } from "./api.js";
import { lineChart } from "./charts.js";
import { $, clear, fmtCost, fmtNumber, h } from "./dom.js";

const NAMES = {
  requests_per_minute: "requests / minute", requests_per_hour: "requests / hour", requests_per_day: "requests / day",
  tokens_per_minute: "tokens / minute", tokens_per_hour: "tokens / hour", tokens_per_day: "tokens / day",
  budget_usd: "spend (USD)", budget_tokens: "tokens this period", requests: "requests", tokens: "tokens", cost_usd: "spend (USD)",
};

function amount(name, value) {
  if (value === null || value === undefined) return "";
  return name.includes("usd") ? fmtCost(value) : fmtNumber(value);
}

function bar(item) {
  const name = NAMES[item.name] || item.name.replaceAll("_", " ");
  const text = item.limit === null || item.limit === undefined
    ? `${amount(item.name, item.used)} (no limit)`
    : `${amount(item.name, item.used)} of ${amount(item.name, item.limit)}${item.fraction !== null ? ` · ${Math.round(item.fraction * 100)}%` : ""}`;
  const fill = h("div", { class: "bar-fill" });
  fill.style.width = `${Math.min(100, Math.max(0, (item.fraction ?? 0) * 100))}%`;
  return h("div", { class: `bar ${item.level}`, dataset: { limit: item.name, level: item.level } },
    h("div", { class: "bar-label" }, h("span", { text: name }), h("span", { text })),
    h("div", { class: "bar-track" }, fill));
}

function entities(container, rows, empty) {
  clear(container);
  if (!rows.length) {
    container.append(h("p", { class: "muted", text: empty }));
    return;
  }
  for (const row of rows) {
    container.append(h("div", { class: `entity ${row.level}`, dataset: { name: row.name, kind: row.kind } },
      h("div", {}, h("span", { class: "entity-name", text: row.kind === "provider" ? `@${row.name}` : row.name }),
        row.period ? h("span", { class: "period", text: row.period }) : null),
      row.bars.length ? row.bars.map(bar) : h("p", { class: "muted", text: "no usage yet" })));
  }
}

let timer = null;
let soon = null;

// Refresh after a burst of live records, at most once every two seconds.
export function refreshSoon() {
  if (!soon) soon = setTimeout(() => { soon = null; refresh(); }, 2000);
}

export async function refresh() {
  try {
    const data = await get("usage");
    const note = $("#usage-note");
    note.hidden = data.catalog;
    note.textContent = data.catalog ? "" : "No catalog is configured (GATEWAY_CATALOG_FILE), so there are no limits to show; the charts still come from the stored records.";
    entities($("#usage-providers"), data.providers, "No catalog providers.");
    entities($("#usage-keys"), data.keys, "No gateway keys.");
    const points = data.series.points;
    const times = points.map((p) => p.t);
    lineChart($("#chart-rps"), times, [{ key: "rps", cls: "l1", name: "requests/s", values: points.map((p) => p.rps) }]);
    lineChart($("#chart-latency"), times, [
      { key: "p50", cls: "l1", name: "p50", values: points.map((p) => p.p50_ms) },
      { key: "p95", cls: "l2", name: "p95", values: points.map((p) => p.p95_ms) },
    ]);
    lineChart($("#chart-errors"), times, [{ key: "errors", cls: "l3", name: "error rate", values: points.map((p) => (p.error_rate === null ? null : p.error_rate * 100)) }]);
  } catch (err) {
    const note = $("#usage-note");
    note.hidden = false;
    note.textContent = `Could not load usage: ${err.message}`;
  }
}

export function show() {
  refresh();
  if (!timer) timer = setInterval(refresh, 5000);
}

export function hide() {
  clearInterval(timer);
  timer = null;
}
