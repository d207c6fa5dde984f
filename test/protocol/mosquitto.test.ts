// Our $7$ hashes against the real Mosquitto: mosquitto_passwd's hashes verify here, and a real
// mosquitto configured with OUR password and ACL files (src/cloud/mosquitto-config.ts) accepts the
// right password, refuses a wrong one, and keeps each node to its own topics.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { mosquittoAclFile, mosquittoConf, mosquittoPasswordFile } from "../../src/cloud/mosquitto-config.ts";
import { hashPassword, mosquittoHasher, verifyPassword } from "../../src/protocol/mosquitto-password.ts";
import { downTopic, upTopic } from "../../src/protocol/topics.ts";
import { makeTempDir } from "../harness/cluster.ts";

const PATH = `${process.env.PATH ?? ""}:/usr/sbin:/usr/local/sbin`;
const mosquittoPasswd = Bun.which("mosquitto_passwd", { PATH });
const mosquitto = Bun.which("mosquitto", { PATH });
const missing =
  !mosquittoPasswd || !mosquitto ? "mosquitto not installed (apt-get install mosquitto)" : undefined;
if (missing && process.env.CI) throw new Error(`mosquitto test cannot run in CI: ${missing}`);

describe("mosquitto $7$ hashes", () => {
  test("format: $7$101$<12-byte salt>$<64-byte hash>", () => {
    const hash = hashPassword("secret");
    const [empty, seven, iterations, salt = "", digest = ""] = hash.split("$");
    expect([empty, seven, iterations]).toEqual(["", "7", "101"]);
    expect(Buffer.from(salt, "base64")).toHaveLength(12);
    expect(Buffer.from(digest, "base64")).toHaveLength(64);
    expect(verifyPassword("secret", hash)).toBe(true);
    expect(verifyPassword("Secret", hash)).toBe(false);
    expect(hashPassword("secret")).not.toBe(hash); // fresh salt
    expect(mosquittoHasher.verify("x", mosquittoHasher.hash("x"))).toBe(true);
  });

  test("malformed hashes never verify", () => {
    for (const bad of [
      "",
      "secret",
      "$6$abc$def",
      "$7$$a$b",
      "$7$0$YWJj$YWJj",
      "$7$101$!!$YWJj",
      "$7$101$YWJj$",
    ]) {
      expect(verifyPassword("secret", bad)).toBe(false);
    }
  });

  test.skipIf(missing !== undefined)("accepts what mosquitto_passwd wrote", () => {
    const file = join(makeTempDir(), "passwd");
    const run = Bun.spawnSync([mosquittoPasswd ?? "", "-b", "-c", file, "alice", "s3cr3t pass"]);
    expect(run.exitCode).toBe(0);
    const line = readFileSync(file, "utf8").trim();
    const [user, hash = ""] = line.split(/:(.*)/s);
    expect(user).toBe("alice");
    expect(hash.startsWith("$7$")).toBe(true);
    expect(verifyPassword("s3cr3t pass", hash)).toBe(true);
    expect(verifyPassword("wrong", hash)).toBe(false);
  });
});

describe.skipIf(missing !== undefined)("a real mosquitto with our password and ACL files", () => {
  const passwords = { "levee-cloud": "cloud-pw", edge1: "edge1-pw", edge2: "edge2-pw" };
  let broker: ReturnType<typeof Bun.spawn> | undefined;
  let url = "";
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    const dir = makeTempDir();
    const passwordFile = join(dir, "passwd");
    const aclFile = join(dir, "acl");
    writeFileSync(
      passwordFile,
      mosquittoPasswordFile(
        Object.entries(passwords).map(([username, pw]) => ({ username, hash: hashPassword(pw) })),
      ),
    );
    writeFileSync(aclFile, mosquittoAclFile());
    const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = probe.port;
    probe.stop(true);
    const conf = join(dir, "mosquitto.conf");
    // Started as root, mosquitto would switch to its own user and could not read our temp dir.
    const asRoot = process.getuid?.() === 0 ? "user root\n" : "";
    writeFileSync(
      conf,
      `${mosquittoConf({ listener: { port, host: "127.0.0.1" }, passwordFile, aclFile })}${asRoot}persistence false\n`,
    );
    broker = Bun.spawn([mosquitto ?? "", "-c", conf], { stdout: "ignore", stderr: "pipe" });
    url = `mqtt://127.0.0.1:${port}`;
    for (let i = 0; i < 100; i++) {
      const up = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } }).then(
        (s) => {
          s.end();
          return true;
        },
        () => false,
      );
      if (up) return;
      await Bun.sleep(20);
    }
    broker.kill();
    throw new Error(`mosquitto did not start: ${await new Response(broker.stderr as ReadableStream).text()}`);
  });

  afterAll(async () => {
    for (const c of clients) c.end(true);
    broker?.kill();
    await broker?.exited;
  });

  const connect = (username: string, password: string, clientId = `levee-${username}`) =>
    new Promise<{ client: MqttClient; error?: Error }>((resolve) => {
      const client = mqtt.connect(url, {
        username,
        password,
        clientId,
        reconnectPeriod: 0,
        connectTimeout: 3000,
      });
      clients.push(client);
      client.once("connect", () => resolve({ client }));
      client.once("error", (error) => resolve({ client, error }));
    });

  test("the right password connects, a wrong one and no credentials are refused", async () => {
    expect((await connect("edge1", passwords.edge1)).error).toBeUndefined();
    expect((await connect("edge2", "not-the-password")).error?.message).toMatch(/not authorized|bad user/i);
    expect((await connect("stranger", "x")).error?.message).toMatch(/not authorized|bad user/i);
  });

  test("a node cannot publish to another node's topic, nor read another node's down topic", async () => {
    const { client: cloud } = await connect("levee-cloud", passwords["levee-cloud"], "levee-cloud_test");
    const { client: edge1 } = await connect("edge1", passwords.edge1, "levee-edge1-b");
    const seenByCloud: string[] = [];
    const seenByEdge1: string[] = [];
    cloud.on("message", (topic, payload) => seenByCloud.push(`${topic} ${payload}`));
    edge1.on("message", (topic, payload) => seenByEdge1.push(`${topic} ${payload}`));
    await cloud.subscribeAsync("levee/v1/node/+/up", { qos: 1 });
    await edge1.subscribeAsync("levee/v1/node/+/down", { qos: 1 }).catch(() => undefined);
    await edge1.subscribeAsync(downTopic("edge1"), { qos: 1 });

    await edge1.publishAsync(upTopic("edge2"), "forged", { qos: 1 });
    await edge1.publishAsync(upTopic("edge1"), "own", { qos: 1 });
    await cloud.publishAsync(downTopic("edge2"), "for edge2", { qos: 1 });
    await cloud.publishAsync(downTopic("edge1"), "for edge1", { qos: 1 });
    for (let i = 0; i < 100 && (seenByCloud.length < 1 || seenByEdge1.length < 1); i++) await Bun.sleep(10);
    await Bun.sleep(100);
    expect(seenByCloud).toEqual([`${upTopic("edge1")} own`]);
    expect(seenByEdge1).toEqual([`${downTopic("edge1")} for edge1`]);
  });
});
