// The console API client: same origin, the session cookie, the CSRF token on POSTs.

const meta = (name) => document.querySelector(`meta[name="${name}"]`).content;

export const BASE = meta("console-base"); // e.g. "/public/" or "/llm/public/"
export const STREAM = meta("console-stream"); // e.g. "/log/stream"
export const ROOT = BASE.replace(/public\/$/, ""); // the gateway's mount root, e.g. "/" or "/llm/"
const CSRF = meta("console-csrf");

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

async function handle(response) {
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = null; }
  if (response.status === 401) {
    window.location.assign(BASE); // the session ended: back to the login page
  }
  if (!response.ok) {
    const message = (body && body.error && body.error.message) || `HTTP ${response.status}`;
    throw new ApiError(response.status, message, body);
  }
  return body;
}

export async function get(path, params) {
  const url = new URL(BASE + "api/" + path, window.location.origin);
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== "" && value !== null && value !== undefined) url.searchParams.set(key, value);
  }
  return handle(await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }));
}

export async function post(path, payload) {
  return handle(await fetch(BASE + "api/" + path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-Console-CSRF": CSRF, Accept: "application/json" },
    body: JSON.stringify(payload),
  }));
}
