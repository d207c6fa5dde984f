// Request smuggling end to end: framing obfuscations sent through the proxy (real sockets) to a raw
// upstream that records every byte. Either the client gets 400/501 and the upstream sees nothing, or
// the upstream receives exactly the two requests the oracle says were sent, with canonical framing.
import { afterAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { cleanupAll, rawClient, rawUpstream, startProxy, statusLines } from "./fixtures.ts";
import { FRAMING_LINES, oracle } from "./smuggling-oracle.ts";

afterAll(cleanupAll);

const chunked = (payload: string) => `${payload.length.toString(16)}\r\n${payload}\r\n0\r\n\r\n`;

describe("smuggling through the proxy", () => {
  test("a request is never read as two, and never reaches the upstream when ambiguous", async () => {
    const up = rawUpstream(
      (req) => `HTTP/1.1 200 OK\r\nContent-Length: ${req.body.length}\r\n\r\n${req.body}`,
    );
    const px = startProxy(up.port);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(...FRAMING_LINES), { minLength: 1, maxLength: 3 }),
        async (templates) => {
          const payload = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
          const lines = templates.map((t) => t.replaceAll("N", String(payload.length)));
          const expected = oracle(lines);
          const body =
            !expected.error && expected.kind === "none"
              ? ""
              : !expected.error && expected.kind === "length"
                ? payload
                : chunked(payload);
          const before = up.requests.length;
          const client = await rawClient(px.port);
          client.write(
            `POST /first HTTP/1.1\r\nHost: x\r\n${lines.map((l) => `${l}\r\n`).join("")}\r\n${body}` +
              "GET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
          );
          await client.closed;
          const seen = up.requests.slice(before);
          if (expected.error) {
            expect([400, 501]).toContain(statusLines(client.text())[0] ?? 0);
            expect(seen).toEqual([]);
            return;
          }
          expect(statusLines(client.text())).toEqual([200, 200]);
          expect(seen.map((r) => r.head.split(" ")[1])).toEqual(["/first", "/next"]);
          expect(seen[0]?.body.toString()).toBe(body);
          const head = seen[0]?.head.toLowerCase() ?? "";
          // canonical framing on the way out: at most one framing field, in its plain form
          const framing = head.split("\r\n").filter((l) => /^(content-length|transfer-encoding):/.test(l));
          expect(framing.length).toBeLessThanOrEqual(1);
          if (expected.kind === "chunked") expect(framing).toEqual(["transfer-encoding: chunked"]);
        },
      ),
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 150) },
    );
  });
});
