// The floor of Bun's socket data path for a 4 MB transfer on this machine, without any levee code:
// minimal forwarders (read → write, pause on back-pressure, resume on drain), each its own process,
// in the shapes the mesh uses. Shows what a proxy hop and a TLS hop cost on loopback, to compare
// with bench/mesh.ts's (c) rows:
//   direct               client → sink
//   1 plain hop          client → hop → sink                           (a same-node proxy)
//   2 plain hops         client → hop → hop → sink
//   plain → TLS → plain  client → hop (TLS out) → hop (TLS in) → sink  (levee across nodes: forward
//                                                                      proxy, tunnel, service port)
// The client writes 4 MB in 64 KiB writes and waits for the sink's one-byte answer; median of N.
// TLS: TLS 1.3 with an EC P-256 certificate from levee's own CA code, as between agents.
//
//   ./node_modules/.bin/bun bench/socket-floor.ts [--transfers 60]
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Socket, Subprocess } from "bun";
import { createCa, issueNodeCertificate } from "../src/mesh/transport/certificates.ts";

const TOTAL = 4 * 1024 * 1024;
const args = process.argv.slice(2);
const flag = (name: string) => args[args.indexOf(name) + 1] as string;
const role = args.includes("--role") ? flag("--role") : "main";

interface End {
  sock: Socket<End> | null;
  queue: Uint8Array[];
  peer: End | null;
  /** This side's reading is paused until the peer drains. */
  paused: boolean;
}
const end = (): End => ({ sock: null, queue: [], peer: null, paused: false });

/** Writes or queues; false when the chunk could not be written whole (the caller pauses its reader). */
function send(to: End, chunk: Uint8Array): boolean {
  if (to.queue.length > 0 || to.sock === null) {
    to.queue.push(chunk);
    return false;
  }
  const n = to.sock.write(chunk);
  if (n === chunk.byteLength) return true;
  to.queue.push(chunk.subarray(Math.max(n, 0)));
  return false;
}

function flush(e: End): void {
  while (e.queue.length > 0 && e.sock !== null) {
    const chunk = e.queue[0] as Uint8Array;
    const n = e.sock.write(chunk);
    if (n < chunk.byteLength) {
      if (n > 0) e.queue[0] = chunk.subarray(n);
      return;
    }
    e.queue.shift();
  }
  const reader = e.peer;
  if (reader?.paused) {
    reader.paused = false;
    reader.sock?.resume();
  }
}

/** The TLS hop's certificate and key, from levee's own CA code (EC P-256, as between agents). */
function writeTlsFiles(dir: string): void {
  const node = issueNodeCertificate(createCa(), { node: "floor", addresses: ["127.0.0.1"] });
  writeFileSync(join(dir, "cert.pem"), node.cert);
  writeFileSync(join(dir, "key.pem"), node.key);
}

if (role === "sink") {
  let received = 0;
  Bun.listen({
    hostname: "127.0.0.1",
    port: Number(flag("--port")),
    socket: {
      data(s, d) {
        received += d.byteLength;
        if (received >= TOTAL) {
          received -= TOTAL;
          s.write("k");
        }
      },
    },
  });
} else if (role === "hop") {
  const tlsIn = args.includes("--tls-in");
  const tlsOut = args.includes("--tls-out");
  const cert = tlsIn ? await Bun.file(join(flag("--dir"), "cert.pem")).text() : "";
  const key = tlsIn ? await Bun.file(join(flag("--dir"), "key.pem")).text() : "";
  Bun.listen<End>({
    hostname: "127.0.0.1",
    port: Number(flag("--port")),
    ...(tlsIn ? { tls: { cert, key } } : {}),
    socket: {
      async open(s) {
        const a = end();
        const b = end();
        a.sock = s;
        a.peer = b;
        b.peer = a;
        s.data = a;
        s.setNoDelay(true);
        b.sock = await Bun.connect<End>({
          hostname: "127.0.0.1",
          port: Number(flag("--to")),
          data: b,
          ...(tlsOut ? { tls: { rejectUnauthorized: false } } : {}),
          socket: {
            data(o, d) {
              if (!send(a, d)) {
                o.pause();
                b.paused = true;
              }
            },
            drain: (o) => flush(o.data),
            open: (o) => void o.setNoDelay(true),
          },
        });
        flush(b);
      },
      data(s, d) {
        const a = s.data;
        if (!send(a.peer as End, d)) {
          s.pause();
          a.paused = true;
        }
      },
      drain: (s) => flush(s.data),
    },
  });
} else if (role === "client") {
  const body = Buffer.alloc(TOTAL, 7);
  let done: (() => void) | null = null;
  const e = end();
  e.sock = await Bun.connect<End>({
    hostname: "127.0.0.1",
    port: Number(flag("--port")),
    data: e,
    socket: { data: () => done?.(), drain: (s) => flush(s.data), open: (s) => void s.setNoDelay(true) },
  });
  const times: number[] = [];
  const n = Number(flag("--transfers"));
  for (let i = 0; i < n + 3; i++) {
    const started = performance.now();
    const answered = new Promise<void>((resolve) => (done = resolve));
    for (let o = 0; o < TOTAL; o += 65536) send(e, body.subarray(o, o + 65536));
    await answered;
    if (i >= 3) times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  console.log((times[Math.floor(times.length / 2)] as number).toFixed(2));
  process.exit(0);
} else {
  const dir = mkdtempSync(join(tmpdir(), "levee-floor-"));
  writeTlsFiles(dir);
  const transfers = args.includes("--transfers") ? flag("--transfers") : "60";
  const P = { sink: 19931, hop: 19932, hop2: 19933, tlsOut: 19934, tlsIn: 19935 };
  const procs: Subprocess[] = [];
  const spawn = (argv: string[]) =>
    procs.push(
      Bun.spawn([process.execPath, import.meta.path, ...argv], { stdout: "inherit", stderr: "inherit" }),
    );
  try {
    spawn(["--role", "sink", "--port", String(P.sink)]);
    spawn(["--role", "hop", "--port", String(P.hop), "--to", String(P.sink)]);
    spawn(["--role", "hop", "--port", String(P.hop2), "--to", String(P.hop)]);
    spawn(["--role", "hop", "--port", String(P.tlsIn), "--to", String(P.sink), "--tls-in", "--dir", dir]);
    spawn(["--role", "hop", "--port", String(P.tlsOut), "--to", String(P.tlsIn), "--tls-out"]);
    await Bun.sleep(500);
    const client = async (port: number) => {
      const p = Bun.spawn(
        [
          process.execPath,
          import.meta.path,
          "--role",
          "client",
          "--port",
          String(port),
          "--transfers",
          transfers,
        ],
        { stdout: "pipe" },
      );
      return Number((await new Response(p.stdout).text()).trim());
    };
    const rows: [string, number][] = [];
    for (const [name, port] of [
      ["direct", P.sink],
      ["1 plain hop", P.hop],
      ["2 plain hops", P.hop2],
      ["plain → TLS → plain (2 hops, one TLS link)", P.tlsOut],
    ] as const)
      rows.push([name, await client(port)]);
    const direct = rows[0]?.[1] as number;
    console.log(`4 MB transfer, median of ${transfers} (bun ${Bun.version})\n`);
    console.log("| path | ms | vs direct |\n| --- | ---: | ---: |");
    for (const [name, ms] of rows)
      console.log(`| ${name} | ${ms.toFixed(2)} | ${(ms / direct).toFixed(2)}× |`);
  } finally {
    for (const p of procs) p.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}
