// The fast path's nftables text: one transaction that replaces the table whole, the DNAT rules for
// other hosts and local processes, the loopback guard, named counters carried over. Where nft and
// root are at hand, nft itself checks the text (`nft -c`, which changes nothing).
import { describe, expect, test } from "bun:test";
import type { FastRoute } from "../../../src/mesh/fastpath/plan.ts";
import { fastPathRuleset, removalScript } from "../../../src/mesh/fastpath/ruleset.ts";

const web: FastRoute = {
  service: "web",
  port: 8080,
  protocol: "http",
  balance: "round-robin",
  workers: [{ index: 0, port: 20001 }],
};
const db: FastRoute = {
  service: "db",
  port: 5432,
  protocol: "tcp",
  balance: "round-robin",
  workers: [
    { index: 0, port: 20002 },
    { index: 1, port: 20003 },
  ],
};

const nftUsable = (() => {
  if (process.getuid?.() !== 0) return false;
  try {
    return Bun.spawnSync(["nft", "--version"]).exitCode === 0;
  } catch {
    return false;
  }
})();

describe("fast path ruleset", () => {
  test("no routes: the transaction only removes the table (and works when there is none)", () => {
    const text = fastPathRuleset({ table: "levee-edge-e1", routes: [], match: { kind: "local" } });
    expect(text).toBe("add table inet levee-edge-e1\ndelete table inet levee-edge-e1\n");
    expect(removalScript("levee-edge-e1")).toBe(text);
  });

  test("the table is replaced whole: add, delete, then the whole table", () => {
    const text = fastPathRuleset({ table: "levee-edge-e1", routes: [web], match: { kind: "local" } });
    const lines = text.split("\n");
    expect(lines.slice(0, 3)).toEqual([
      "add table inet levee-edge-e1",
      "delete table inet levee-edge-e1",
      "table inet levee-edge-e1 {",
    ]);
  });

  test("one worker: DNAT in prerouting and output, on every local address, with counters", () => {
    const text = fastPathRuleset({ table: "t", routes: [web], match: { kind: "local" } });
    const rule =
      'meta nfproto ipv4 tcp dport 8080 fib daddr type local counter name "conns-8080" dnat ip to 127.0.0.1:20001 comment "service web"';
    expect(text.split(rule).length - 1).toBe(2);
    expect(text).toContain("type nat hook prerouting priority -110; policy accept;");
    expect(text).toContain("type nat hook output priority -110; policy accept;");
    expect(text).toContain('iifname != "lo" ip daddr 127.0.0.0/8 ct status & dnat != dnat drop');
    expect(text).toContain(
      'meta l4proto tcp ct status dnat ct original proto-dst 8080 ct direction original ip daddr 127.0.0.1 tcp dport 20001 counter name "to-worker-8080"',
    );
    expect(text).toContain(
      'meta l4proto tcp ct status dnat ct original proto-dst 8080 ct direction reply ip saddr 127.0.0.1 tcp sport 20001 counter name "from-worker-8080"',
    );
    for (const name of ["conns-8080", "to-worker-8080", "from-worker-8080"])
      expect(text).toContain(`  counter ${name} { }`);
  });

  test("a specific bind address: only that address", () => {
    const text = fastPathRuleset({ table: "t", routes: [web], match: { kind: "ipv4", address: "10.1.2.3" } });
    expect(text).toContain("tcp dport 8080 ip daddr 10.1.2.3 counter");
    expect(text).not.toContain("fib daddr");
  });

  test("several tcp workers: numgen over their ports (inc for round-robin, random otherwise)", () => {
    const text = fastPathRuleset({ table: "t", routes: [db], match: { kind: "local" } });
    expect(text).toContain("dnat ip to 127.0.0.1 : numgen inc mod 2 map { 0 : 20002, 1 : 20003 }");
    expect(text).toContain("tcp dport { 20002, 20003 }");
    const random = fastPathRuleset({
      table: "t",
      routes: [{ ...db, balance: "p2c-ewma" }],
      match: { kind: "local" },
    });
    expect(random).toContain("numgen random mod 2");
  });

  test("counters start from the values given; garbage values start from zero", () => {
    const counters = new Map([
      ["conns-8080", { packets: 7, bytes: 420 }],
      ["to-worker-8080", { packets: -1, bytes: Number.NaN }],
    ]);
    const text = fastPathRuleset({ table: "t", routes: [web], match: { kind: "local" }, counters });
    expect(text).toContain("counter conns-8080 { packets 7 bytes 420 }");
    expect(text).toContain("counter to-worker-8080 { packets 0 bytes 0 }");
  });

  test("a service name that is not a DNS label is left out of the comment", () => {
    const text = fastPathRuleset({
      table: "t",
      routes: [{ ...web, service: 'x"; drop' }],
      match: { kind: "local" },
    });
    expect(text).not.toContain("comment");
  });

  test.skipIf(!nftUsable)("nft accepts the text (nft -c: checked, nothing changed)", () => {
    const text = fastPathRuleset({
      table: "levee-test-check",
      routes: [web, db],
      match: { kind: "local" },
      counters: new Map([["conns-8080", { packets: 3, bytes: 180 }]]),
    });
    const check = Bun.spawnSync(["nft", "-c", "-f", "-"], { stdin: new TextEncoder().encode(text) });
    expect(check.stderr.toString()).toBe("");
    expect(check.exitCode).toBe(0);
  });
});
