// Shared helpers of the Dayu-like pipeline's services (Node.js standard library only):
//   discovery   what a Dayu component used to ask the Kubernetes API, asked of the node's levee agent
//               (LEVEE_AGENT_URL): nodes with role and addresses, a service's mesh port and workers;
//   meshRequest an HTTP request to "service S on node N": http://<N>:<port of S>/path through the
//               node's mesh forward proxy (HTTP_PROXY, given to workers with meshProxy: true), so it
//               works when the nodes cannot reach each other directly; or straight to N's address;
//   serve       an HTTP server on the worker's PORT that drains its requests on SIGTERM;
//   multipart   building and parsing multipart/form-data, byte-exact;
//   the X-Pipeline-Node header: every request names the node it was addressed to, and every server
//   counts the requests that reached it on another node (which the mesh must never do).
import { createHash } from "node:crypto";
import http from "node:http";

export const NODE = process.env.NODE_NAME ?? "unknown";
export const SERVICE = process.env.SERVICE_NAME ?? "unknown";
export const WORKER = `${NODE}/${SERVICE}#${process.env.LEVEE_WORKER_INDEX ?? "0"}`;
const AGENT = process.env.LEVEE_AGENT_URL ?? "http://127.0.0.1:7401";

/** The header that names the node a request was addressed to. */
export const NODE_HEADER = "x-pipeline-node";

export function log(message, fields = {}) {
  const extra = Object.entries(fields)
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
  process.stdout.write(`${new Date().toISOString()} ${WORKER} ${message}${extra ? ` ${extra}` : ""}\n`);
}

/** An integer from the environment, or the default. */
export function envInt(name, fallback) {
  const text = process.env[name];
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isFinite(value)) throw new Error(`${name}=${JSON.stringify(text)} is not a number`);
  return value;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function sha256(bytes) {
  return createHash("sha256").update(bytes).digest("hex");
}

// ---------------------------------------------------------------- discovery (the local agent API)

const cache = new Map();

/** fn(), remembered for ttlMs; a failed call is not remembered. */
async function cached(key, ttlMs, fn) {
  const hit = cache.get(key);
  if (hit && hit.until > Date.now()) return hit.value;
  const value = await fn();
  cache.set(key, { value, until: Date.now() + ttlMs });
  return value;
}

/** GET a JSON document of the local agent API. */
export async function agentGet(path) {
  const answer = await request({ url: `${AGENT}${path}`, timeoutMs: 3000 });
  if (answer.status !== 200)
    throw new Error(`agent ${path}: HTTP ${answer.status} ${answer.body.toString().slice(0, 200)}`);
  return JSON.parse(answer.body.toString());
}

/** The nodes of the cluster: {name, role, addresses, state}. */
export function nodes() {
  return cached("nodes", 2000, async () => (await agentGet("/v1/nodes")).items);
}

/** The name of the cloud node (role cloud). */
export async function cloudNode() {
  const cloud = (await nodes()).find((n) => n.role === "cloud");
  if (!cloud) throw new Error("the agent knows no cloud node");
  return cloud.name;
}

/** This worker's namespace: levee names a service outside `default` as `<name>.<namespace>`. */
const NAMESPACE = process.env.NAMESPACE ?? "default";
const key = (name) => (NAMESPACE === "default" ? name : `${name}.${NAMESPACE}`);

/** A service of the catalog (of this worker's namespace): {name, port, workers: [{node, index, ready}]}. */
export function service(name, ttlMs = 1000) {
  return cached(`service/${name}`, ttlMs, () => agentGet(`/v1/services/${encodeURIComponent(key(name))}`));
}

/** The mesh port of a service (the same on every node). */
export async function servicePort(name) {
  return (await service(name, 5000)).port;
}

// ---------------------------------------------------------------- HTTP client

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 64, keepAliveMsecs: 1000 });
const proxy = parseProxy(process.env.HTTP_PROXY ?? process.env.http_proxy);

function parseProxy(text) {
  if (!text) return undefined;
  const url = new URL(text);
  return { host: url.hostname, port: Number(url.port || 80) };
}

/**
 * One HTTP request: {url, method, headers, body, timeoutMs, via} → {status, headers, body Buffer}.
 * `via` ({host, port}) sends it to a forward proxy in absolute form. Network errors reject.
 */
export function request({ url, method = "GET", headers = {}, body, timeoutMs = 15000, via }) {
  const target = new URL(url);
  const options = {
    method,
    agent: keepAlive,
    headers: { ...headers, host: target.host },
    host: via ? via.host : target.hostname,
    port: via ? via.port : Number(target.port || 80),
    path: via ? target.href : `${target.pathname}${target.search}`,
  };
  if (body !== undefined) options.headers["content-length"] = String(body.length);
  return new Promise((resolve, reject) => {
    const req = http.request(options, (res) => {
      const chunks = [];
      res.on("data", (chunk) => chunks.push(chunk));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on("error", reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end(body);
  });
}

/**
 * A request to service port `port` ON NODE `node`: through the node's mesh forward proxy
 * (http://<node>:<port>/path), or, with direct: true or without a proxy, to the node's address.
 */
export async function meshRequest(node, port, path, options = {}) {
  const headers = { ...options.headers, [NODE_HEADER]: node };
  if (proxy && !options.direct)
    return request({ ...options, headers, url: `http://${node}:${port}${path}`, via: proxy });
  const entry = (await nodes()).find((n) => n.name === node);
  const address = entry?.addresses?.[0];
  if (!address) throw new Error(`no address known for node ${node}`);
  const host = address.includes(":") ? `[${address}]` : address;
  return request({ ...options, headers, url: `http://${host}:${port}${path}` });
}

/** JSON body of an answer, or an error naming the status and what came back. */
export function jsonOf(answer, what) {
  const text = answer.body.toString();
  if (answer.status !== 200) {
    const why = answer.headers["x-levee-error"] ?? text.slice(0, 200);
    throw Object.assign(new Error(`${what}: HTTP ${answer.status} ${why}`), { status: answer.status });
  }
  return JSON.parse(text);
}

export function jsonBody(value) {
  return { body: Buffer.from(JSON.stringify(value)), headers: { "content-type": "application/json" } };
}

// ---------------------------------------------------------------- HTTP server

/** Reads a request body (at most limit bytes). */
export function readBody(req, limit = 16 * 1024 * 1024) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on("data", (chunk) => {
      size += chunk.length;
      if (size > limit) {
        reject(Object.assign(new Error(`body over ${limit} bytes`), { status: 413 }));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

export function send(res, status, value) {
  const body = typeof value === "string" ? value : JSON.stringify(value);
  res.writeHead(status, {
    "content-type": typeof value === "string" ? "text/plain" : "application/json",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}

/** Requests that reached this worker although they were addressed to another node. */
export const misrouted = { count: 0, last: undefined };

/** Tells the distributor (on the cloud) that a request reached the wrong node. */
async function reportMisrouted(addressed, path) {
  try {
    const port = await servicePort(process.env.DISTRIBUTOR_SERVICE ?? "distributor");
    const event = { kind: "misrouted", addressed, node: NODE, worker: WORKER, path };
    await meshRequest(await cloudNode(), port, "/events", { method: "POST", ...jsonBody(event) });
  } catch (err) {
    log("cannot report to the distributor", { error: err.message });
  }
}

/**
 * Serves `routes` ({"METHOD /path": async (req, res, url) => ...}) on PORT (the agent's `port: auto`,
 * or GUNICORN_PORT as Dayu's components have it; with anyPort, a free port when neither is set).
 * SIGTERM: stop accepting, finish what is in flight, exit. Unknown paths are 404, thrown errors 500
 * (or their .status).
 */
export function serve(routes, options = {}) {
  const port = envInt("PORT", envInt("GUNICORN_PORT", 0));
  // A component that serves nobody but its operator may take any free port (then it is logged).
  if (!port && !options.anyPort)
    throw new Error("no PORT (set port: auto in the manifest) and no GUNICORN_PORT");
  let inFlight = 0;
  let closing = false;
  const server = http.createServer(async (req, res) => {
    inFlight++;
    res.on("close", () => {
      inFlight--;
      if (closing && inFlight === 0) setImmediate(() => process.exit(0));
    });
    if (closing) res.shouldKeepAlive = false;
    const url = new URL(req.url ?? "/", "http://x");
    try {
      const addressed = req.headers[NODE_HEADER];
      if (addressed !== undefined && addressed !== NODE) {
        misrouted.count++;
        misrouted.last = { addressed, path: url.pathname, at: Date.now() };
        log("request addressed to another node reached this worker", { addressed, path: url.pathname });
        if (options.onMisrouted) options.onMisrouted(addressed, url.pathname);
        else void reportMisrouted(addressed, url.pathname);
      }
      const route = routes[`${req.method} ${url.pathname}`];
      if (!route) send(res, 404, { error: `no route ${req.method} ${url.pathname}` });
      else await route(req, res, url);
    } catch (err) {
      if (!res.headersSent) send(res, err.status ?? 500, { error: err.message, worker: WORKER });
      else res.destroy();
    }
  });
  server.keepAliveTimeout = 30_000;
  server.listen(port, process.env.LISTEN_HOST ?? "127.0.0.1", () =>
    log("listening", { port: server.address().port }),
  );
  process.on("SIGTERM", () => {
    closing = true;
    log("SIGTERM: finishing requests in flight", { inFlight });
    options.onStop?.();
    server.close(() => process.exit(0));
    server.closeIdleConnections?.();
    if (inFlight === 0) process.exit(0);
    setTimeout(() => process.exit(0), 4000).unref();
  });
  return server;
}

// ---------------------------------------------------------------- multipart/form-data

/** parts: [{name, value: string}] or [{name, filename, type, data: Buffer}] → {body, contentType}. */
export function buildMultipart(parts) {
  const boundary = `----pipeline${Math.random().toString(16).slice(2)}${Date.now().toString(16)}`;
  const pieces = [];
  for (const part of parts) {
    const filename = part.filename === undefined ? "" : `; filename="${part.filename}"`;
    const type =
      part.filename === undefined ? "" : `\r\nContent-Type: ${part.type ?? "application/octet-stream"}`;
    pieces.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"${filename}${type}\r\n\r\n`,
      ),
    );
    pieces.push(part.data ?? Buffer.from(part.value ?? ""));
    pieces.push(Buffer.from("\r\n"));
  }
  pieces.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(pieces), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** The parts of a multipart/form-data body: Map name → {filename, type, data: Buffer}. */
export function parseMultipart(body, contentType) {
  const match = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType ?? "");
  if (!match) throw Object.assign(new Error("not multipart/form-data (no boundary)"), { status: 400 });
  const delimiter = Buffer.from(`--${match[1] ?? match[2]}`);
  const parts = new Map();
  let at = body.indexOf(delimiter);
  if (at < 0) throw Object.assign(new Error("multipart body without its boundary"), { status: 400 });
  for (;;) {
    at += delimiter.length;
    if (body.subarray(at, at + 2).toString() === "--") return parts;
    at += 2; // CRLF after the delimiter
    const headEnd = body.indexOf("\r\n\r\n", at);
    if (headEnd < 0) throw Object.assign(new Error("multipart part without headers"), { status: 400 });
    const head = body.subarray(at, headEnd).toString("latin1");
    const next = body.indexOf(Buffer.concat([Buffer.from("\r\n"), delimiter]), headEnd + 4);
    if (next < 0) throw Object.assign(new Error("multipart body is truncated"), { status: 400 });
    const name = /name="([^"]*)"/i.exec(head)?.[1];
    const filename = /filename="([^"]*)"/i.exec(head)?.[1];
    const type = /content-type:\s*([^\r\n]+)/i.exec(head)?.[1];
    if (name !== undefined) parts.set(name, { filename, type, data: body.subarray(headEnd + 4, next) });
    at = next + 2;
  }
}

/** Resolves after fn() succeeded, retrying with backoff until deadline (ms since epoch). */
export async function retryUntil(deadline, fn, onError) {
  let delay = 100;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (Date.now() + delay > deadline) throw err;
      onError?.(err, attempt);
      await sleep(delay);
      delay = Math.min(delay * 2, 1000);
    }
  }
}
