// An HTTP proxy for tests that breaks downloads on purpose: between an artifact cache and the cloud
// API, it forwards requests and streams answers back, and per request (by its index) can cut the
// connection after N body bytes, flip one byte, stall, or answer with an error status instead.
// It records what it saw: the path, the Range header, the Basic user, the status, the body bytes.
//
//   const proxy = startFaultProxy({ upstream: cloudUrl, faults: (i) => (i === 0 ? { cutAfter: 1e6 } : {}) })
//   ... proxy.requests[1].range === "bytes=1000000-"

export interface Fault {
  /** Break the connection after this many body bytes (once the client has read them). */
  cutAfter?: number;
  /** XOR 0xff into the body byte at this offset (of this answer's body). */
  flipAt?: number;
  /** Stop sending (without closing) after this many body bytes. */
  stallAfter?: number;
  /** Answer with this status without asking the upstream. */
  status?: number;
}

export interface ProxiedRequest {
  method: string;
  path: string;
  range: string | null;
  user: string | undefined;
  status: number;
  /** Body bytes passed on to the client. */
  bytes: number;
  fault: Fault;
}

export interface FaultProxy {
  url: string;
  requests: ProxiedRequest[];
  /** Changes the fault plan for the requests that follow. */
  setFaults(faults: (index: number, req: Request) => Fault | undefined): void;
  stop(): void;
}

export function startFaultProxy(options: {
  upstream: string;
  hostname?: string;
  faults?: (index: number, req: Request) => Fault | undefined;
}): FaultProxy {
  let faults = options.faults ?? (() => undefined);
  const requests: ProxiedRequest[] = [];
  const upstream = options.upstream.replace(/\/+$/, "");
  const server = Bun.serve({
    hostname: options.hostname ?? "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const fault = faults(requests.length, req) ?? {};
      const record: ProxiedRequest = {
        method: req.method,
        path: url.pathname,
        range: req.headers.get("range"),
        user: basicUser(req.headers.get("authorization")),
        status: fault.status ?? 0,
        bytes: 0,
        fault,
      };
      requests.push(record);
      if (fault.status !== undefined) return new Response("injected failure", { status: fault.status });
      const headers = new Headers(req.headers);
      headers.delete("host");
      const answer = await fetch(`${upstream}${url.pathname}${url.search}`, {
        method: req.method,
        headers,
        ...(req.body ? { body: req.body } : {}),
        decompress: false,
      } as RequestInit);
      record.status = answer.status;
      if (!answer.body) return new Response(null, { status: answer.status, headers: answer.headers });
      return new Response(breaker(answer.body, fault, record), {
        status: answer.status,
        headers: answer.headers,
      });
    },
  });
  return {
    url: `http://${server.hostname}:${server.port}`,
    requests,
    setFaults(next) {
      faults = next;
    },
    stop: () => server.stop(true),
  };
}

/** The upstream body with the fault applied: cut (an error mid-body breaks the connection), flipped or stalled. */
function breaker(
  body: ReadableStream<Uint8Array>,
  fault: Fault,
  record: ProxiedRequest,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let offset = 0;
  const limit = fault.cutAfter ?? fault.stallAfter;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (limit !== undefined && offset >= limit) {
        await reader.cancel().catch(() => {});
        if (fault.stallAfter !== undefined) return new Promise(() => {}); // stalled for good
        // Let the client read what was sent, then break the connection (an error without a
        // reason: Bun resets the connection without printing anything).
        await Bun.sleep(100);
        return controller.error();
      }
      const { value, done } = await reader.read();
      if (done) return controller.close();
      let out = value;
      if (limit !== undefined && offset + out.length > limit)
        out = out.subarray(0, Math.max(0, limit - offset));
      if (fault.flipAt !== undefined && fault.flipAt >= offset && fault.flipAt < offset + out.length) {
        out = new Uint8Array(out);
        out[fault.flipAt - offset] = (out[fault.flipAt - offset] ?? 0) ^ 0xff;
      }
      offset += out.length;
      record.bytes = offset;
      controller.enqueue(out);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

function basicUser(header: string | null): string | undefined {
  const match = /^Basic\s+(\S+)/i.exec(header ?? "");
  if (!match) return undefined;
  return Buffer.from(match[1] ?? "", "base64")
    .toString("utf8")
    .split(":")[0];
}
