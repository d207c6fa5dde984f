// The control plane over an external Mosquitto (--mqtt-url), configured with the password and ACL
// files that `levee ctl broker-config mosquitto` generates: the cloud and a joined edge connect,
// a plan is delivered and acknowledged, and anonymous clients are refused. And with
// --mosquitto-config-dir the cloud keeps those files current itself: a join or a node deletion
// needs no manual step (--mosquitto-reload-command sends the SIGHUP).

import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import mqtt from "mqtt";
import {
  type LaunchedAgent,
  launchAgent,
  requestJoinToken,
  stopAgent,
  waitReady,
} from "../../src/cli/agent-launcher.ts";
import {
  allocateSubnet,
  cleanEnv,
  leveeCommand,
  makeTempDir,
  runLevee,
  waitUntil,
} from "../harness/cluster.ts";
import { createMosquitto } from "../harness/mosquitto.ts";

const mosquitto = Bun.which("mosquitto", { PATH: `${process.env.PATH ?? ""}:/usr/sbin:/usr/local/sbin` });
if (!mosquitto && process.env.CI) throw new Error("mosquitto is not installed (apt-get install mosquitto)");

const started: LaunchedAgent[] = [];
const brokers: ReturnType<typeof Bun.spawn>[] = [];
afterAll(async () => {
  await Promise.all(started.map((a) => stopAgent(a)));
  for (const b of brokers) b.kill();
});

describe.skipIf(!mosquitto)("external Mosquitto", () => {
  test("cloud and edge sync through Mosquitto with generated password and ACL files", async () => {
    const subnet = allocateSubnet();
    const dir = makeTempDir();
    const brokerUrl = `mqtt://${subnet}.5:18830`;
    const logs: string[] = [];
    const agent = agentLauncher(dir, logs);
    try {
      const cloud = agent(
        "cloud",
        ["cloud", "--bind-address", `${subnet}.10`, "--mqtt-url", brokerUrl],
        `http://${subnet}.10:7400/readyz`,
      );
      const cloudDir = join(dir, "cloud");
      // the API answers before the broker is there; the generated files let the cloud in
      const writeBrokerFiles = async () => {
        for (let i = 0; i < 50; i++) {
          const r = await runLevee([
            "ctl",
            "--data-dir",
            cloudDir,
            "broker-config",
            "mosquitto",
            "--out-dir",
            dir,
          ]);
          if (r.code === 0) return;
          await Bun.sleep(100);
        }
        throw new Error("broker-config never succeeded");
      };
      await writeBrokerFiles();
      const conf = join(dir, "mosquitto.conf");
      writeFileSync(
        conf,
        `listener 18830 ${subnet}.5\nallow_anonymous false\npassword_file ${join(dir, "levee.passwd")}\nacl_file ${join(dir, "levee.acl")}\npersistence false\nuser root\n`,
      );
      const broker = Bun.spawn([mosquitto ?? "mosquitto", "-c", conf], {
        stdout: "ignore",
        stderr: Bun.file(join(dir, "mosquitto.log")),
      });
      brokers.push(broker);
      await waitReady(cloud, 15_000);

      // an edge joins; Mosquitto learns its password when the files are regenerated and reloaded
      const adminToken = readFileSync(join(cloudDir, "admin.token"), "utf8").trim();
      const joinToken = await requestJoinToken(`http://${subnet}.10:7400`, adminToken, 1);
      const edge = agent(
        "edge1",
        [
          "edge",
          "--bind-address",
          `${subnet}.11`,
          "--cloud",
          `http://${subnet}.10:7400`,
          "--token",
          joinToken,
        ],
        `http://${subnet}.11:7401/readyz`,
      );
      for (let i = 0; i < 100 && !existsNode(dir); i++) await Bun.sleep(50);
      await writeBrokerFiles();
      broker.kill("SIGHUP");
      await waitReady(edge, 20_000);

      const manifest = `apiVersion: levee/v1\nkind: Service\nmetadata: {name: echo}\nspec:\n  template: {command: ["node", "s.js"]}\n  workers: [{node: edge1}]\n`;
      const applied = await fetch(`http://${subnet}.10:7400/api/v1/apply`, {
        method: "POST",
        headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/yaml" },
        body: manifest,
      });
      expect(applied.status).toBe(200);
      let plan: { status: { plan: { desiredRevision: number; appliedRevision: number } } } | undefined;
      for (let i = 0; i < 200; i++) {
        const res = await fetch(`http://${subnet}.10:7400/api/v1/nodes/edge1`, {
          headers: { authorization: `Bearer ${adminToken}` },
        });
        plan = (await res.json()) as typeof plan;
        if (
          plan &&
          plan.status.plan.desiredRevision > 1 &&
          plan.status.plan.appliedRevision === plan.status.plan.desiredRevision
        )
          break;
        await Bun.sleep(50);
      }
      expect(plan?.status.plan.appliedRevision).toBe(plan?.status.plan.desiredRevision ?? -1);
      expect(plan?.status.plan.desiredRevision).toBeGreaterThan(1);

      // an unknown client cannot connect
      const stranger = mqtt.connect(brokerUrl, {
        reconnectPeriod: 0,
        connectTimeout: 3000,
        username: "nobody",
        password: "x",
      });
      const error = await new Promise<Error>((resolve) => stranger.once("error", resolve));
      stranger.end(true);
      expect(error.message).toMatch(/not authorized|bad user name or password/i);
    } catch (err) {
      const brokerLog = await Bun.file(join(dir, "mosquitto.log"))
        .text()
        .catch(() => "");
      process.stderr.write(`${logs.join("\n")}\n----- mosquitto -----\n${brokerLog}\n`);
      throw err;
    }
  }, 60_000);
});

describe.skipIf(!mosquitto)("external Mosquitto with --mosquitto-config-dir", () => {
  test("the cloud rewrites the files after a join and a node deletion and reloads Mosquitto", async () => {
    const subnet = allocateSubnet();
    const dir = makeTempDir();
    const brokerDir = join(dir, "mosquitto");
    const broker = createMosquitto({ address: `${subnet}.5`, port: 18831, dir: brokerDir });
    const logs: string[] = [];
    const launch = agentLauncher(dir, logs);
    const api = `http://${subnet}.10:7400`;
    try {
      const cloud = launch(
        "cloud",
        [
          "cloud",
          "--bind-address",
          `${subnet}.10`,
          "--mqtt-url",
          broker.url,
          "--mosquitto-config-dir",
          brokerDir,
          "--mosquitto-reload-command",
          `kill -HUP "$(cat ${brokerDir}/mosquitto.pid)"`,
        ],
        `${api}/readyz`,
      );
      // the cloud writes the files at start, before the broker runs: Mosquitto starts on them
      const passwd = join(brokerDir, "levee.passwd");
      await waitUntil("levee.passwd", () => existsSync(passwd) && existsSync(join(brokerDir, "levee.acl")));
      expect(statSync(passwd).mode & 0o777).toBe(0o600);
      await broker.start();
      await waitReady(cloud, 15_000);

      // a join: no ctl, no SIGHUP by hand; the edge just connects
      const adminToken = readFileSync(join(dir, "cloud", "admin.token"), "utf8").trim();
      const joinToken = await requestJoinToken(api, adminToken, 1);
      const edge = launch(
        "edge1",
        ["edge", "--bind-address", `${subnet}.11`, "--cloud", api, "--token", joinToken],
        `http://${subnet}.11:7401/readyz`,
      );
      await waitReady(edge, 20_000);
      expect(readFileSync(passwd, "utf8")).toContain("edge1:$7$");
      expect(broker.log()).toContain("Reloading config");

      // a deletion: the node's line goes, Mosquitto reloads, its credentials no longer get in
      await stopAgent(edge);
      const edgeDb = new Database(join(dir, "edge1", "levee.db"), { readonly: true });
      const meta = (key: string) =>
        edgeDb.query<{ value: string }, [string]>("SELECT value FROM meta WHERE key = ?").get(key)?.value;
      const password = meta("mqtt-password") ?? "";
      edgeDb.close();
      const reloads = broker.log().split("Reloading config").length;
      const deleted = await fetch(`${api}/api/v1/nodes/edge1`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${adminToken}` },
      });
      expect(deleted.status).toBe(200);
      await waitUntil(
        "edge1 gone from levee.passwd",
        () => !readFileSync(passwd, "utf8").includes("edge1:"),
        5000,
      );
      await waitUntil(
        "mosquitto reloaded",
        () => broker.log().split("Reloading config").length > reloads,
        5000,
      );
      const client = mqtt.connect(broker.url, {
        reconnectPeriod: 0,
        connectTimeout: 3000,
        clientId: "levee-edge1",
        username: "edge1",
        password,
      });
      const error = await new Promise<Error>((resolve) => client.once("error", resolve));
      client.end(true);
      expect(error.message).toMatch(/not authorized|bad user name or password/i);
    } catch (err) {
      process.stderr.write(`${logs.join("\n")}\n----- mosquitto -----\n${broker.log()}\n`);
      throw err;
    } finally {
      // agents first: a cloud stopping without its broker waits for it in vain
      const mine = started.splice(started.length - 2);
      await Promise.all(mine.map((a) => stopAgent(a)));
      await broker.stop();
    }
  }, 60_000);
});

function existsNode(dir: string): boolean {
  try {
    return readFileSync(join(dir, "edge1", "levee.pid"), "utf8").length > 0;
  } catch {
    return false;
  }
}

/** Starts levee agents with their data dirs under `dir`, their log lines in `logs`, stopped after the file. */
function agentLauncher(dir: string, logs: string[]) {
  return (name: string, args: string[], readyUrl: string) => {
    const a = launchAgent({
      name,
      command: leveeCommand(),
      args: [...args, "--log-format", "text", "--data-dir", join(dir, name), "--node-name", name],
      readyUrl,
      env: cleanEnv(),
      onLine: (l) => logs.push(`[${name}] ${l}`),
    });
    started.push(a);
    return a;
  };
}
