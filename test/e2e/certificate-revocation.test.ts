// Deleting a node revokes its mesh certificate fleet-wide: with a cloud and 2 edges, edge2's
// certificate and key (read from its SQLite) let a test client into edge1's tunnel listener and
// through the cloud's relay handshake, and hold a stream to a service on edge1 open; within 5 s of
// DELETE /api/v1/nodes/edge2 the same certificate is refused by edge1 and by the relay, and the open
// stream is closed.
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { Socket } from "bun";
import type { NodeTls } from "../../src/mesh/transport/node-tls.ts";
import { formatPreamble } from "../../src/mesh/transport/preamble.ts";
import { helloLine, parseChallenge, requestLine } from "../../src/mesh/transport/relay-protocol.ts";
import { DEFAULT_PORTS } from "../../src/runtime/host-port.ts";
import { BUN, type Cluster, REPO_ROOT, routesApplied, startCluster, waitUntil } from "../harness/cluster.ts";

let c: Cluster;
let edge2Tls: NodeTls;
const TUNNEL = DEFAULT_PORTS.tunnel;
const PORT = 19480;

const ECHO = JSON.stringify({
  apiVersion: "levee/v1",
  kind: "Service",
  metadata: { name: "echo" },
  spec: {
    template: {
      command: [BUN, join(REPO_ROOT, "test/fixtures/raw-echo-worker.ts")],
      port: "auto",
      health: { tcp: true, interval: "300ms" },
    },
    workers: [{ node: "edge1" }],
    mesh: { port: PORT, protocol: "tcp" },
  },
});

/** A node's mesh credentials as it keeps them (src/mesh/transport/mesh-credentials.ts). */
function storedTls(dataDir: string, node: string): NodeTls {
  const db = new Database(join(dataDir, "levee.db"), { readonly: true });
  try {
    const get = (key: string) =>
      db.query<{ value: string }, [string]>("SELECT value FROM meta WHERE key = ?").get(key)?.value ?? "";
    return { node, ca: get("mesh-ca"), cert: get("mesh-cert"), key: get("mesh-key") };
  } finally {
    db.close();
  }
}

interface Session {
  received: () => string;
  closed: Promise<void>;
  write: (text: string) => void;
}

/** A TLS connection to `host`'s tunnel port as edge2, sending `first` after the handshake. */
function tunnelSession(host: string, serverName: string, first: string): Promise<Session> {
  let text = "";
  let socket: Socket | undefined;
  let closedResolve!: () => void;
  const closed = new Promise<void>((resolve) => {
    closedResolve = resolve;
  });
  return new Promise((resolve) => {
    const session: Session = {
      received: () => text,
      closed,
      write: (t) => void socket?.write(t),
    };
    void Bun.connect({
      hostname: host,
      port: TUNNEL,
      tls: { ca: edge2Tls.ca, cert: edge2Tls.cert, key: edge2Tls.key, serverName },
      socket: {
        handshake(s) {
          socket = s;
          s.write(first);
          resolve(session);
        },
        data(_s, d) {
          text += d.toString();
        },
        close() {
          closedResolve();
          resolve(session);
        },
        error() {},
      },
    }).catch(() => {
      closedResolve();
      resolve(session);
    });
  });
}

/** Whether edge1 answers edge2's certificate with a pong (accepted) or closes (refused). */
async function edge1Answers(): Promise<boolean> {
  const s = await tunnelSession(
    c.edges[0]?.address ?? "",
    "edge1.node.levee",
    formatPreamble({ kind: "ping" }),
  );
  await Promise.race([s.closed, Bun.sleep(2000)]);
  return s.received() === "pong\n";
}

/** The relay's answer to an offer signed with edge2's certificate and key: "ok" or "error ...". */
function relayAnswer(): Promise<string> {
  return new Promise((resolve) => {
    let buffer = "";
    let answered = false;
    const finish = (line: string, s?: Socket) => {
      if (answered) return;
      answered = true;
      s?.end();
      resolve(line);
    };
    void Bun.connect({
      hostname: c.cloud.address,
      port: TUNNEL,
      socket: {
        open: (s) => void s.write(helloLine()),
        data(s, d) {
          buffer += d.toString();
          const lines = buffer.split("\n");
          const challenge = lines[0] !== undefined && lines.length > 1 ? parseChallenge(lines[0]) : undefined;
          if (challenge && lines.length === 2) {
            s.write(requestLine({ verb: "offer", node: "edge2" }, edge2Tls, challenge));
            buffer += "\u0000"; // sent once
            return;
          }
          if (lines.length > 2) finish(lines[1]?.replace("\u0000", "") ?? "", s);
        },
        close: () => finish(buffer.split("\n")[1]?.replace("\u0000", "") ?? "closed"),
        error() {},
      },
    }).catch(() => finish("connect failed"));
  });
}

beforeAll(async () => {
  c = await startCluster({ edges: 2 });
  const res = await c.cloud.api("/api/v1/apply", { method: "POST", body: ECHO });
  expect(res.status).toBe(200);
  await waitUntil(
    "edge2's mesh certificate",
    () => storedTls(c.edges[1]?.dataDir ?? "", "edge2").cert !== "",
    15_000,
  );
  edge2Tls = storedTls(c.edges[1]?.dataDir ?? "", "edge2");
  await waitUntil(
    "the echo worker ready, its routes applied",
    async () => {
      const { items } = (await (await c.cloud.api("/api/v1/workers?service=echo")).json()) as {
        items: { ready: boolean }[];
      };
      return items[0]?.ready === true && (await routesApplied(c, "echo"));
    },
    30_000,
  );
}, 60_000);

afterAll(async () => {
  await c?.destroy();
});

describe("certificate revocation", () => {
  test("a deleted node's certificate is refused by every other node within 5 s", async () => {
    expect(await edge1Answers()).toBe(true);
    expect(await relayAnswer()).toBe("ok");
    const open = await tunnelSession(
      c.edges[0]?.address ?? "",
      "edge1.node.levee",
      formatPreamble({ kind: "stream", service: "echo", forwarded: false }),
    );
    // The worker answers HTTP with the request's body (keep-alive: the stream stays open).
    open.write("POST / HTTP/1.1\r\nHost: echo\r\nContent-Length: 11\r\n\r\nstill here?");
    await waitUntil("the open stream's answer", () => open.received().endsWith("still here?"), 5000);

    const deleted = await c.cloud.api("/api/v1/nodes/edge2", { method: "DELETE" });
    expect(deleted.status).toBe(200);
    const started = Date.now();
    await waitUntil("edge1 refuses edge2's certificate", async () => !(await edge1Answers()), 5000);
    await open.closed;
    expect(await relayAnswer()).toMatch(/^error /);
    expect(Date.now() - started).toBeLessThan(5000);
  }, 20_000);
});
