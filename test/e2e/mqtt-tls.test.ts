// MQTT over TLS with real processes: the cloud's embedded broker with --mqtt-tls-cert/--mqtt-tls-key
// (a self-signed certificate made here for the cloud's address). An edge joins, gets the
// certificate to trust in the join answer, keeps it with its identity, connects with mqtts://
// verifying it, and syncs its plan; plaintext MQTT on that port fails; a certificate that does
// not fit the advertised address stops the cloud at start with the reason.
import { describe, expect, test } from "bun:test";
import mqtt from "mqtt";
import { makeCert, opensslAvailable } from "../harness/certs.ts";
import { allocateSubnet, makeTempDir, runLevee, waitUntil, withCluster } from "../harness/cluster.ts";

const haveOpenssl = opensslAvailable();

/** One MQTT connection attempt: "connected" or the error. */
async function attempt(url: string, options: mqtt.IClientOptions): Promise<string> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 3000, ...options });
  const result = await new Promise<string>((resolve) => {
    client.once("connect", () => resolve("connected"));
    client.once("error", (err) => resolve(err.message));
    client.once("close", () => resolve("closed"));
  });
  client.end(true);
  return result;
}

describe.skipIf(!haveOpenssl)("MQTT over TLS", () => {
  test("an edge joins, trusts the broker's certificate from the join answer and syncs over mqtts", async () => {
    const subnet = allocateSubnet();
    const cert = await makeCert(makeTempDir(), "levee-cloud", `IP:${subnet}.10`);
    const tlsArgs = ["--mqtt-tls-cert", cert.certFile, "--mqtt-tls-key", cert.keyFile];
    // TLS is the embedded broker's: this test runs it whatever LEVEE_TEST_BROKER says
    await withCluster({ subnet, edges: 1, broker: "embedded", cloudArgs: tlsArgs }, async (c) => {
      const [edge] = c.edges;
      if (!edge) throw new Error("no edge");
      const brokerUrl = `mqtts://${subnet}.10:1883`;
      expect(edge.logs.some((l) => l.includes("mqtt connected") && l.includes(brokerUrl))).toBe(true);
      expect(edge.logs.some((l) => l.includes("edge agent started") && l.includes('tls="joined CA"'))).toBe(
        true,
      );

      const applied = await c.cloud.api("/api/v1/apply", {
        method: "POST",
        headers: { "content-type": "application/yaml" },
        body: `apiVersion: levee/v1\nkind: Service\nmetadata: {name: echo}\nspec:\n  template: {command: ["node", "s.js"]}\n  workers: [{node: edge1}]\n`,
      });
      expect(applied.status).toBe(200);
      await waitUntil("edge1 applied its plan", async () => {
        const n = (await (await c.cloud.api("/api/v1/nodes/edge1")).json()) as {
          status: { plan: { desiredRevision: number; appliedRevision: number } };
        };
        return (
          n.status.plan.desiredRevision > 1 && n.status.plan.appliedRevision === n.status.plan.desiredRevision
        );
      });

      // the join answer carries the certificate to trust; with it a node's credentials connect
      const tokenRes = await c.cloud.api("/api/v1/tokens", {
        method: "POST",
        body: JSON.stringify({ uses: 1 }),
      });
      const { token } = (await tokenRes.json()) as { token: string };
      const joined = await fetch(`${c.cloud.apiUrl}/api/v1/join`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ v: 1, token, node: { name: "probe" } }),
      });
      const answer = (await joined.json()) as {
        mqtt: { url: string; username: string; password: string; ca: string | null };
        mesh: Record<string, unknown>;
      };
      expect(answer.mqtt.url).toBe(brokerUrl);
      expect(answer.mqtt.ca).toBe(cert.cert);
      expect(answer.mesh).toEqual({ ca: null, certificate: null, key: null });
      const creds = { clientId: "levee-probe", username: "probe", password: answer.mqtt.password };
      expect(await attempt(brokerUrl, { ...creds, ca: answer.mqtt.ca ?? "" })).toBe("connected");
      // without the certificate the broker is not trusted; plaintext MQTT does not get through
      expect(await attempt(brokerUrl, creds)).toMatch(/self[- ]signed/i);
      expect(await attempt(`mqtt://${subnet}.10:1883`, creds)).not.toBe("connected");
      await waitUntil("the cloud logs the failed handshake", () =>
        c.cloud.logs.some((l) => l.includes("mqtt tls handshake failed")),
      );

      // the edge keeps the certificate: restarted, it connects again without the cloud's API
      await edge.stop();
      await edge.restart();
    });
  }, 60_000);

  test("a certificate that does not cover the advertised address stops the cloud with the reason", async () => {
    const subnet = allocateSubnet();
    const dir = makeTempDir();
    const cert = await makeCert(dir, "elsewhere", "IP:10.9.9.9");
    const r = await runLevee([
      "cloud",
      "--data-dir",
      dir,
      "--bind-address",
      `${subnet}.10`,
      "--mqtt-tls-cert",
      cert.certFile,
      "--mqtt-tls-key",
      cert.keyFile,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`not valid for the advertise address ${subnet}.10`);
    const half = await runLevee(["cloud", "--data-dir", dir, "--mqtt-tls-cert", cert.certFile]);
    expect(half.code).toBe(2);
    expect(half.stderr).toContain("--mqtt-tls-cert and --mqtt-tls-key go together");
  });
});
