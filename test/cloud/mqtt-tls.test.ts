// MQTT over TLS, in one process: the checks of a certificate at start (key, address), the option
// rules, and the embedded broker with a certificate: a client trusting its CA connects, a
// plaintext client or one without the CA does not, and a certificate for another address is
// refused by a client that expects the advertised one.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import mqtt from "mqtt";
import { type EmbeddedBroker, startEmbeddedBroker } from "../../src/cloud/broker.ts";
import { certificateProblem } from "../../src/cloud/mqtt-tls.ts";
import { cloudOptionProblem } from "../../src/config/agent-config.ts";
import { type ClientTls, tlsOptions } from "../../src/protocol/mqtt-session.ts";
import { createLogger } from "../../src/runtime/log.ts";
import { makeCert, opensslAvailable, type TestCert } from "../harness/certs.ts";
import { makeTempDir } from "../harness/cluster.ts";

const haveOpenssl = opensslAvailable();
const logs: string[] = [];
const log = createLogger({ level: "debug", format: "text", write: (l) => logs.push(l) });

let good: TestCert;
let other: TestCert;
let broker: EmbeddedBroker;

beforeAll(async () => {
  if (!haveOpenssl) return;
  const dir = makeTempDir();
  good = await makeCert(dir, "broker", "IP:127.0.0.1");
  other = await makeCert(dir, "other", "IP:10.9.9.9");
  broker = await startEmbeddedBroker({ host: "127.0.0.1", port: 0 }, log, {
    tls: { cert: good.cert, key: good.key },
  });
  broker.setAuthority({ verify: (u, p) => u === "edge1" && p === "pw" });
});
afterAll(async () => {
  await broker?.close();
});

/** Connects once; "connected" or the error message. */
async function attempt(url: string, tls?: ClientTls): Promise<string> {
  const client = mqtt.connect(url, {
    reconnectPeriod: 0,
    connectTimeout: 3000,
    clientId: "levee-edge1",
    username: "edge1",
    password: "pw",
    ...(tls ? tlsOptions(tls) : {}),
  });
  const result = await new Promise<string>((resolve) => {
    client.once("connect", () => resolve("connected"));
    client.once("error", (err) => resolve(err.message));
    client.once("close", () => resolve("closed"));
  });
  client.end(true);
  return result;
}

describe.skipIf(!haveOpenssl)("certificate checks at start", () => {
  test("a matching key and address pass; anything else says what is wrong", () => {
    expect(certificateProblem(good.cert, good.key, "127.0.0.1")).toBeUndefined();
    expect(certificateProblem(good.cert, good.key, "127.0.0.2")).toContain(
      "not valid for the advertise address 127.0.0.2",
    );
    expect(certificateProblem(good.cert, other.key, "127.0.0.1")).toBe(
      "the key does not belong to the certificate",
    );
    expect(certificateProblem("nope", good.key, "127.0.0.1")).toContain("not a PEM certificate");
    expect(certificateProblem(good.cert, "nope", "127.0.0.1")).toContain("not a PEM private key");
  });
});

describe("TLS option rules", () => {
  test("cert and key together, only for the embedded broker; mosquitto files only with --mqtt-url", () => {
    expect(cloudOptionProblem({ mqttTlsCert: "c", mqttTlsKey: "k" })).toBeUndefined();
    expect(cloudOptionProblem({ mqttTlsCert: "c" })).toContain("go together");
    expect(cloudOptionProblem({ mqttTlsKey: "k" })).toContain("go together");
    expect(cloudOptionProblem({ mqttTlsCert: "c", mqttTlsKey: "k", mqttUrl: "mqtts://x" })).toContain(
      "for the embedded broker",
    );
    expect(cloudOptionProblem({ mqttUrl: "mqtts://x", mqttTlsCa: "ca" })).toBeUndefined();
    expect(cloudOptionProblem({ mosquittoConfigDir: "/d" })).toContain("give --mqtt-url too");
    expect(cloudOptionProblem({ mqttUrl: "mqtt://x", mosquittoReloadCommand: "true" })).toContain(
      "needs --mosquitto-config-dir",
    );
  });
});

describe.skipIf(!haveOpenssl)("embedded broker with TLS", () => {
  test("a client that trusts the broker's certificate connects over mqtts", async () => {
    expect(await attempt(`mqtts://127.0.0.1:${broker.port}`, { ca: good.cert })).toBe("connected");
    // and one that checks the advertised name (what the cloud's own clients do)
    expect(
      await attempt(`mqtts://127.0.0.1:${broker.port}`, { ca: good.cert, expectName: "127.0.0.1" }),
    ).toBe("connected");
  });

  test("plaintext MQTT on the TLS port fails, and the broker counts it", async () => {
    const before = broker.refused.get("tls");
    expect(await attempt(`mqtt://127.0.0.1:${broker.port}`)).not.toBe("connected");
    for (let i = 0; i < 40 && broker.refused.get("tls") === before; i++) await Bun.sleep(25);
    expect(broker.refused.get("tls")).toBeGreaterThan(before);
    expect(logs.some((l) => l.includes("mqtt tls handshake failed"))).toBe(true);
  });

  test("a client that does not trust the certificate, or expects another name, refuses the broker", async () => {
    expect(await attempt(`mqtts://127.0.0.1:${broker.port}`)).toMatch(/self[- ]signed/i);
    expect(await attempt(`mqtts://127.0.0.1:${broker.port}`, { ca: other.cert })).not.toBe("connected");
    expect(
      await attempt(`mqtts://127.0.0.1:${broker.port}`, { ca: good.cert, expectName: "10.9.9.9" }),
    ).toContain("10.9.9.9");
  });

  test("an edge checks the URL's address against the certificate (a trusted cert for another address fails)", async () => {
    const elsewhere = await startEmbeddedBroker({ host: "127.0.0.1", port: 0 }, log, {
      tls: { cert: other.cert, key: other.key },
    });
    elsewhere.setAuthority({ verify: () => true });
    try {
      expect(await attempt(`mqtts://127.0.0.1:${elsewhere.port}`, { ca: other.cert })).toContain("127.0.0.1");
    } finally {
      await elsewhere.close();
    }
  });
});
