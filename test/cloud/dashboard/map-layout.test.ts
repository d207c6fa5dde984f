// The cluster map's geometry: the cloud in the middle, edges around it, a sync link per edge and a
// relay link per edge that holds relay legs; edges beyond the limit are counted, not drawn.
import { describe, expect, test } from "bun:test";
import { layoutMap, MAP_HEIGHT, MAP_MAX_EDGES, MAP_WIDTH } from "../../../src/cloud/dashboard/map-layout.ts";

describe("map layout", () => {
  test("cloud in the middle, edges inside the picture, links to the cloud", () => {
    const layout = layoutMap([
      { name: "cloud", role: "cloud", phase: "Ready", relayLegs: 0 },
      { name: "edge1", role: "edge", phase: "Ready", relayLegs: 2 },
      { name: "edge2", role: "edge", phase: "Disconnected", relayLegs: 0 },
    ]);
    expect(layout.nodes[0]).toMatchObject({ name: "cloud", x: MAP_WIDTH / 2, y: MAP_HEIGHT / 2 });
    for (const n of layout.nodes) {
      expect(n.x).toBeGreaterThan(0);
      expect(n.x).toBeLessThan(MAP_WIDTH);
      expect(n.y).toBeGreaterThan(0);
      expect(n.y).toBeLessThan(MAP_HEIGHT);
    }
    expect(layout.links.map((l) => `${l.from}>${l.to}:${l.kind}:${l.phase}`)).toEqual([
      "edge1>cloud:sync:Ready",
      "edge1>cloud:relay:Ready",
      "edge2>cloud:sync:Disconnected",
    ]);
    expect(layout.hidden).toBe(0);
  });

  test("no two edges at the same place; edges beyond the limit are counted", () => {
    const edges = Array.from({ length: MAP_MAX_EDGES + 5 }, (_, i) => ({
      name: `e${i}`,
      role: "edge",
      phase: "Ready",
      relayLegs: 0,
    }));
    const layout = layoutMap([{ name: "cloud", role: "cloud", phase: "Ready", relayLegs: 0 }, ...edges]);
    expect(layout.hidden).toBe(5);
    expect(new Set(layout.nodes.map((n) => `${n.x},${n.y}`)).size).toBe(MAP_MAX_EDGES + 1);
  });

  test("without a cloud node there are no links", () => {
    expect(layoutMap([{ name: "e", role: "edge", phase: "Ready", relayLegs: 1 }]).links).toEqual([]);
  });
});
