// The cloud's MQTT side: the embedded broker refuses clients without credentials; with --mqtt-url
// /readyz tells whether the external broker is reachable (test/e2e/external-broker.test.ts runs a
// real Mosquitto).
import { describe, expect, test } from "bun:test";
import mqtt from "mqtt";
import { launchAgent, stopAgent } from "../../src/cli/agent-launcher.ts";
import { allocateSubnet, cleanEnv, leveeCommand, makeTempDir, withCluster } from "../harness/cluster.ts";

describe("embedded broker", () => {
  test("refuses a client without credentials", async () => {
    await withCluster({}, async (c) => {
      const client = mqtt.connect(c.cloud.mqttUrl, { reconnectPeriod: 0, connectTimeout: 3000 });
      const error = await new Promise<Error>((resolve) => client.once("error", resolve));
      client.end(true);
      expect(error.message).toMatch(/not authorized/i);
      // the cloud's log line may arrive a moment after the client saw the refusal
      for (let i = 0; i < 40 && !c.cloud.logs.some((l) => l.includes("mqtt client refused")); i++)
        await Bun.sleep(25);
      expect(c.cloud.logs.some((l) => l.includes("mqtt client refused"))).toBe(true);
    });
  });
});

function startCloud(args: string[]) {
  const address = `${allocateSubnet()}.10`;
  const logs: string[] = [];
  const agent = launchAgent({
    name: "cloud",
    command: leveeCommand(),
    args: ["cloud", "--bind-address", address, "--data-dir", makeTempDir(), "--log-format", "text", ...args],
    readyUrl: `http://${address}:7400/readyz`,
    env: cleanEnv(),
    onLine: (l) => logs.push(l),
  });
  return { agent, address, logs };
}

describe("external broker (--mqtt-url)", () => {
  test("not ready while the broker is unreachable, and says why", async () => {
    const { agent, address } = startCloud(["--mqtt-url", "mqtt://127.0.0.1:1"]);
    try {
      let body: { status?: string; checks?: Record<string, string> } = {};
      for (let i = 0; i < 100 && !body.checks; i++) {
        await Bun.sleep(50);
        const res = await fetch(`http://${address}:7400/readyz`).catch(() => undefined);
        if (res) {
          expect(res.status).toBe(503);
          body = (await res.json()) as typeof body;
        }
      }
      expect(body.status).toBe("not ready");
      expect(body.checks?.sync).toContain("127.0.0.1:1");
    } finally {
      await stopAgent(agent);
    }
  });
});
