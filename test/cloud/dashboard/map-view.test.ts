// The cluster map's traffic links: each carries its requests/s, bytes/s (both ways) and, when there
// are any, errors/s, in its label and its data attributes (what the browser test reads).
import { expect, test } from "bun:test";
import type { DashboardNode } from "../../../src/cloud/dashboard/snapshot.ts";
import { ClusterMap } from "../../../src/cloud/dashboard/views/map.tsx";

const node = (name: string, role: string): DashboardNode =>
  ({
    name,
    role,
    phase: "Ready",
    phaseSince: null,
    lastSeen: null,
    addresses: [],
    plan: { applied: 1, desired: 1 },
    usage: null,
    version: "0.1.0",
    arch: "amd64",
  }) as unknown as DashboardNode;

test("a traffic link shows requests/s, bytes/s and errors/s", () => {
  const html = ClusterMap({
    nodes: [node("cloud", "cloud"), node("edge1", "edge"), node("edge2", "edge")],
    relayLegs: () => 0,
    flows: [
      {
        from: "edge1",
        to: "edge2",
        via: "direct",
        perSecond: 12,
        errorsPerSecond: 0.5,
        bytesPerSecond: 2048,
      },
      { from: "cloud", to: "edge2", via: "relay", perSecond: 2, errorsPerSecond: 0, bytesPerSecond: 100 },
    ],
    now: Date.now(),
  }).toString();
  expect(html).toContain('data-link="edge1-edge2-direct" data-bytes="2048" data-errors="0.5"');
  expect(html).toContain("12/s · 2.0 KiB/s · 0.50 err/s");
  expect(html).toContain("2.0/s · 100 B/s (relay)");
  expect(html).toContain('class="rate errors"');
});
