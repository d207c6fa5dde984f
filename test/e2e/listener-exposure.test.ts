// An edge bound to an address other hosts reach (--bind-address): its cluster listener (the mesh
// tunnel) is there, but the local agent API and the forward proxy stay on 127.0.0.1, and /v1/plan
// shows no env value and no Config data to a caller without the agent token. Needs a non-loopback
// IPv4 address on this machine (skipped otherwise; test/config and test/node cover the rest).
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { requestJoinToken } from "../../src/cli/agent-launcher.ts";
import { startAgent } from "../harness/agent.ts";
import { applyManifest, canConnect, makeTempDir, waitUntil, withCluster } from "../harness/cluster.ts";

const external = Object.values(networkInterfaces())
  .flatMap((list) => list ?? [])
  .find((a) => a.family === "IPv4" && !a.internal)?.address;

const SECRET_ENV = "s3cr3t-env-value-7f3a";
const SECRET_FILE = "password=hunter2-config-9c1d";

/** A port nobody listens on right now, on any address. */
function freePort(): number {
  const probe = Bun.listen({ hostname: "0.0.0.0", port: 0, socket: { data() {} } });
  const { port } = probe;
  probe.stop(true);
  return port;
}

describe.skipIf(!external)("an edge with a non-loopback --bind-address", () => {
  test("agent API and proxy on loopback only; /v1/plan without env values or Config data", async () => {
    const address = external as string;
    await withCluster({}, async (c) => {
      const agentPort = freePort();
      const proxyPort = freePort();
      const tunnelPort = freePort();
      const token = await requestJoinToken(c.cloud.apiUrl, c.cloud.adminToken, 1);
      const edge = await startAgent({
        name: "edge1",
        mode: "edge",
        address,
        dataDir: join(makeTempDir(), "edge1"),
        agentUrl: `http://127.0.0.1:${agentPort}`,
        args: [
          ...["--cloud", c.cloud.apiUrl, "--token", token],
          ...["--agent-port", String(agentPort), "--proxy-port", String(proxyPort)],
          ...["--tunnel-port", String(tunnelPort), "--stop-workers-on-exit"],
        ],
        readyTimeoutMs: 15_000,
      });
      try {
        await applyManifest(
          c,
          JSON.stringify({
            apiVersion: "levee/v1",
            kind: "Config",
            metadata: { name: "app" },
            data: { "app.conf": SECRET_FILE },
          }),
          "application/json",
        );
        await applyManifest(
          c,
          JSON.stringify({
            apiVersion: "levee/v1",
            kind: "Service",
            metadata: { name: "web" },
            spec: {
              template: {
                command: ["sleep", "600"],
                env: { API_KEY: SECRET_ENV },
                mounts: [{ config: { name: "app" }, envName: "APP_CONF" }],
              },
              workers: [{ node: "edge1" }],
            },
          }),
          "application/json",
        );
        let text = "";
        await waitUntil("the plan with service web on the edge", async () => {
          const res = await fetch(`${edge.agentUrl}/v1/plan`);
          text = await res.text();
          return res.ok && text.includes('"web"');
        });
        expect(text).not.toContain(SECRET_ENV);
        expect(text).not.toContain("hunter2");
        // Config files travel by reference; their hash (guessable for a short secret) is hidden too.
        expect(text).not.toContain(createHash("sha256").update(SECRET_FILE).digest("hex"));
        expect(text).toContain('"API_KEY":"(redacted: 21 bytes)"');
        expect(text).toContain('"app.conf":{"sha256":"(redacted)","size":28}');

        // Nothing local answers on the address other hosts reach; the tunnel does.
        expect(await canConnect(address, agentPort)).toBe(false);
        expect(await canConnect(address, proxyPort)).toBe(false);
        expect(await canConnect("127.0.0.1", proxyPort)).toBe(true);
        expect(await canConnect(address, tunnelPort)).toBe(true);

        // With the agent token (root-only file in the data dir) the plan is shown as stored.
        const agentToken = readFileSync(join(edge.dataDir, "agent.token"), "utf8").trim();
        const full = await fetch(`${edge.agentUrl}/v1/plan`, {
          headers: { authorization: `Bearer ${agentToken}` },
        });
        expect(await full.text()).toContain(SECRET_ENV);
      } catch (err) {
        process.stderr.write(`----- logs of edge1 -----\n${edge.logs.join("\n")}\n`);
        throw err;
      } finally {
        await edge.stop();
      }
    });
  }, 60_000);
});
