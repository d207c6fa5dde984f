import { describe, expect, test } from "bun:test";
import { nodeMetricsPath, scrapeTargets } from "../../../src/cloud/metrics/scrape-targets.ts";

describe("scrapeTargets", () => {
  test("the cloud's own metrics first, then one group per node, all at the cloud's address", () => {
    const groups = scrapeTargets("10.0.0.1:7400", "https", "cloud", [
      { name: "cloud", role: "cloud", phase: "Ready" },
      { name: "edge.site-a", role: "edge", phase: "Disconnected" },
    ]);
    expect(groups).toEqual([
      {
        targets: ["10.0.0.1:7400"],
        labels: {
          __scheme__: "https",
          __metrics_path__: "/metrics",
          instance: "cloud",
          node: "cloud",
          role: "cloud",
          component: "cloud",
        },
      },
      {
        targets: ["10.0.0.1:7400"],
        labels: {
          __scheme__: "https",
          __metrics_path__: "/api/v1/nodes/cloud/metrics",
          instance: "cloud",
          node: "cloud",
          role: "cloud",
          node_phase: "Ready",
          component: "agent",
        },
      },
      {
        targets: ["10.0.0.1:7400"],
        labels: {
          __scheme__: "https",
          __metrics_path__: "/api/v1/nodes/edge.site-a/metrics",
          instance: "edge.site-a",
          node: "edge.site-a",
          role: "edge",
          node_phase: "Disconnected",
          component: "agent",
        },
      },
    ]);
  });

  test("a node's path is its name, escaped", () => {
    expect(nodeMetricsPath("a/b")).toBe("/api/v1/nodes/a%2Fb/metrics");
  });
});
