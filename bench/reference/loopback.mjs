// Preloaded (node --import) before the reference gateway: its server listens on every interface and
// takes only --port, so bind the servers it starts to loopback instead.
import http from "node:http";

const listen = http.Server.prototype.listen;
http.Server.prototype.listen = function (port, host, ...rest) {
  if (typeof port === "number" && (host === undefined || typeof host === "function")) {
    return listen.call(this, port, "127.0.0.1", ...(typeof host === "function" ? [host, ...rest] : rest));
  }
  return listen.call(this, port, host, ...rest);
};
