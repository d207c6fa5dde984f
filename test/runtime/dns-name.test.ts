// The two name rules: DNS labels (object names) and DNS subdomains (node names, service names as
// nodes see them), with the messages that say what is wrong.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  dnsLabelProblem,
  dnsSubdomainProblem,
  isDnsLabel,
  isDnsSubdomain,
} from "../../src/runtime/dns-name.ts";

const l63 = "a".repeat(63);
/** 253 characters: three labels of 63 and one of 61. */
const longest = `${l63}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(61)}`;

describe("DNS subdomain", () => {
  test("accepts labels joined by dots, up to 253 characters", () => {
    for (const good of [
      "a",
      "edge1",
      "edge-1",
      "cloud.kubeedge",
      "edge.site-a",
      "1.2.3",
      "a-b.c-d.e",
      l63,
      longest,
    ]) {
      expect({ good, ok: isDnsSubdomain(good) }).toEqual({ good, ok: true });
      expect(dnsSubdomainProblem(good)).toBeUndefined();
    }
    expect(longest.length).toBe(253);
  });

  test("refuses what Kubernetes refuses, each with a message naming the rule", () => {
    for (const bad of [
      "",
      `${longest}x`,
      `${l63}a.b`,
      `b.${l63}a`,
      ".a",
      "a.",
      "a..b",
      "..",
      ".",
      "-a",
      "a-",
      "a.-b",
      "a-.b",
      "Edge1",
      "cloud.KubeEdge",
      "a_b",
      "a/b",
      "a b",
      "a+b",
      "#",
      "$SYS",
    ]) {
      expect({ bad, ok: isDnsSubdomain(bad) }).toEqual({ bad, ok: false });
      expect(dnsSubdomainProblem(bad)).toBeString();
    }
    expect(dnsSubdomainProblem("")).toBe("must not be empty");
    expect(dnsSubdomainProblem(`${longest}x`)).toBe(
      "must be at most 253 characters (a DNS subdomain), got 254",
    );
    expect(dnsSubdomainProblem(`b.${l63}a`)).toBe(
      `each '.'-separated part must be at most 63 characters, got 64 in "b.${l63}a"`,
    );
    expect(dnsSubdomainProblem("Cloud.kubeedge")).toMatch(
      /^must be a DNS subdomain: lower-case letters, digits, '-' and '\.'.*"cloud\.kubeedge"; got "Cloud\.kubeedge"$/,
    );
  });

  test("every DNS label is a DNS subdomain; a subdomain is one file name, never '/' or '..' (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(..."ab9-./_A"), maxLength: 12 }), (text) => {
        if (isDnsLabel(text)) expect(isDnsSubdomain(text)).toBe(true);
        if (isDnsSubdomain(text)) {
          expect(text).not.toContain("/");
          expect(text).not.toContain("..");
          expect(text.startsWith(".")).toBe(false);
          expect(text.split(".").every(isDnsLabel)).toBe(true);
        }
      }),
      { numRuns: 3_000 },
    );
  });
});

describe("DNS label", () => {
  test("object names stay labels: no dots, at most 63 characters", () => {
    expect(isDnsLabel("my-service")).toBe(true);
    expect(isDnsLabel(l63)).toBe(true);
    expect(isDnsLabel(`${l63}a`)).toBe(false);
    expect(isDnsLabel("cloud.kubeedge")).toBe(false);
    expect(dnsLabelProblem("cloud.kubeedge")).toMatch(/must be a DNS label/);
    expect(dnsLabelProblem(`${l63}a`)).toBe("must be at most 63 characters (a DNS label), got 64");
  });
});
