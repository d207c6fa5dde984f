// `nft -j list counters` parsed: this table's named counters; anything else, or garbage, skipped.
import { describe, expect, test } from "bun:test";
import { MAX_COUNTER_OUTPUT, parseCounters } from "../../../src/mesh/fastpath/counters.ts";

const output = JSON.stringify({
  nftables: [
    { metainfo: { version: "1.0.6", json_schema_version: 1 } },
    {
      counter: {
        family: "inet",
        name: "conns-8080",
        table: "levee-edge-e1",
        handle: 5,
        packets: 2,
        bytes: 120,
      },
    },
    {
      counter: {
        family: "inet",
        name: "to-worker-8080",
        table: "levee-edge-e1",
        handle: 6,
        packets: 17,
        bytes: 895,
      },
    },
    { counter: { family: "inet", name: "conns-9090", table: "another", handle: 7, packets: 1, bytes: 1 } },
    {
      counter: { family: "ip", name: "conns-7070", table: "levee-edge-e1", handle: 8, packets: 1, bytes: 1 },
    },
    { counter: { family: "inet", name: "bad", table: "levee-edge-e1", handle: 9, packets: -1, bytes: 1 } },
    {
      counter: { family: "inet", name: "big", table: "levee-edge-e1", handle: 9, packets: 1, bytes: 2 ** 60 },
    },
  ],
});

describe("fast path counters", () => {
  test("the named counters of the table", () => {
    expect(parseCounters(output, "levee-edge-e1")).toEqual(
      new Map([
        ["conns-8080", { packets: 2, bytes: 120 }],
        ["to-worker-8080", { packets: 17, bytes: 895 }],
      ]),
    );
  });

  test("garbage, the wrong shape or too much text: no counters, no exception", () => {
    for (const text of [
      "",
      "not json",
      "null",
      "[]",
      '{"nftables": 3}',
      '{"nftables": [null, 1, {"counter": null}]}',
      "[".repeat(10_000),
      " ".repeat(MAX_COUNTER_OUTPUT + 1),
    ])
      expect(parseCounters(text, "levee-edge-e1").size).toBe(0);
  });
});
