// The cloud's MQTT side: the embedded broker refuses clients without credentials; with --mqtt-url
// the cloud uses an external broker (a real Mosquitto) and /readyz tells whether it is connected.
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import mqtt from "mqtt";
import { launchAgent, stopAgent, waitReady } from "../../src/cli/agent-launcher.ts";
import { allocateSubnet, cleanEnv, leveeCommand, makeTempDir, withCluster } from "../harness/cluster.ts";

// Debian installs it in /usr/sbin, which is not on every user's PATH.
const mosquitto = Bun.which("mosquitto", { PATH: `${process.env.PATH ?? ""}:/usr/sbin:/usr/local/sbin` });
const mosquittoMissing = mosquitto ? undefined : "mosquitto not installed (apt-get install mosquitto)";
if (mosquittoMissing && process.env.CI) throw new Error(`broker test cannot run in CI: ${mosquittoMissing}`);

describe("embedded broker", () => {
  test("refuses a client without credentials", async () => {
    await withCluster({}, async (c) => {
      const client = mqtt.connect(c.cloud.mqttUrl, { reconnectPeriod: 0, connectTimeout: 3000 });
      const error = await new Promise<Error>((resolve) => client.once("error", resolve));
      client.end(true);
      expect(error.message).toMatch(/not authorized/i);
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
      expect(body.checks?.mqtt).toContain("mqtt://127.0.0.1:1");
    } finally {
      await stopAgent(agent);
    }
  });

  test.skipIf(mosquittoMissing !== undefined)("ready once connected to a real Mosquitto", async () => {
    const dir = makeTempDir();
    const host = `${allocateSubnet()}.5`;
    const conf = join(dir, "mosquitto.conf");
    writeFileSync(conf, `listener 18830 ${host}\nallow_anonymous true\npersistence false\n`);
    const broker = Bun.spawn([mosquitto ?? "mosquitto", "-c", conf], { stdout: "ignore", stderr: "pipe" });
    const { agent, logs } = startCloud(["--mqtt-url", `mqtt://${host}:18830`]);
    try {
      await waitReady(agent, 10_000);
      expect(logs.some((l) => l.includes("connected to external mqtt broker"))).toBe(true);
    } finally {
      await stopAgent(agent);
      broker.kill();
      await broker.exited;
    }
  });
});
