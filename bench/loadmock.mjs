// A provider mock for load: answers instantly, costs little CPU, so it is never the bottleneck.
//
// Usage: node bench/loadmock.mjs --port=PORT   (listens on 127.0.0.1 only)
//
// Routes (an optional "/s/<switches>" path prefix, e.g. /s/chunks=8,delay_ms=20/v1/..., sets the
// stream length and a delay between stream events; the defaults are 64 events and no delay):
//   POST /v1/chat/completions  OpenAI chat: a chat.completion JSON, or with "stream": true an SSE stream
//                              of `chunks` chat.completion.chunk events (the last one has finish_reason
//                              and usage) and then data: [DONE]
//   POST /v1/messages          Anthropic Messages: a message JSON, or with "stream": true message_start,
//                              content_block_start, `chunks` content_block_delta events, content_block_stop,
//                              message_delta and message_stop
//   GET  /_mock/health         200 {"ok": true}
// Every event is written to the socket on its own (never batched by the mock), with TCP_NODELAY.
// Paced chat streams (delay_ms > 0) stamp each chunk with "x_sent_ms", the wall-clock time (ms) it was
// written, so a client can tell how long each event took to arrive.
import http from "node:http";

const portArg = process.argv.find((a) => a.startsWith("--port="));
const port = portArg ? Number(portArg.split("=")[1]) : 9100;

const WORDS = ["Hello", " there", ",", " friend", "!", " How", " are", " you", "?"];
const CREATED = Math.floor(Date.now() / 1000);
let counter = 0;

function parseSwitches(segment) {
  const sw = { chunks: 64, delay_ms: 0 };
  for (const item of segment.split(",")) {
    const [name, value] = item.split("=");
    if (name in sw) sw[name] = Number(value);
  }
  return sw;
}

function chatCompletion(model) {
  return JSON.stringify({
    id: `chatcmpl-load-${++counter}`,
    object: "chat.completion",
    created: CREATED,
    model,
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: "Hello there, friend! How are you?", refusal: null },
        logprobs: null,
        finish_reason: "stop",
      },
    ],
    usage: { prompt_tokens: 19, completion_tokens: 9, total_tokens: 28 },
    system_fingerprint: "fp_load",
  });
}

const SENT = '"__SENT__"';

function chatEvents(model, n, stamped) {
  const id = `chatcmpl-load-${++counter}`;
  const events = [];
  for (let i = 0; i < n; i++) {
    const last = i === n - 1;
    const delta = i === 0 ? { role: "assistant", content: WORDS[0] } : { content: WORDS[i % WORDS.length] };
    const chunk = {
      id,
      object: "chat.completion.chunk",
      created: CREATED,
      model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: last ? "stop" : null }],
    };
    if (last) chunk.usage = { prompt_tokens: 19, completion_tokens: n, total_tokens: 19 + n };
    if (stamped) chunk.x_sent_ms = "__SENT__";
    events.push(`data: ${JSON.stringify(chunk)}\n\n`);
  }
  events.push("data: [DONE]\n\n");
  return events;
}

function anthropicMessage(model) {
  return JSON.stringify({
    id: `msg_load${++counter}`,
    type: "message",
    role: "assistant",
    model,
    content: [{ type: "text", text: "Hello there, friend! How are you?" }],
    stop_reason: "end_turn",
    stop_sequence: null,
    usage: { input_tokens: 19, output_tokens: 9, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
  });
}

function anthropicEvents(model, n) {
  const event = (type, data) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  const events = [
    event("message_start", {
      message: {
        id: `msg_load${++counter}`,
        type: "message",
        role: "assistant",
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 19, output_tokens: 1 },
      },
    }),
    event("content_block_start", { index: 0, content_block: { type: "text", text: "" } }),
  ];
  for (let i = 0; i < n; i++) {
    events.push(event("content_block_delta", { index: 0, delta: { type: "text_delta", text: WORDS[i % WORDS.length] } }));
  }
  events.push(event("content_block_stop", { index: 0 }));
  events.push(event("message_delta", { delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: n } }));
  events.push(event("message_stop", {}));
  return events;
}

function sendJson(res, status, text) {
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

function sendStream(res, events, delayMs) {
  res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
  if (!delayMs) {
    for (const e of events) res.write(e);
    res.end();
    return;
  }
  let i = 0;
  const next = () => {
    if (res.destroyed) return;
    const e = events[i++];
    res.write(e.includes(SENT) ? e.replace(SENT, (performance.timeOrigin + performance.now()).toFixed(3)) : e);
    if (i < events.length) setTimeout(next, delayMs);
    else res.end();
  };
  next();
}

const server = http.createServer((req, res) => {
  let path = req.url.split("?")[0];
  let sw = { chunks: 64, delay_ms: 0 };
  if (path.startsWith("/s/")) {
    const rest = path.slice(3);
    const slash = rest.indexOf("/");
    sw = parseSwitches(slash < 0 ? rest : rest.slice(0, slash));
    path = slash < 0 ? "/" : rest.slice(slash);
  }
  if (req.method === "GET" && path === "/_mock/health") {
    sendJson(res, 200, '{"ok":true}');
    return;
  }
  const parts = [];
  req.on("data", (d) => parts.push(d));
  req.on("end", () => {
    let body = {};
    try {
      body = JSON.parse(Buffer.concat(parts).toString() || "{}");
    } catch {
      sendJson(res, 400, '{"error":{"message":"bad json","type":"invalid_request_error"}}');
      return;
    }
    const model = typeof body.model === "string" ? body.model : "load-model";
    if (req.method === "POST" && path.endsWith("/chat/completions")) {
      if (body.stream === true) sendStream(res, chatEvents(model, sw.chunks, sw.delay_ms > 0), sw.delay_ms);
      else sendJson(res, 200, chatCompletion(model));
    } else if (req.method === "POST" && path.endsWith("/messages")) {
      if (body.stream === true) sendStream(res, anthropicEvents(model, sw.chunks), sw.delay_ms);
      else sendJson(res, 200, anthropicMessage(model));
    } else {
      sendJson(res, 404, `{"error":{"message":"no route ${req.method} ${path}","type":"not_found"}}`);
    }
  });
});
server.keepAliveTimeout = 120000;
server.headersTimeout = 130000;
server.on("connection", (socket) => socket.setNoDelay(true));
server.listen(port, "127.0.0.1", () => process.stdout.write(`loadmock listening on 127.0.0.1:${port}\n`));
