// Topics and the broker's ACL: each node only under its own topics, wildcards refused.
import { describe, expect, test } from "bun:test";
import {
  isTopicFilter,
  mayPublish,
  maySubscribe,
  mayUseClientId,
  nodeClientId,
} from "../../src/protocol/acl.ts";
import {
  CLOUD_SUBSCRIPTIONS,
  downTopic,
  isNodeName,
  parseNodeTopic,
  presenceTopic,
  sharedTopic,
  upTopic,
} from "../../src/protocol/topics.ts";

describe("topics", () => {
  test("builders and parser agree", () => {
    expect(upTopic("edge1")).toBe("levee/v1/node/edge1/up");
    expect(downTopic("edge1")).toBe("levee/v1/node/edge1/down");
    expect(presenceTopic("edge1")).toBe("levee/v1/node/edge1/presence");
    expect(sharedTopic("catalog")).toBe("levee/v1/shared/catalog");
    for (const channel of ["up", "down", "presence"] as const) {
      expect(parseNodeTopic(`levee/v1/node/edge-1/${channel}`)).toEqual({ node: "edge-1", channel });
    }
  });

  test("parser refuses anything else", () => {
    for (const t of [
      "levee/v1/node/edge1",
      "levee/v1/node/edge1/up/x",
      "levee/v1/node/edge1/sideways",
      "levee/v2/node/edge1/up",
      "levee/v1/node/+/up",
      "levee/v1/node/Edge1/up",
      "levee/v1/shared/catalog",
      "",
    ]) {
      expect(parseNodeTopic(t)).toBeUndefined();
    }
  });

  test("node names are DNS subdomains; builders refuse others", () => {
    expect(isNodeName("edge1")).toBe(true);
    expect(isNodeName("cloud.kubeedge")).toBe(true);
    expect(upTopic("cloud.kubeedge")).toBe("levee/v1/node/cloud.kubeedge/up");
    expect(parseNodeTopic("levee/v1/node/edge.site-a/presence")).toEqual({
      node: "edge.site-a",
      channel: "presence",
    });
    for (const bad of ["", "+", "#", "a/b", "$SYS", "-a", "A", "a".repeat(64), "a..b", ".a", "a.", ".."]) {
      expect(isNodeName(bad)).toBe(false);
      expect(() => upTopic(bad)).toThrow();
    }
  });
});

describe("acl", () => {
  test("a node publishes only its own up and presence", () => {
    expect(mayPublish("edge1", upTopic("edge1"))).toBe(true);
    expect(mayPublish("edge1", presenceTopic("edge1"))).toBe(true);
    expect(mayPublish("edge1", downTopic("edge1"))).toBe(false);
    expect(mayPublish("edge1", upTopic("edge2"))).toBe(false);
    expect(mayPublish("edge1", presenceTopic("edge2"))).toBe(false);
    expect(mayPublish("edge1", "levee/v1/shared/catalog")).toBe(false);
    expect(mayPublish("edge1", "$SYS/x")).toBe(false);
    expect(mayPublish("edge1", "levee/v1/node/+/up")).toBe(false);
    expect(mayPublish(undefined, upTopic("edge1"))).toBe(false);
  });

  test("a node subscribes only to its own down and the shared topics", () => {
    expect(maySubscribe("edge1", downTopic("edge1"))).toBe(true);
    expect(maySubscribe("edge1", "levee/v1/shared/#")).toBe(true);
    expect(maySubscribe("edge1", "levee/v1/shared/catalog")).toBe(true);
    expect(maySubscribe("edge1", "levee/v1/shared/+/x")).toBe(true);
  });

  test("wildcard abuse is refused", () => {
    for (const filter of [
      "#",
      "+/#",
      "levee/#",
      "levee/v1/#",
      "levee/v1/+/#",
      "levee/v1/node/#",
      "levee/v1/node/+/down",
      "levee/v1/node/+/+",
      "levee/v1/node/edge1/#",
      "levee/v1/node/edge1/+",
      "+/v1/node/edge1/down",
      "levee/+/node/edge1/down",
      "levee/v1/shared",
      "levee/v1/shared/",
      "levee/v1/shared/#/x",
      "levee/v1/shared/a#",
      "levee/v1/node/edge2/down",
      "$share/g/levee/v1/node/edge1/down",
      "$SYS/#",
    ]) {
      expect({ filter, ok: maySubscribe("edge1", filter) }).toEqual({ filter, ok: false });
    }
  });

  test("the cloud may use levee/v1/ and nothing beyond it", () => {
    for (const t of CLOUD_SUBSCRIPTIONS) expect(maySubscribe("levee-cloud", t)).toBe(true);
    expect(maySubscribe("levee-cloud", "levee/v1/#")).toBe(true);
    expect(mayPublish("levee-cloud", downTopic("edge1"))).toBe(true);
    expect(mayPublish("levee-cloud", "levee/v1/shared/catalog")).toBe(true);
    expect(maySubscribe("levee-cloud", "#")).toBe(false);
    expect(maySubscribe("levee-cloud", "+/v1/#")).toBe(false);
    expect(maySubscribe("levee-cloud", "$SYS/#")).toBe(false);
    expect(mayPublish("levee-cloud", "other/topic")).toBe(false);
  });

  test("filter syntax", () => {
    expect(isTopicFilter("a/+/b/#")).toBe(true);
    expect(isTopicFilter("a/#/b")).toBe(false);
    expect(isTopicFilter("a/b+")).toBe(false);
    expect(isTopicFilter("")).toBe(false);
  });

  test("client ids: a node only its own, the cloud never a node's", () => {
    expect(mayUseClientId("edge1", nodeClientId("edge1"))).toBe(true);
    expect(mayUseClientId("edge1", nodeClientId("edge2"))).toBe(false);
    expect(mayUseClientId("edge1", "levee-cloud_1")).toBe(false);
    expect(mayUseClientId("levee-cloud", "levee-cloud_1234")).toBe(true);
    // A node may be called "cloud": its id levee-cloud is not the cloud's.
    expect(mayUseClientId("levee-cloud", nodeClientId("cloud"))).toBe(false);
    expect(mayUseClientId("cloud", nodeClientId("cloud"))).toBe(true);
    expect(mayUseClientId(undefined, "levee-edge1")).toBe(false);
  });

  test("a dotted node name gets its own topics and id, never the cloud's", () => {
    const node = "cloud.kubeedge";
    expect(mayPublish(node, upTopic(node))).toBe(true);
    expect(maySubscribe(node, downTopic(node))).toBe(true);
    expect(maySubscribe(node, downTopic("cloud"))).toBe(false);
    expect(mayPublish("cloud", upTopic(node))).toBe(false);
    expect(mayUseClientId(node, nodeClientId(node))).toBe(true);
    // The cloud's ids can never be a node's: levee-cloud.kubeedge belongs to the node only.
    expect(mayUseClientId("levee-cloud", nodeClientId(node))).toBe(false);
    expect(mayUseClientId(node, "levee-cloud_1234")).toBe(false);
  });
});
