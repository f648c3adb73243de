// The console's entry point: hash routing between the views and the live log stream.
import { STREAM } from "./api.js";
import { $, $$ } from "./dom.js";
import * as health from "./health.js";
import * as logs from "./logs.js";
import * as playground from "./playground.js";
import * as usage from "./usage.js";

const VIEWS = { logs: null, usage, playground: null, health };
let current = null;

function route() {
  const name = (window.location.hash || "#logs").slice(1).split("/")[0];
  const view = name in VIEWS ? name : "logs";
  if (view === current) return;
  if (current && VIEWS[current] && VIEWS[current].hide) VIEWS[current].hide();
  current = view;
  for (const section of $$(".view")) section.hidden = section.id !== `view-${view}`;
  for (const link of $$("#nav a")) link.classList.toggle("active", link.dataset.view === view);
  if (VIEWS[view] && VIEWS[view].show) VIEWS[view].show();
  document.title = `Gateway console: ${view}`;
}

function live() {
  const badge = $("#live");
  const source = new EventSource(STREAM, { withCredentials: true });
  source.addEventListener("connected", () => {
    badge.className = "live on";
    badge.title = "Live: connected";
    logs.catchUp();
  });
  source.addEventListener("log", (event) => {
    let record;
    try { record = JSON.parse(event.data); } catch { return; }
    logs.onLive(record);
    if (current === "usage") usage.refreshSoon();
  });
  source.addEventListener("error", () => { badge.className = "live off"; badge.title = "Live: reconnecting"; });
}

window.addEventListener("hashchange", route);
await logs.init();
playground.init();
route();
live();
