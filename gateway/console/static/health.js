// Health view: Redis reachability, the record store and catalog, catalog providers with breaker and last error.
import { get } from "./api.js";
import { $, clear, fmtTime, h, statusClass } from "./dom.js";

function card(title, state, cls, detail) {
  return h("div", { class: "card", dataset: { card: title.toLowerCase() } },
    h("h2", { text: title }), h("div", { class: `state ${cls}`, text: state }), detail ? h("div", { class: "muted", text: detail }) : null);
}

let timer = null;

export async function refresh() {
  try {
    const data = await get("health");
    const cards = clear($("#health-cards"));
    const redis = data.redis;
    cards.append(
      !redis.configured ? card("Redis", "not configured", "neutral", "State is per worker (GATEWAY_REDIS_URL unset).")
        : redis.reachable ? card("Redis", "reachable", "good", `PING in ${redis.latency_ms} ms`)
          : card("Redis", "unreachable", "badstate", `${redis.error || "no answer"}; the gateway fails open`),
      card("Request records", data.records ? "stored" : "off", data.records ? "good" : "neutral", data.records ? "" : "No record store is configured."),
      card("Catalog", data.catalog ? `${data.providers.length} provider${data.providers.length === 1 ? "" : "s"}` : "off", data.catalog ? "good" : "neutral",
        data.catalog ? "" : "Set GATEWAY_CATALOG_FILE to keep provider credentials on the server."),
    );
    const rows = clear($("#health-rows"));
    if (!data.providers.length) rows.append(h("tr", {}, h("td", { colspan: 5, class: "muted", text: "No catalog providers." })));
    for (const p of data.providers) {
      const err = p.last_error;
      rows.append(h("tr", { dataset: { slug: p.slug } },
        h("td", { text: `@${p.slug}` }),
        h("td", { text: p.provider || "" }),
        h("td", { text: p.models ? String(p.models) : "any" }),
        h("td", {}, h("span", { class: `breaker ${p.breaker}`, text: p.breaker,
          title: data.redis.configured ? "shared by every worker (Redis)" : "as this worker sees it (no Redis)" })),
        h("td", {}, err ? [h("span", { class: `badge ${statusClass(err.status)}`, text: err.status }), " ", fmtTime(err.time, true), " ",
          h("span", { class: "muted", text: err.error || "" })] : h("span", { class: "muted", text: "none" })),
      ));
    }
  } catch (err) {
    clear($("#health-cards")).append(h("p", { class: "error", text: `Could not load health: ${err.message}` }));
  }
}

export function show() {
  refresh();
  if (!timer) timer = setInterval(refresh, 10000);
}

export function hide() {
  clearInterval(timer);
  timer = null;
}
