// The embedded broker's retained messages: a filter without wildcards is a Map lookup, a filter
// with + or # still finds every match (MQTT 3.1.1 matching), an empty payload deletes; and over a
// real broker a node subscribing to its own topic gets exactly its retained message while the
// cloud's wildcard subscription gets every node's.
import { afterAll, describe, expect, test } from "bun:test";
import type { Readable } from "node:stream";
import mqtt from "mqtt";
import { startEmbeddedBroker } from "../../src/cloud/broker.ts";
import { hasWildcard, RetainedMapPersistence, topicMatches } from "../../src/cloud/broker-persistence.ts";
import { createLogger } from "../../src/runtime/log.ts";

const log = createLogger({ level: "error", format: "text", write: () => {} });

async function topicsOf(stream: Readable): Promise<string[]> {
  const out: string[] = [];
  for await (const packet of stream) out.push((packet as { topic: string }).topic);
  return out;
}

function retained(topic: string, payload: string) {
  return {
    cmd: "publish" as const,
    topic,
    payload: Buffer.from(payload),
    qos: 1 as const,
    retain: true,
    dup: false,
    brokerId: "b",
    brokerCounter: 1,
  };
}

describe("topicMatches", () => {
  test.each([
    ["a/b/c", "a/b/c", true],
    ["a/b/c", "a/b", false],
    ["a/+/c", "a/b/c", true],
    ["a/+/c", "a/b/d", false],
    ["a/+/c", "a/b/c/d", false],
    ["a/+", "a/", true],
    ["+/+", "/b", true],
    ["a/#", "a", true],
    ["a/#", "a/b/c", true],
    ["a/#", "ab/c", false],
    ["#", "a/b", true],
    ["#", "$SYS/x", false],
    ["+/x", "$SYS/x", false],
    ["$SYS/#", "$SYS/x", true],
    ["levee/v1/node/+/presence", "levee/v1/node/edge1/presence", true],
    ["levee/v1/node/+/presence", "levee/v1/node/edge1/up", false],
  ])("%s matches %s: %p", (filter, topic, want) => {
    expect(topicMatches(filter, topic)).toBe(want);
  });

  test("hasWildcard", () => {
    expect(hasWildcard("levee/v1/node/a/down")).toBe(false);
    expect(hasWildcard("levee/v1/node/+/down")).toBe(true);
    expect(hasWildcard("levee/#")).toBe(true);
  });
});

describe("RetainedMapPersistence", () => {
  test("exact filters are looked up, wildcard filters scanned, an empty payload deletes", async () => {
    const p = new RetainedMapPersistence();
    for (let i = 0; i < 1000; i++) await p.storeRetained(retained(`levee/v1/node/n${i}/presence`, "on"));
    await p.storeRetained(retained("levee/v1/shared/catalog", "c"));
    expect(p.retainedCount).toBe(1001);

    expect(await topicsOf(p.createRetainedStream("levee/v1/node/n7/presence"))).toEqual([
      "levee/v1/node/n7/presence",
    ]);
    expect(await topicsOf(p.createRetainedStream("levee/v1/node/n7/down"))).toEqual([]);
    expect(
      await topicsOf(p.createRetainedStreamCombi(["levee/v1/node/n1/presence", "levee/v1/shared/#"])),
    ).toEqual(["levee/v1/node/n1/presence", "levee/v1/shared/catalog"]);
    expect((await topicsOf(p.createRetainedStream("levee/v1/node/+/presence"))).length).toBe(1000);
    expect((await topicsOf(p.createRetainedStream("#"))).length).toBe(1001);

    // the stored packet is a copy; a new one replaces it; an empty payload deletes it
    const packet = retained("levee/v1/node/n1/presence", "off");
    await p.storeRetained(packet);
    packet.topic = "changed";
    const [again] = (await p.createRetainedStream("levee/v1/node/n1/presence").toArray()) as {
      payload: Buffer;
    }[];
    expect(again?.payload.toString()).toBe("off");
    await p.storeRetained(retained("levee/v1/node/n1/presence", ""));
    expect(await topicsOf(p.createRetainedStream("levee/v1/node/n1/presence"))).toEqual([]);
    expect(p.retainedCount).toBe(1000);
  });
});

describe("retained messages over the embedded broker", () => {
  const closers: (() => unknown)[] = [];
  afterAll(async () => {
    for (const close of closers.reverse()) await close();
  });

  test("an exact subscription gets its own retained message; a wildcard one gets all", async () => {
    const broker = await startEmbeddedBroker({ host: "127.0.0.1", port: 0 }, log);
    closers.push(() => broker.close());
    broker.setAuthority({ verify: (user, password) => password === `pw-${user}` });
    const url = `mqtt://127.0.0.1:${broker.port}`;
    const connect = async (user: string, clientId: string) => {
      const client = await mqtt.connectAsync(url, {
        username: user,
        password: `pw-${user}`,
        clientId,
        reconnectPeriod: 0,
      });
      closers.push(() => client.endAsync(true));
      return client;
    };
    const cloud = await connect("levee-cloud", "levee-cloud_t");
    for (const node of ["a", "b", "c"])
      await cloud.publishAsync(`levee/v1/node/${node}/presence`, `online-${node}`, { qos: 1, retain: true });

    const got = (client: mqtt.MqttClient, n: number) =>
      new Promise<string[]>((resolve) => {
        const seen: string[] = [];
        client.on("message", (topic, payload) => {
          seen.push(`${topic}=${payload}`);
          if (seen.length === n) resolve(seen.sort());
        });
      });
    // levee-cloud may subscribe anywhere under levee/v1/: one exact filter, then the wildcard
    const exact = await connect("levee-cloud", "levee-cloud_exact");
    const one = got(exact, 1);
    await exact.subscribeAsync("levee/v1/node/b/presence", { qos: 1 });
    expect(await one).toEqual(["levee/v1/node/b/presence=online-b"]);

    const wild = await connect("levee-cloud", "levee-cloud_wild");
    const all = got(wild, 3);
    await wild.subscribeAsync("levee/v1/node/+/presence", { qos: 1 });
    expect(await all).toEqual([
      "levee/v1/node/a/presence=online-a",
      "levee/v1/node/b/presence=online-b",
      "levee/v1/node/c/presence=online-c",
    ]);
  });
});
