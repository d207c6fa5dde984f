// The pure parts of the wire: header lines, the tunnel preamble, the relay's signed handshake lines,
// and the dialer's memory of which paths work.
import { describe, expect, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import fc from "fast-check";
import { LineReader } from "../../../src/mesh/transport/line-reader.ts";
import { formatPreamble, parsePreamble } from "../../../src/mesh/transport/preamble.ts";
import { Reachability } from "../../../src/mesh/transport/reachability.ts";
import {
  answerLine,
  challengeLine,
  helloLine,
  newNonce,
  parseAnswer,
  parseChallenge,
  requestLine,
  verifyRequestLine,
} from "../../../src/mesh/transport/relay-protocol.ts";
import { certificateFingerprint } from "../../../src/mesh/transport/revocation.ts";
import { testCa } from "./fixtures.ts";

const fingerprintOf = (pem: string) => certificateFingerprint(new X509Certificate(pem));

const bytes = (s: string) => new TextEncoder().encode(s);

describe("line reader", () => {
  test("a line split over chunks in any way, and the bytes after it untouched (property)", () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 60 }).filter((s) => !s.includes("\n")),
        fc.uint8Array({ maxLength: 50 }),
        fc.array(fc.nat(120), { maxLength: 6 }),
        (line, rest, cuts) => {
          const input = Buffer.concat([bytes(`${line}\n`), rest]);
          const points = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
          const reader = new LineReader(1024);
          let at = 0;
          for (const end of [...points, input.length]) {
            const result = reader.push(input.subarray(at, end));
            if (result.kind === "line") {
              expect(result.line).toBe(line.replace(/\r$/, ""));
              expect(Buffer.concat([result.rest, input.subarray(end)])).toEqual(Buffer.from(rest));
              return;
            }
            expect(result.kind).toBe("more");
            at = end;
          }
          throw new Error("no line");
        },
      ),
    );
  });

  test("a line longer than the limit is refused, also across chunks", () => {
    const reader = new LineReader(8);
    expect(reader.push(bytes("12345")).kind).toBe("more");
    expect(reader.push(bytes("67890")).kind).toBe("too-long");
    expect(new LineReader(4).push(bytes("12345\n")).kind).toBe("too-long");
  });
});

describe("tunnel preamble", () => {
  test("round trip and refusals", () => {
    expect(formatPreamble({ kind: "stream", service: "echo" })).toBe("LEVEE-TUNNEL/1 service=echo\n");
    expect(parsePreamble("LEVEE-TUNNEL/1 service=echo")).toEqual({
      ok: true,
      preamble: { kind: "stream", service: "echo", forwarded: false },
    });
    expect(parsePreamble("LEVEE-TUNNEL/1 ping")).toEqual({ ok: true, preamble: { kind: "ping" } });
    const forwarded = formatPreamble({ kind: "stream", service: "echo", forwarded: true });
    expect(forwarded).toBe("LEVEE-TUNNEL/1 service=echo forwarded\n");
    expect(parsePreamble(forwarded.trimEnd())).toEqual({
      ok: true,
      preamble: { kind: "stream", service: "echo", forwarded: true },
    });
    expect(parsePreamble("LEVEE-TUNNEL/1 service=echo again")).toMatchObject({ ok: false });
    expect(parsePreamble("LEVEE-TUNNEL/1 ping forwarded")).toMatchObject({ ok: false });
    expect(parsePreamble("LEVEE-TUNNEL/2 service=echo")).toEqual({
      ok: false,
      reason: "unsupported tunnel version 2",
    });
    expect(parsePreamble("GET / HTTP/1.1")).toMatchObject({ ok: false, reason: "not a levee tunnel stream" });
    expect(parsePreamble("LEVEE-TUNNEL/1 service=Bad_Name")).toMatchObject({ ok: false });
    expect(parsePreamble("LEVEE-TUNNEL/1 service=echo node=edge9")).toMatchObject({ ok: false });
    expect(() => formatPreamble({ kind: "stream", service: "a b" })).toThrow();
  });

  test("a qualified service name (svc.namespace) is a DNS subdomain; '..' and edge dots are not", () => {
    expect(parsePreamble(formatPreamble({ kind: "stream", service: "api.team-b" }).trimEnd())).toEqual({
      ok: true,
      preamble: { kind: "stream", service: "api.team-b", forwarded: false },
    });
    for (const bad of ["a..b", ".a", "a.", "a.-b"]) {
      expect(parsePreamble(`LEVEE-TUNNEL/1 service=${bad}`)).toMatchObject({ ok: false });
    }
  });
});

describe("relay handshake lines", () => {
  const ca = testCa();
  const a = ca.node("edgea");
  const challenge = { nonce: newNonce(), relay: "cloud" };

  test("hello, challenge and answers", () => {
    expect(helloLine()).toBe("LEVEE-RELAY/1\n");
    expect(parseChallenge(challengeLine(challenge.nonce, "cloud").trimEnd())).toEqual(challenge);
    expect(parseChallenge("LEVEE-RELAY/2 challenge abc cloud")).toBeUndefined();
    expect(parseAnswer(answerLine({ ok: true }).trimEnd())).toEqual({ ok: true });
    expect(parseAnswer(answerLine({ ok: false, reason: "no\nroute" }).trimEnd())).toEqual({
      ok: false,
      reason: "no route",
    });
    expect(parseAnswer("hello")).toMatchObject({ ok: false });
  });

  test("a signed offer and dial verify for the challenge they answer", () => {
    const offer = requestLine({ verb: "offer", node: "edgea" }, a, challenge).trimEnd();
    expect(verifyRequestLine(offer, challenge, ca.cert)).toEqual({
      ok: true,
      request: { verb: "offer", node: "edgea" },
      fingerprint: fingerprintOf(a.cert),
    });
    const dial = requestLine({ verb: "dial", node: "edgea", target: "edgeb" }, a, challenge).trimEnd();
    expect(verifyRequestLine(dial, challenge, ca.cert)).toEqual({
      ok: true,
      request: { verb: "dial", node: "edgea", target: "edgeb" },
      fingerprint: fingerprintOf(a.cert),
    });
  });

  test("dotted node names (DNS subdomains) in the challenge, offer and dial", () => {
    const dotted = ca.node("edge.site-a");
    const onCloud = { nonce: newNonce(), relay: "cloud.kubeedge" };
    expect(parseChallenge(challengeLine(onCloud.nonce, "cloud.kubeedge").trimEnd())).toEqual(onCloud);
    expect(parseChallenge(`LEVEE-RELAY/1 challenge ${onCloud.nonce} cloud..kubeedge`)).toBeUndefined();
    const dial = requestLine(
      { verb: "dial", node: "edge.site-a", target: "cloud.kubeedge" },
      dotted,
      onCloud,
    );
    expect(verifyRequestLine(dial.trimEnd(), onCloud, ca.cert)).toEqual({
      ok: true,
      request: { verb: "dial", node: "edge.site-a", target: "cloud.kubeedge" },
      fingerprint: fingerprintOf(dotted.cert),
    });
    // The certificate names edge.site-a, not edge: claiming a shorter name fails.
    const claimed = requestLine({ verb: "offer", node: "edge" }, dotted, onCloud);
    expect(verifyRequestLine(claimed.trimEnd(), onCloud, ca.cert)).toMatchObject({ ok: false });
  });

  test("replayed to another challenge or relay, forged, or another CA's: refused", () => {
    const offer = requestLine({ verb: "offer", node: "edgea" }, a, challenge).trimEnd();
    expect(verifyRequestLine(offer, { ...challenge, nonce: newNonce() }, ca.cert)).toEqual({
      ok: false,
      reason: "signature does not verify",
    });
    expect(verifyRequestLine(offer, { ...challenge, relay: "cloud2" }, ca.cert)).toMatchObject({ ok: false });
    // edgea's certificate and signature, claiming to be edgeb
    const words = offer.split(" ");
    expect(
      verifyRequestLine(["offer", "edgeb", words[2], words[3]].join(" "), challenge, ca.cert),
    ).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/edgea's, not edgeb's/),
    });
    // the verb changed after signing: an offer turned into a dial
    const dial = requestLine({ verb: "dial", node: "edgea", target: "edgeb" }, a, challenge)
      .trimEnd()
      .split(" ");
    expect(
      verifyRequestLine(["offer", "edgea", dial[3], dial[4]].join(" "), challenge, ca.cert),
    ).toMatchObject({ ok: false });
    // another CA
    const stranger = testCa().node("edgea");
    const foreign = requestLine({ verb: "offer", node: "edgea" }, stranger, challenge).trimEnd();
    expect(verifyRequestLine(foreign, challenge, ca.cert)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/not issued/),
    });
    // a key that is not the certificate's
    const mixed = requestLine(
      { verb: "offer", node: "edgea" },
      { cert: a.cert, key: ca.node("edgea").key },
      challenge,
    );
    expect(verifyRequestLine(mixed.trimEnd(), challenge, ca.cert)).toEqual({
      ok: false,
      reason: "signature does not verify",
    });
    expect(verifyRequestLine("offer edgea !!! ???", challenge, ca.cert)).toMatchObject({ ok: false });
    expect(verifyRequestLine("stream edgea", challenge, ca.cert)).toMatchObject({ ok: false });
  });
});

describe("reachability", () => {
  test("a failed direct path goes to the relay, is probed once when the mark expires, backs off", () => {
    let now = 0;
    const r = new Reachability({ now: () => now, retryMs: 1000, maxRetryMs: 4000 });
    expect(r.plan("b")).toEqual({ direct: true, probe: false });
    r.directFailed("b");
    expect(r.plan("b")).toEqual({ direct: false, probe: false });
    now = 999;
    expect(r.plan("b")).toEqual({ direct: false, probe: false });
    now = 1000;
    expect(r.plan("b")).toEqual({ direct: false, probe: true });
    expect(r.plan("b")).toEqual({ direct: false, probe: false }); // one probe per expiry
    r.directFailed("b"); // the probe failed: 2 s
    now = 2999;
    expect(r.plan("b").probe).toBe(false);
    now = 3000;
    expect(r.plan("b").probe).toBe(true);
    r.directFailed("b");
    r.directFailed("b");
    r.directFailed("b");
    now = 3000 + 3999;
    expect(r.plan("b").probe).toBe(false); // capped at 4 s
    now = 3000 + 4000;
    expect(r.plan("b").probe).toBe(true);
    r.directOk("b", "10.0.0.2", 3);
    expect(r.plan("b")).toEqual({ direct: true, probe: false });
    expect(r.preferredAddress("b")).toBe("10.0.0.2");
  });

  test("distance: the path in use, smoothed", () => {
    const r = new Reachability();
    expect(r.distance("b")).toBeUndefined();
    r.directOk("b", "x", 10);
    r.directOk("b", "x", 20);
    expect(r.distance("b")).toBeCloseTo(13);
    r.relayOk("b", 50);
    expect(r.distance("b")).toBeCloseTo(13);
    r.directFailed("b");
    expect(r.distance("b")).toBe(50);
  });
});
